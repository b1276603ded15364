/**
 * What `listen()` takes: the server's options, the shape of `verifyHandshake`, and how every
 * option is checked (before anything is bound).
 */
import type { ListenOptions, SocketAdapter } from "./adapter.ts";
import type { Codec } from "./codec/index.ts";
import type { AnyCode } from "./codes.ts";
import type { AuthIdentity, ServerAuthOptions } from "./auth/authenticator.ts";
import { resolveServerAuth } from "./auth/options.ts";
import type { ResolvedServerAuth } from "./auth/server-gate.ts";
import { InvalidOptionError, UnsupportedError } from "./errors.ts";
import { type RateLimit, type ResolvedRateLimit, resolveRateLimit } from "./flow/rate-limit-options.ts";
import { resolveResume, type ResolvedResume, type ServerResumeOptions } from "./session/options.ts";
import { checkHandshakeFields, type ConnectionOptions, MAX_TIMER_MS, type ResolvedConnectionOptions, resolveConnectionOptions } from "./options.ts";
import { boolean, integer, optionalFunction, string } from "./validate.ts";
import type { TlsInfo } from "./tls/info.ts";
import { resolveServerTls, type TlsServerOptions } from "./tls/options.ts";
import { type ResolvedServerLimits, resolveServerLimits, SERVER_LIMIT_KEYS, type ServerLimitOptions } from "./limits/options.ts";

/** What `verifyHandshake` sees of a client's HELLO. */
export interface HandshakeInfo {
  version: number;
  /** The client's `app` string, if it sent one. */
  app: string | undefined;
  tags: Readonly<Record<string, string>>;
  remoteAddress: string;
  remotePort: number;
  /** Authenticated handshake (`auth`): the scheme and key id the client proved; undefined when it did not authenticate (`auth.required: false`). */
  identity: AuthIdentity | undefined;
  /** Over TLS: what was negotiated, the client's certificate included (mutual TLS); undefined on plain TCP. */
  tls: TlsInfo | undefined;
}

/**
 * `verifyHandshake`'s answer: `true`/`undefined` accepts; `false` rejects with
 * `FW_HANDSHAKE_REJECTED`; `{ code, reason }` rejects with your own code (e.g. `"BAD_TOKEN"`),
 * which the client receives on its `HandshakeRejectedError` as `reasonCode`, and `reason`
 * (cut to 256 bytes), which the client sees as `reason`. A throw, a rejected promise or a
 * malformed code rejects with `FW_HANDLER_ERROR`; the client is not told why.
 */
export type HandshakeVerdict = boolean | undefined | void | { code: AnyCode; reason?: string };

export interface ServerOptions<T = unknown> extends ConnectionOptions<T>, ServerLimitOptions {
  /**
   * Interface to bind. `"::"` or `"0.0.0.0"` for all.
   * @default "127.0.0.1"
   */
  host?: string;
  /**
   * Port to bind; 0 picks a free one (read it back from `server.port`).
   * @default 0
   */
  port?: number;
  /** Listen on a Unix domain socket at this path instead of TCP. */
  path?: string;
  /** Let several processes bind the same port (SO_REUSEPORT); throws `FW_UNSUPPORTED` where the adapter cannot. */
  reusePort?: boolean;
  /**
   * Connections beyond this many are refused (framewire: REJECT with `FW_SERVER_FULL`). Only
   * connections that are handshaking or open count: one that is closing (a failed handshake, a
   * GOAWAY, waiting for the peer's FIN) gives its slot back at once, and a refused socket never
   * takes one (it gets REJECT, then at most 1 s to read it before it is destroyed).
   * @default 10000
   */
  maxConnections?: number;
  /**
   * framewire only: decides whether a client's HELLO is accepted. May be async; the frames that
   * follow HELLO wait for the verdict (the handshake timeout still runs).
   */
  verifyHandshake?: (info: HandshakeInfo) => HandshakeVerdict | Promise<HandshakeVerdict>;
  /**
   * `close()`'s default grace: how long connections get to drain after GOAWAY before they are destroyed.
   * @default 5000
   */
  shutdownTimeoutMs?: number;
  /**
   * framewire only: resumable sessions (docs/protocol.md §13). A client that asks gets a session
   * token; when its connection is lost the session waits (`sessionTtlMs`, bounded in number and
   * bytes), and a client that comes back with the token continues it: both sides send again
   * exactly what the other has not acknowledged. `true` takes every default.
   * @default false
   */
  resume?: boolean | ServerResumeOptions;
  /**
   * framewire only: an authenticated handshake (docs/protocol.md §14). Each HELLO must carry a
   * valid, fresh proof of a key of one of `authenticators` (built in: `hmacServerAuth`,
   * `ed25519ServerAuth`), else REJECT `FW_AUTH_FAILED` / `FW_AUTH_REPLAY` / `FW_AUTH_BUSY`;
   * `verifyHandshake` and `connection.identity` see who it is.
   * @default undefined (no authentication)
   * @example
   * listen({ auth: { authenticators: [hmacServerAuth({ keys: { "sensor-7": secretHex } })] } })
   */
  auth?: ServerAuthOptions;
  /**
   * One outbound token bucket shared by all of this server's connections (see {@link RateLimit}):
   * together they send at most this rate; waiting connections take turns. Works with a
   * per-connection `rateLimit` too: a frame then needs tokens from both.
   * @default no limit
   */
  serverRateLimit?: RateLimit;
  /**
   * Accept TLS only (see {@link TlsServerOptions}): PEM `cert` and `key`, and for mutual TLS
   * `ca` with `requireCert`. A client that fails the TLS handshake never reaches framewire
   * (counted in `stats().limits.tlsFailed`); one that stalls in it is dropped after `handshakeTimeoutMs`.
   * @default undefined (plain TCP)
   */
  tls?: TlsServerOptions;
}

