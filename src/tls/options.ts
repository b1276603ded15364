/**
 * The one `tls` option of `listen` and `connect`, runtime-neutral: PEM contents (never paths),
 * checked before any I/O, then mapped by each adapter onto its runtime. An option the adapter
 * cannot honour fails with `FW_UNSUPPORTED` here, never a silent downgrade.
 */
import type { SocketAdapter } from "../adapter.ts";
import { InvalidOptionError, UnsupportedError } from "../errors.ts";
import { boolean, describeValue, plainObject, rejectUnknownKeys, string } from "../validate.ts";
import { parsePins, type TlsPins } from "./pin.ts";

export interface TlsCommonOptions {
  /**
   * PEM certificate(s) of the CAs to trust, instead of the runtime's default roots. Client: to
   * verify the server. Server: to verify client certificates (`requestCert` / `requireCert`).
   * @default the runtime's root store
   */
  ca?: string | readonly string[];
  /** PEM certificate chain (leaf first). Server: required. Client: for mutual TLS, with `key`. */
  cert?: string;
  /** PEM private key for `cert`. */
  key?: string;
  /** Decrypts an encrypted `key`. */
  passphrase?: string;
  /** ALPN protocols to offer (client) or accept (server), in order of preference. */
  alpn?: readonly string[];
}

/** `connect({ tls })`. `tls: true` takes every default (the runtime's roots, verification on). */
export interface TlsClientOptions extends TlsCommonOptions {
  /**
   * The name to send in SNI and to check the server's certificate against.
   * @default `host` (not sent as SNI when `host` is an IP address; the certificate is then checked for that IP)
   */
  servername?: string;
  /**
   * Verify the server's certificate chain and name. `false` accepts any certificate: only for
   * tests, or together with `pin` (a pin alone then decides, e.g. for a self-signed server).
   * @default true
   */
  rejectUnauthorized?: boolean;
  /**
   * One or several pins of the server's certificate: its SHA-256 (64 hex digits, colons
   * allowed) or `sha256/<base64>` of its SPKI. A server matching none is refused with
   * `FW_TLS_PIN_MISMATCH`, even when a CA vouches for it.
   */
  pin?: string | readonly string[];
}

/** `listen({ tls })`. */
export interface TlsServerOptions extends TlsCommonOptions {
  /** PEM certificate chain of the server (leaf first). */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /**
   * Ask clients for a certificate; one that sends none, or one that does not verify against
   * `ca`, is still accepted, with `tls.authorized: false` for `verifyHandshake` to judge.
   * @default false
   */
  requestCert?: boolean;
  /**
   * Mutual TLS: a client without a certificate that verifies against `ca` fails the TLS
   * handshake and never reaches framewire. Implies `requestCert`.
   * @default false
   */
  requireCert?: boolean;
}

/** What an adapter receives to dial over TLS (every check done). */
export interface ClientTlsSettings {
  readonly ca: readonly string[] | undefined;
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly passphrase: string | undefined;
  readonly alpn: readonly string[] | undefined;
  /** SNI to send; undefined for an IP-address host. */
  readonly servername: string | undefined;
  /** What the certificate must name: `servername`, else the host (an IP address or a name). */
  readonly identity: string;
  readonly rejectUnauthorized: boolean;
  readonly pins: TlsPins | undefined;
}

/** What an adapter receives to listen over TLS. */
export interface ServerTlsSettings {
  readonly ca: readonly string[] | undefined;
  readonly cert: string;
  readonly key: string;
  readonly passphrase: string | undefined;
  readonly alpn: readonly string[] | undefined;
  readonly requestCert: boolean;
  readonly requireCert: boolean;
  /** A TLS handshake not complete by then is dropped (the server's `handshakeTimeoutMs`): it has no framewire connection yet to time it out. */
  readonly handshakeTimeoutMs: number;
}

/** The `tls` options an adapter's runtime can honour, by side; the rest fail with `FW_UNSUPPORTED`. */
export interface TlsCapabilities {
  readonly client: ReadonlySet<keyof TlsClientOptions>;
  readonly server: ReadonlySet<keyof TlsServerOptions>;
}

const CLIENT_KEYS: ReadonlySet<string> = new Set(["ca", "cert", "key", "passphrase", "alpn", "servername", "rejectUnauthorized", "pin"]);
const SERVER_KEYS: ReadonlySet<string> = new Set(["ca", "cert", "key", "passphrase", "alpn", "requestCert", "requireCert"]);

