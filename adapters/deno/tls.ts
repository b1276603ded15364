/**
 * TLS on Deno: framewire's neutral `tls` settings mapped onto `Deno.listenTls`, `Deno.connectTls`
 * and `Deno.startTls` (rustls underneath), and Deno's failures onto `TlsError` / `SocketError`.
 *
 * Deno exposes no peer certificate, cipher or protocol version, cannot turn verification off for
 * one connection, cannot ask a client for a certificate and reads no encrypted key. So the
 * capabilities leave out `pin`, `rejectUnauthorized`, `passphrase`, and on the server `ca`,
 * `requestCert`, `requireCert`: the core refuses them with `FW_UNSUPPORTED` before any I/O.
 *
 * Caveats of what is honoured:
 * - client `ca` is trusted in addition to Deno's root store (Mozilla's, or what `--cert` /
 *   `DENO_TLS_CA_STORE` chose), not instead of it;
 * - `--unsafely-ignore-certificate-errors` turns verification off for the whole process, and
 *   nothing here can see it;
 * - `servername` other than `host` needs `Deno.startTls`, which takes no client certificate:
 *   with `cert` too, `connect` fails with `FW_UNSUPPORTED` before dialling;
 * - closing a TlsConn does not close its TCP socket at once: Deno first lets a pending handshake
 *   finish and flushes what it buffered (rustls_tokio_stream's close and drop). The server side
 *   therefore runs behind a relay of ours (`tls-relay.ts`), whose sockets close when we say. A
 *   client still keeps such a socket open after a connect timeout against a server that stalls
 *   its handshake, until that server closes it.
 */
import type { ConnectSignal, ListenOptions } from "../../src/adapter.ts";
import { SocketError, UnsupportedError } from "../../src/errors.ts";
import { TlsError } from "../../src/tls/errors.ts";
import type { TlsInfo } from "../../src/tls/info.ts";
import type { ClientTlsSettings, ServerTlsSettings, TlsCapabilities } from "../../src/tls/options.ts";
import { closeQuietly, connOrAbort, type DenoConn, type DenoHandshakeInfo, type DenoRuntime, type DenoTlsConn, message } from "./runtime.ts";
import type { RelayedTlsConn, TlsRelay } from "./tls-relay.ts";

/** The `tls` options Deno honours, by side. */
export const DENO_TLS_CAPABILITIES: TlsCapabilities = {
  client: new Set(["ca", "cert", "key", "alpn", "servername"] as const),
  server: new Set(["cert", "key", "alpn"] as const),
};

/**
 * Refuses, before any I/O, what Deno cannot dial. The core has already refused options outside
 * the capabilities; this repeats it for callers of the adapter itself, so none is ignored.
 */
export function checkClientTls(tls: ClientTlsSettings, host: string): void {
  if (tls.passphrase !== undefined) throw new UnsupportedError("tls.passphrase is not supported by the deno adapter: rustls reads no encrypted key");
  if (tls.pins !== undefined) throw new UnsupportedError("tls.pin is not supported by the deno adapter: Deno does not expose the server's certificate");
  if (!tls.rejectUnauthorized) throw new UnsupportedError("tls.rejectUnauthorized: false is not supported by the deno adapter: Deno always verifies");
  if (tls.cert !== undefined && tls.identity !== host) {
    throw new UnsupportedError(
      `tls.servername ${JSON.stringify(tls.identity)} (not the host ${JSON.stringify(host)}) with a client certificate is not supported by the deno adapter: Deno.startTls, which sets the name, takes no certificate`,
    );
  }
}

/** The `Deno.listenTls` options for `tls`; throws `UnsupportedError` for what Deno's server cannot do. */
export function listenTlsOptions(tls: ServerTlsSettings): Record<string, unknown> {
  if (tls.passphrase !== undefined) throw new UnsupportedError("tls.passphrase is not supported by the deno adapter: rustls reads no encrypted key");
  if (tls.requestCert || tls.requireCert || tls.ca !== undefined) {
    throw new UnsupportedError("client certificates (tls.ca, requestCert, requireCert) are not supported by the deno adapter: Deno.listenTls cannot ask for them");
  }
  return { cert: tls.cert, key: tls.key, ...(tls.alpn !== undefined ? { alpnProtocols: [...tls.alpn] } : {}) };
}