/** Server-level settings, checked before anything is bound. */
export interface ServerSettings {
  connection: ResolvedConnectionOptions;
  codec: Codec<unknown>;
  listen: ListenOptions;
  maxConnections: number;
  shutdownTimeoutMs: number;
  verifyHandshake: ServerOptions<unknown>["verifyHandshake"];
  resume: ResolvedResume | undefined;
  limits: ResolvedServerLimits;
  auth: ResolvedServerAuth | undefined;
  serverRateLimit: ResolvedRateLimit | undefined;
}

const SERVER_KEYS = ["host", "port", "path", "reusePort", "maxConnections", "verifyHandshake", "shutdownTimeoutMs", "resume", "auth", "serverRateLimit", "tls", ...SERVER_LIMIT_KEYS] as const;

export function resolveServerOptions(options: ServerOptions<never> | ServerOptions<unknown>, adapter: SocketAdapter): ServerSettings {
  const { resolved, codec } = resolveConnectionOptions(options, "listen", SERVER_KEYS);
  const path = options.path === undefined ? undefined : string("path", options.path, "", true);
  if (path !== undefined && (options.host !== undefined || options.port !== undefined)) {
    throw new InvalidOptionError("listen: give either path (a Unix socket) or host/port, not both");
  }
  const host = string("host", options.host, "127.0.0.1", true);
  const port = integer("port", options.port, 0, 0, 65535);
  const reusePort = boolean("reusePort", options.reusePort, false);
  if (reusePort && !adapter.capabilities.reusePort) throw new UnsupportedError(`reusePort is not supported by the ${adapter.name} adapter here`);
  if (path !== undefined && !adapter.capabilities.unixSockets) throw new UnsupportedError(`Unix domain sockets are not supported by the ${adapter.name} adapter`);
  const verifyHandshake = optionalFunction<ServerOptions<unknown>["verifyHandshake"]>("verifyHandshake", options.verifyHandshake);
  if (verifyHandshake !== undefined && resolved.protocol === "raw") throw new InvalidOptionError(`verifyHandshake needs the framewire handshake; protocol "raw" has none`);
  // WELCOME carries the tags and must fit the handshake's frame limit.
  checkHandshakeFields({ tags: resolved.tags }, "the server's tags");
  const resume = resolveResume(options.resume, "listen", resolved.protocol, resolved.overflow);
  if (resume !== undefined && resume.maxUnackedBytes > resolved.maxBufferedBytes) {
    throw new InvalidOptionError(`resume.maxUnackedBytes (${resume.maxUnackedBytes}) must not exceed maxBufferedBytes (${resolved.maxBufferedBytes}): what is sent again must fit the queue`);
  }
  if (path !== undefined && options.tls !== undefined) throw new InvalidOptionError("tls runs over TCP: not with path");
  const tls = resolveServerTls(options.tls, adapter, resolved.handshakeTimeoutMs || 10_000);
  return {
    connection: resolved,
    codec,
    listen: path !== undefined ? { host: "", port: 0, path } : { host, port, ...(reusePort ? { reusePort: true } : {}), ...(tls !== undefined ? { tls } : {}) },
    maxConnections: integer("maxConnections", options.maxConnections, 10_000),
    shutdownTimeoutMs: integer("shutdownTimeoutMs", options.shutdownTimeoutMs, 5_000, 0, MAX_TIMER_MS),
    verifyHandshake,
    resume,
    limits: resolveServerLimits(options),
    auth: resolveServerAuth(options.auth, resolved.protocol),
    serverRateLimit: resolveRateLimit("serverRateLimit", options.serverRateLimit),
  };
}