export function resolveClientTls(value: unknown, host: string, adapter: SocketAdapter): ClientTlsSettings | undefined {
  if (value === undefined || value === false) return undefined;
  const options = value === true ? {} : value;
  plainObject("tls", options);
  rejectUnknownKeys(options, CLIENT_KEYS, "tls");
  // Malformed values are FW_INVALID_OPTION on every runtime; only then what this one cannot do.
  const common = resolveCommon(options);
  if ((common.cert === undefined) !== (common.key === undefined)) throw new InvalidOptionError("tls.cert and tls.key go together (a client certificate needs its key)");
  const servername = options.servername === undefined ? undefined : string("tls.servername", options.servername, "", true);
  const settings: ClientTlsSettings = {
    ...common,
    servername: servername ?? (isIpAddress(host) ? undefined : host),
    identity: servername ?? host,
    rejectUnauthorized: boolean("tls.rejectUnauthorized", options.rejectUnauthorized, true),
    pins: options.pin === undefined ? undefined : parsePins(options.pin),
  };
  requireSupport(adapter, "client", options);
  return settings;
}

export function resolveServerTls(value: unknown, adapter: SocketAdapter, handshakeTimeoutMs: number): ServerTlsSettings | undefined {
  if (value === undefined) return undefined;
  plainObject("tls", value);
  rejectUnknownKeys(value, SERVER_KEYS, "tls");
  const common = resolveCommon(value);
  if (common.cert === undefined || common.key === undefined) throw new InvalidOptionError("listen: tls needs cert and key (PEM)");
  const requireCert = boolean("tls.requireCert", value.requireCert, false);
  const requestCert = boolean("tls.requestCert", value.requestCert, false) || requireCert;
  if (requestCert && common.ca === undefined) throw new InvalidOptionError("tls.requestCert / requireCert need tls.ca: the CAs client certificates are checked against");
  requireSupport(adapter, "server", value);
  return { ...common, cert: common.cert, key: common.key, requestCert, requireCert, handshakeTimeoutMs };
}

function requireSupport(adapter: SocketAdapter, side: "client" | "server", options: Record<string, unknown>): void {
  const support = adapter.capabilities.tls;
  if (support === false) throw new UnsupportedError(`TLS is not supported by the ${adapter.name} adapter`);
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue;
    if (!(support[side] as ReadonlySet<string>).has(key)) throw new UnsupportedError(`tls.${key} is not supported by the ${adapter.name} adapter (${side} side); refusing rather than ignoring it`);
  }
}

function resolveCommon(options: Record<string, unknown>): Omit<ClientTlsSettings, "servername" | "identity" | "rejectUnauthorized" | "pins" | "cert" | "key"> & { cert: string | undefined; key: string | undefined } {
  return {
    ca: options.ca === undefined ? undefined : pemList("tls.ca", options.ca, "CERTIFICATE"),
    cert: options.cert === undefined ? undefined : pem("tls.cert", options.cert, "CERTIFICATE"),
    key: options.key === undefined ? undefined : pem("tls.key", options.key, "PRIVATE KEY"),
    passphrase: options.passphrase === undefined ? undefined : string("tls.passphrase", options.passphrase, ""),
    alpn: options.alpn === undefined ? undefined : alpnList(options.alpn),
  };
}

/** PEM text with at least one block of this kind; paths and DER are refused with a hint. */
function pem(name: string, value: unknown, kind: string): string {
  if (typeof value !== "string") throw new InvalidOptionError(`${name} must be PEM text (a string), got ${describeValue(value)}`);
  if (!new RegExp(`-----BEGIN [A-Z ]*${kind}-----`).test(value)) {
    throw new InvalidOptionError(`${name} must be the PEM contents (-----BEGIN …${kind}-----), not a path or DER: read the file and pass its text`);
  }
  return value;
}

function pemList(name: string, value: unknown, kind: string): readonly string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionError(`${name} must be PEM text or a non-empty array of PEM texts`);
  return list.map((one: unknown, i) => pem(`${name}[${i}]`, one, kind));
}

function alpnList(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError("tls.alpn must be a non-empty array of protocol names");
  return value.map((name: unknown) => {
    if (typeof name !== "string" || name.length === 0 || name.length > 255) throw new InvalidOptionError("tls.alpn entries must be strings of 1 to 255 characters");
    return name;
  });
}

/** An IPv4 dotted quad or an IPv6 literal (SNI must not carry either, RFC 6066 §3). */
export function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}
