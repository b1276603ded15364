/**
 * `connect()`'s options: the connection's own, where to dial, and what happens between
 * connections (reconnect policy, offline queue). Every option is checked before a socket opens.
 */
import type { SocketAdapter } from "../adapter.ts";
import type { Codec } from "../codec/index.ts";
import { InvalidOptionError, UnsupportedError } from "../errors.ts";
import type { OfflineQueueOptions } from "../flow/offline-queue.ts";
import type { OverflowPolicy } from "../flow/outbound-queue.ts";
import { checkHandshakeFields, type ConnectionOptions, MAX_TIMER_MS, type ResolvedConnectionOptions, resolveConnectionOptions } from "../options.ts";
import { type ReconnectOptions, type ResolvedReconnect, resolveReconnect } from "../reconnect/backoff.ts";
import { type ResolvedResume, type ResumeOptions, resolveResume } from "../session/options.ts";
import type { ClientAuthenticator } from "../auth/authenticator.ts";
import type { ResolvedClientAuth } from "../auth/client-auth.ts";
import { resolveClientAuth } from "../auth/options.ts";
import { integer, oneOf, plainObject, rejectUnknownKeys, string } from "../validate.ts";
import { type ClientTlsSettings, resolveClientTls, type TlsClientOptions } from "../tls/options.ts";
import { type LocalBind, resolveLocalBind } from "./bind.ts";

/** Where sends wait while a reconnecting client has no connection. */
export interface OfflineOptions {
  /**
   * Messages held at most.
   * @default 10000
   */
  maxMessages?: number;
  /**
   * Encoded payload bytes held at most.
   * @default 1048576 (1 MiB)
   */
  maxBytes?: number;
  /**
   * A message older than this is dropped (a `drop` event with `reason: "expired"`); 0: no limit.
   * @default 0
   */
  ttlMs?: number;
  /**
   * What `send()` does at the bound, as for the outbound queue.
   * @default the client's `overflow`
   */
  overflow?: OverflowPolicy;
}

export interface ClientOptions<T = unknown> extends ConnectionOptions<T> {
  /**
   * Host to connect to (loopback by default).
   * @default "127.0.0.1"
   */
  host?: string;
  /** Port to connect to. Required unless `path` is set. */
  port?: number;
  /** Connect to a Unix domain socket at this path instead of TCP. */
  path?: string;
  /**
   * Time allowed for the TCP connection to open; `FW_CONNECT_TIMEOUT` after it.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /** framewire only: your application's version string, sent in HELLO for `verifyHandshake`. */
  app?: string;
  /**
   * Redial after the connection is lost, with backoff (see {@link ReconnectOptions}); `true`
   * takes every default. The `Client`, its listeners and its iterators stay the same across
   * reconnects. Off: the client is closed when its connection is.
   * @default false
   */
  reconnect?: boolean | ReconnectOptions;
  /**
   * With `reconnect`: while there is no connection, `send()` queues into this bounded queue
   * (sent in order once reconnected), or with `false` returns `"offline"` at once.
   * @default { maxMessages: 10000, maxBytes: 1048576, ttlMs: 0, overflow: <overflow> }
   */
  offline?: false | OfflineOptions;
  /**
   * Resumable sessions (the server needs `resume` too): across reconnects every message arrives
   * exactly once, in order, both ways; what the peer has not acknowledged is sent again. Turns
   * `reconnect` on with its defaults unless it is given. A server without resume leaves it off.
   * @default false
   */
  resume?: boolean | ResumeOptions;
  /**
   * framewire only: authenticate in the handshake (docs/protocol.md §14) with this scheme's key,
   * e.g. `hmacAuth({ id, secret })` or `ed25519Auth({ id, privateKey })`. A refusal fails
   * `connect()` with an `AuthRejectedError` (`FW_AUTH_FAILED`, `FW_AUTH_REPLAY`, `FW_AUTH_BUSY`).
   * @default undefined (no authentication)
   */
  auth?: ClientAuthenticator;
  /**
   * With `auth`: the server must prove in WELCOME that it holds the key too (HMAC: the same
   * secret; Ed25519: the private key of `serverPublicKey`), over this connection's fresh nonce;
   * otherwise the handshake fails with `FW_AUTH_SERVER_UNVERIFIED`.
   * @default false
   */
  requireServerProof?: boolean;
  /**
   * Dial over TLS (see {@link TlsClientOptions}); `true` verifies the server against the
   * runtime's roots. The framewire handshake (or raw mode) runs inside it unchanged. A failed
   * TLS handshake fails `connect()` with `FW_TLS_FAILED`, a pin mismatch with `FW_TLS_PIN_MISMATCH`.
   * @default undefined (plain TCP)
   */
  tls?: boolean | TlsClientOptions;
  /** Bind the client socket to this local IP address (e.g. one of several NICs, `127.0.0.2`). */
  localAddress?: string;
  /** Bind the client socket to this local port. */
  localPort?: number;
  /**
   * Bind to the address of this network interface (`"wg0"`, `"eth0"`, `"lo"`), looked up on
   * each dial for `family`; `FW_INTERFACE_UNAVAILABLE` when it is missing or has no such address.
   */
  interface?: string;
  /**
   * With `interface`: the address family to pick.
   * @default 6 when `host` is an IPv6 literal, else 4
   */
  family?: 4 | 6;
}