/**
 * Dials and completes the TLS handshake, so the core sees only a verified peer. Without a
 * client certificate: `Deno.connect` (cancellable by `signal`) then `Deno.startTls` with the
 * identity as the name to verify and send as SNI (rustls sends none for an IP address). With
 * one: `Deno.connectTls` to `host`, which is then the identity ({@link checkClientTls}).
 * Rejects with `TlsError` when TLS refused the peer, `SocketError` when the network failed, or
 * `signal`'s reason once it aborted (the conn is closed).
 */
export async function dialTls(
  runtime: DenoRuntime,
  target: { readonly host: string; readonly port: number },
  tls: ClientTlsSettings,
  signal: ConnectSignal | undefined,
): Promise<{ conn: DenoTlsConn; info: TlsInfo }> {
  const where = `${target.host}:${target.port}`;
  const trust = { ...(tls.ca !== undefined ? { caCerts: [...tls.ca] } : {}), ...(tls.alpn !== undefined ? { alpnProtocols: [...tls.alpn] } : {}) };
  let conn: DenoTlsConn;
  if (tls.cert === undefined) {
    const tcp = await dialed(connOrAbort(runtime.connect({ transport: "tcp", hostname: target.host, port: target.port, ...(signal !== undefined ? { signal } : {}) }), signal), where, signal);
    // The TLS conn has no setNoDelay: framewire's default (noDelay) is set on the TCP conn it wraps.
    try {
      tcp.setNoDelay?.(true);
    } catch {
      // Not fatal: Nagle stays on.
    }
    try {
      conn = await runtime.startTls(tcp, { hostname: tls.identity, ...trust });
    } catch (error) {
      closeQuietly(tcp);
      throw tlsFailure(error, `TLS with ${where}`);
    }
  } else {
    const pending = runtime.connectTls({ hostname: target.host, port: target.port, ...trust, cert: tls.cert, key: tls.key });
    conn = await dialed(connOrAbort(pending, signal), where, signal);
  }
  const handshake = await handshakeOrAbort(conn, signal, where);
  return { conn, info: clientInfo(handshake) };
}

/**
 * The server's side of one relayed client: the handshake, bounded by `timeoutMs`. Rejects (the
 * client's socket closed) with `TlsError` when TLS refused the client or it stalled,
 * `SocketError` when the network failed.
 */
