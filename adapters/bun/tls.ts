/**
 * The neutral TLS settings on Bun's `tls` option of `Bun.listen` / `Bun.connect`, and the checks
 * and facts read in the socket's `handshake` callback.
 *
 * Bun checks the chain and the name itself (the name against `serverName`, else the dialled
 * host, IP hosts against IP SANs), but with a `handshake` handler it leaves the decision to us:
 * the adapter refuses on `authorized`/`authorizationError` rather than on Bun's `success` flag,
 * which stays true for an unknown CA under `rejectUnauthorized: false` and false for a bad name.
 */
import { nodeStyleKeyMaterial } from "../tls-material.ts";
import type { ClientTlsSettings, ServerTlsSettings, TlsCapabilities } from "../../src/tls/options.ts";
import { peerCertificateInfo, type RuntimePeerCertificate, type TlsInfo } from "../../src/tls/info.ts";
import { subjectPublicKeyInfo } from "../../src/tls/der.ts";
import { pinMismatch } from "../../src/tls/pin.ts";
import { TlsError, type TlsPinMismatchError } from "../../src/tls/errors.ts";
import { FramewireError, SocketError } from "../../src/errors.ts";

/** The part of a Bun TLS socket read after the handshake. */
export interface BunTlsSocket {
  readonly authorized: boolean;
  readonly alpnProtocol: string | false | null;
  getPeerCertificate(): RuntimePeerCertificate | null | undefined;
  getCipher(): { name?: string } | null | undefined;
  getTLSVersion(): string | null;
}

interface BunHasher {
  update(bytes: Uint8Array): BunHasher;
  digest(): Uint8Array;
}
type BunHasherClass = new (algorithm: "sha256") => BunHasher;

/** Every option of both sides, each tested against a real peer (see the conformance suite). */
export const BUN_TLS_CAPABILITIES: TlsCapabilities = {
  client: new Set(["ca", "cert", "key", "passphrase", "alpn", "servername", "rejectUnauthorized", "pin"]),
  server: new Set(["ca", "cert", "key", "passphrase", "alpn", "requestCert", "requireCert"]),
};

/** ALPN's wire form (RFC 7301 §3.1): Bun takes a string as one protocol name, not a list. */
function alpnWire(protocols: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  const names = protocols.map((name) => encoder.encode(name));
  const out = new Uint8Array(names.reduce((sum, name) => sum + 1 + name.length, 0));
  let at = 0;
  for (const name of names) {
    out[at++] = name.length;
    out.set(name, at);
    at += name.length;
  }
  return out;
}

function common(settings: ClientTlsSettings | ServerTlsSettings): Record<string, unknown> {
  return nodeStyleKeyMaterial(settings, alpnWire);
}

/** `Bun.connect`'s `tls`. */
export function bunClientTls(settings: ClientTlsSettings): Record<string, unknown> {
  return {
    ...common(settings),
    // An empty name sends no SNI (IP hosts, RFC 6066 §3); Bun then checks the dialled host, the IP.
    serverName: settings.servername ?? "",
    rejectUnauthorized: settings.rejectUnauthorized,
  };
}

/** `Bun.listen`'s `tls`. Bun refuses a missing client certificate itself; an unverified one is refused in {@link serverRefusal}. */
export function bunServerTls(settings: ServerTlsSettings): Record<string, unknown> {
  return {
    ...common(settings),
    requestCert: settings.requestCert,
    rejectUnauthorized: settings.requireCert,
  };
}

function sha256(bytes: Uint8Array): Uint8Array {
  const Hasher = (globalThis as unknown as { Bun: { CryptoHasher: BunHasherClass } }).Bun.CryptoHasher;
  return new Hasher("sha256").update(bytes).digest();
}

function reasonOf(error: Error | null | undefined): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What the handshake negotiated, for `RawSocket.tls`. */
export function bunTlsInfo(socket: BunTlsSocket, authorizationError: Error | null): TlsInfo {
  const cipher = socket.getCipher();
  return {
    protocol: socket.getTLSVersion() ?? undefined,
    cipher: cipher?.name ?? undefined,
    alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : undefined,
    authorized: socket.authorized,
    authorizationError: socket.authorized ? undefined : (reasonOf(authorizationError) ?? authorizationError?.message),
    peerCertificate: peerCertificateInfo(socket.getPeerCertificate(), sha256, subjectPublicKeyInfo),
  };
}

/** A failure of the TLS protocol itself (an alert, no shared ALPN), not of certificate verification. */
function protocolFailure(error: Error | null): boolean {
  if (error === null) return false;
  const code = reasonOf(error);
  return code === "EPROTO" || code?.startsWith("ERR_SSL") === true || /SSL routines/.test(error.message);
}

/** Why a client must drop the server it reached (chain, name, pins), or undefined to go on. */
export function clientRefusal(settings: ClientTlsSettings, info: TlsInfo, success: boolean, authorizationError: Error | null): TlsError | TlsPinMismatchError | undefined {
  // Bun's `success` is false for a bad name even under rejectUnauthorized: false, so it decides only with verification on.
  const verifyFailed = settings.rejectUnauthorized && (!success || !info.authorized || authorizationError !== null);
  if (verifyFailed || protocolFailure(authorizationError)) {
    const why = authorizationError?.message ?? "the server's certificate was not authorized";
    return new TlsError(`TLS handshake with ${settings.identity} failed: ${why}`, { cause: authorizationError ?? undefined }, reasonOf(authorizationError));
  }
  return settings.pins === undefined ? undefined : pinMismatch(info.peerCertificate, settings.pins);
}

/**
 * Why a server must drop a client, or undefined to accept it. Bun's `success` is false when the
 * handshake failed (no shared ALPN, no client certificate under requireCert) but true for a
 * client certificate of an unknown CA, which requireCert refuses here.
 */
export function serverRefusal(settings: ServerTlsSettings, info: TlsInfo, success: boolean, authorizationError: Error | null): TlsError | undefined {
  if (success && (!settings.requireCert || info.authorized)) return undefined;
  const why = authorizationError?.message ?? (info.peerCertificate === undefined ? "no client certificate" : "the client certificate was not authorized");
  return new TlsError(`TLS handshake refused: ${why}`, { cause: authorizationError ?? undefined }, reasonOf(authorizationError));
}

/** An established TLS session that failed (a fatal alert, such as a server refusing our client certificate after a TLS 1.3 handshake) as a TLS failure; other errors as they are. */
export function sessionFailure(error: Error | undefined): Error | undefined {
  if (error === undefined || error instanceof FramewireError || !protocolFailure(error)) return error;
  return new TlsError(`TLS session failed: ${error.message}`, { cause: error }, reasonOf(error));
}

/**
 * A socket that closed before its handshake was judged. A reset or another socket error stays a
 * `SocketError`; a TLS alert, or a peer that just closed mid-handshake, is a TLS failure.
 */
export function handshakeFailure(error: Error | undefined, where: string): TlsError | SocketError {
  if (error !== undefined && !protocolFailure(error) && /^E[A-Z]+$/.test(reasonOf(error) ?? "")) {
    return new SocketError(`socket error during the TLS handshake ${where}: ${error.message}`, { cause: error });
  }
  return new TlsError(`TLS handshake ${where} failed${error !== undefined ? `: ${error.message}` : ": the connection closed first"}`, { cause: error }, reasonOf(error ?? null));
}