const CLIENT_KEYS = ["host", "port", "path", "connectTimeoutMs", "app", "reconnect", "offline", "resume", "auth", "requireServerProof", "tls", "localAddress", "localPort", "interface", "family"] as const;
const OFFLINE_KEYS: ReadonlySet<string> = new Set(["maxMessages", "maxBytes", "ttlMs", "overflow"]);

/** Client settings, checked before any socket is opened. */
export interface ClientSettings {
  connection: ResolvedConnectionOptions;
  codec: Codec<unknown>;
  host: string;
  port: number;
  path: string | undefined;
  connectTimeoutMs: number;
  app: string | undefined;
  reconnect: ResolvedReconnect | undefined;
  /** Undefined: no offline queue (reconnect off, or `offline: false`). */
  offline: OfflineQueueOptions | undefined;
  resume: ResolvedResume | undefined;
  auth: ResolvedClientAuth | undefined;
  tls: ClientTlsSettings | undefined;
  bind: LocalBind | undefined;
}

export function resolveClientOptions(options: ClientOptions<never> | ClientOptions<unknown>, adapter: SocketAdapter): ClientSettings {
  const { resolved, codec } = resolveConnectionOptions(options, "connect", CLIENT_KEYS);
  const path = options.path === undefined ? undefined : string("path", options.path, "", true);
  if (path !== undefined && (options.host !== undefined || options.port !== undefined)) {
    throw new InvalidOptionError("connect: give either path (a Unix socket) or host/port, not both");
  }
  if (path === undefined && options.port === undefined) throw new InvalidOptionError("connect needs a port or a path");
  if (path !== undefined && !adapter.capabilities.unixSockets) throw new UnsupportedError(`Unix domain sockets are not supported by the ${adapter.name} adapter`);
  const app = options.app === undefined ? undefined : string("app", options.app, "");
  if (app !== undefined && resolved.protocol === "raw") throw new InvalidOptionError(`app is sent in the framewire handshake; protocol "raw" has none`);
  // HELLO carries tags and app and must fit the handshake's frame limit.
  checkHandshakeFields({ app, tags: resolved.tags }, "the client's tags and app");
  const connectTimeoutMs = integer("connectTimeoutMs", options.connectTimeoutMs, 10_000, 1, MAX_TIMER_MS);
  const resume = resolveResume(options.resume, "connect", resolved.protocol, resolved.overflow);
  if (resume !== undefined && options.reconnect === false) throw new InvalidOptionError("resume continues a session after a reconnect: it cannot be combined with reconnect: false");
  if (resume !== undefined && resume.maxUnackedBytes > resolved.maxBufferedBytes) {
    throw new InvalidOptionError(`resume.maxUnackedBytes (${resume.maxUnackedBytes}) must not exceed maxBufferedBytes (${resolved.maxBufferedBytes}): what is sent again must fit the queue`);
  }
  const reconnect = resolveReconnect(options.reconnect ?? (resume !== undefined ? true : undefined), connectTimeoutMs);
  const host = string("host", options.host, "127.0.0.1", true);
  if (path !== undefined && options.tls !== undefined && options.tls !== false) throw new InvalidOptionError("tls runs over TCP: not with path");
  return {
    connection: resolved,
    codec,
    host,
    port: path === undefined ? integer("port", options.port, 0, 1, 65535) : 0,
    path,
    connectTimeoutMs,
    app,
    reconnect,
    offline: resolveOffline(options.offline, reconnect !== undefined, resolved.overflow),
    resume,
    auth: resolveClientAuth(options.auth, options.requireServerProof, resolved.protocol),
    tls: resolveClientTls(options.tls, host, adapter),
    bind: resolveLocalBind(options, host, path, adapter),
  };
}

function resolveOffline(value: unknown, reconnect: boolean, overflow: OverflowPolicy): OfflineQueueOptions | undefined {
  if (value === false) return undefined;
  if (value !== undefined) {
    if (!reconnect) throw new InvalidOptionError("offline applies between connections: it needs reconnect");
    plainObject("offline", value);
    rejectUnknownKeys(value, OFFLINE_KEYS, "offline");
  }
  if (!reconnect) return undefined;
  const o = (value ?? {}) as OfflineOptions;
  return {
    maxMessages: integer("offline.maxMessages", o.maxMessages, 10_000, 1),
    maxBytes: integer("offline.maxBytes", o.maxBytes, 1024 * 1024, 1),
    ttlMs: integer("offline.ttlMs", o.ttlMs, 0, 0, MAX_TIMER_MS),
    overflow: oneOf("offline.overflow", o.overflow, ["error", "drop-newest", "drop-oldest"], overflow),
  };
}