export async function acceptTls(conn: RelayedTlsConn, timeoutMs: number): Promise<TlsInfo> {
  const where = `${conn.remoteAddr.hostname ?? ""}:${conn.remoteAddr.port ?? 0}`;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    conn.abort(); // the pending handshake rejects
  }, timeoutMs);
  try {
    return serverInfo(await conn.handshake());
  } catch (error) {
    // A refusal still lets the client read Deno's alert (the relay drains, bounded); a stall is cut.
    if (!timedOut) conn.close();
    await conn.settled();
    if (timedOut) throw new TlsError(`TLS handshake with ${where} not complete within ${timeoutMs} ms`, undefined, "HANDSHAKE_TIMEOUT");
    throw tlsFailure(error, `TLS handshake with ${where}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The handshakes of one TLS listener's accepted clients. They run side by side (a client
 * stalling in one holds up no other accept); a conn whose handshake completed goes to `open`, one
 * that failed or timed out is closed and reported to `refused`. Closing the listener closes the
 * clients still handshaking: they are no sockets of the core's yet.
 */
export class TlsHandshakes {
  readonly #relay: TlsRelay;
  readonly #running = new Map<DenoConn, Promise<void>>();
  readonly #relayed = new Map<DenoConn, RelayedTlsConn>();
  readonly #timeoutMs: number;
  readonly #open: (conn: RelayedTlsConn, info: TlsInfo) => void;
  readonly #hooks: Pick<ListenOptions, "admit" | "onRefused">;
  #closed = false;

  constructor(relay: TlsRelay, timeoutMs: number, open: (conn: RelayedTlsConn, info: TlsInfo) => void, hooks: Pick<ListenOptions, "admit" | "onRefused">) {
    this.#relay = relay;
    this.#timeoutMs = timeoutMs;
    this.#open = open;
    this.#hooks = hooks;
  }

  /** Takes one accepted client socket (plain TCP), if the server's bound on handshakes in flight lets it in. */
  start(client: DenoConn): void {
    const { hostname = "", port = 0 } = client.remoteAddr;
    if (this.#hooks.admit?.(hostname, port) === false) {
      closeQuietly(client);
      return;
    }
    const task = this.#handshake(client, hostname, port).finally(() => {
      this.#running.delete(client);
      this.#relayed.delete(client);
    });
    this.#running.set(client, task);
  }

  /** Closes the clients still handshaking; resolves once every handshake has settled. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const client of this.#running.keys()) {
      const relayed = this.#relayed.get(client);
      if (relayed !== undefined) relayed.abort();
      else closeQuietly(client);
    }
    await Promise.all(this.#running.values());
    await this.#relay.close();
  }

  async #handshake(client: DenoConn, address: string, port: number): Promise<void> {
    let conn: RelayedTlsConn;
    let info: TlsInfo;
    try {
      conn = await this.#relay.relay(client);
      this.#relayed.set(client, conn);
      if (this.#closed) {
        conn.abort();
        await conn.settled();
        return;
      }
      info = await acceptTls(conn, this.#timeoutMs);
    } catch (error) {
      if (this.#closed) return;
      try {
        this.#hooks.onRefused?.(error instanceof Error ? error : new Error(String(error)), address, port);
      } catch {
        // A counter callback that throws must not stop the listener.
      }
      return;
    }
    if (this.#closed) {
      conn.abort();
      await conn.settled();
    } else this.#open(conn, info);
  }
}

/**
 * A Deno failure on a TLS conn as framewire's error: rustls reports every refusal (certificate,
 * name, alert, no common protocol, not TLS at all) as `InvalidData`; anything else is the network.
 */
export function tlsFailure(error: unknown, what: string): TlsError | SocketError {
  const text = message(error);
  if (isTlsRefusal(error)) return new TlsError(`${what} failed: ${text}`, { cause: error }, rustlsReason(text));
  return new SocketError(`${what} failed: ${text}`, { cause: error });
}

export function isTlsRefusal(error: unknown): boolean {
  return error instanceof Error && error.name === "InvalidData";
}

/** rustls's short name for the failure, e.g. `UnknownIssuer`, `NotValidForName`, or the alert received (`UnknownCA`). */
function rustlsReason(text: string): string | undefined {
  if (/not valid for name/i.test(text)) return "NotValidForName";
  if (/certificate expired/i.test(text)) return "Expired";
  return /(?:invalid peer certificate|received fatal alert): (\w+)/.exec(text)?.[1];
}

async function dialed<C extends { close(): void }>(pending: Promise<C>, where: string, signal: ConnectSignal | undefined): Promise<C> {
  try {
    return await pending;
  } catch (error) {
    if (signal?.aborted) throw error;
    // connectTls refuses unreadable TLS material (`InvalidData`) before dialling.
    throw tlsFailure(error, `connect to ${where}`);
  }
}

/** `conn.handshake()`, cut short by closing the conn when `signal` aborts. The conn is closed on failure. */
async function handshakeOrAbort(conn: DenoTlsConn, signal: ConnectSignal | undefined, where: string): Promise<DenoHandshakeInfo> {
  const onAbort = (): void => closeQuietly(conn);
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (signal?.aborted) throw signal.reason;
    return await conn.handshake();
  } catch (error) {
    closeQuietly(conn);
    if (signal?.aborted) throw signal.reason;
    throw tlsFailure(error, `TLS handshake with ${where}`);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** A Deno client always verified the server (chain and name) before `handshake()` resolved. */
function clientInfo(handshake: DenoHandshakeInfo): TlsInfo {
  return { protocol: undefined, cipher: undefined, alpn: handshake.alpnProtocol ?? undefined, authorized: true, authorizationError: undefined, peerCertificate: undefined };
}

/** A Deno server never asks for a client certificate: its clients are never authorized. */
function serverInfo(handshake: DenoHandshakeInfo): TlsInfo {
  return { protocol: undefined, cipher: undefined, alpn: handshake.alpnProtocol ?? undefined, authorized: false, authorizationError: undefined, peerCertificate: undefined };
}
