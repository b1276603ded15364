/**
 * A loopback relay in front of `Deno.listenTls`, so the server can really drop a client.
 *
 * Deno closes a TlsConn's socket only once its handshake has finished and its buffered bytes
 * have reached the peer (rustls_tokio_stream), so a client that stalls its handshake or stops
 * reading would keep its socket past `handshakeTimeoutMs` or a slow-peer eviction, indefinitely.
 * Here the client's socket is a plain TcpConn of ours, relayed byte for byte to a TLS listener on
 * 127.0.0.1: closing ours ends the client's connection at once, and the relay socket's close ends
 * whatever Deno still waits for on the other side. The cost, measured: ~20% of TLS throughput.
 * The client's socket also gives `setNoDelay` / `setKeepAlive` back (a TlsConn has neither).
 */
import { closeQuietly, type DenoAddr, type DenoConn, type DenoHandshakeInfo, type DenoListener, type DenoRuntime, type DenoTlsConn } from "./runtime.ts";

const PUMP_SIZE = 64 * 1024;
/** How long a closed connection may still flush bytes already written towards a client that reads slowly. */
const DRAIN_MS = 2_000;
/** A connection to the TLS side that no relay socket of ours claims within this is closed. */
const STRANGER_MS = 1_000;

/** One relayed client: the TLS conn the server talks to, seen with the client's socket's addresses. */
export class RelayedTlsConn implements DenoTlsConn {
  readonly #client: DenoConn;
  readonly #relay: DenoConn;
  readonly #tls: DenoTlsConn;
  readonly #pumps: Promise<void>;
  #closed = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: DenoConn, relay: DenoConn, tls: DenoTlsConn, pumps: Promise<void>) {
    this.#client = client;
    this.#relay = relay;
    this.#tls = tls;
    this.#pumps = pumps.then(() => {
      if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
      this.#hardClose();
    });
  }

  get localAddr(): DenoAddr {
    return this.#client.localAddr;
  }

  get remoteAddr(): DenoAddr {
    return this.#client.remoteAddr;
  }

  handshake(): Promise<DenoHandshakeInfo> {
    return this.#tls.handshake();
  }

  read(buffer: Uint8Array): Promise<number | null> {
    return this.#tls.read(buffer);
  }

  write(bytes: Uint8Array): Promise<number> {
    return this.#tls.write(bytes);
  }

  closeWrite(): Promise<void> {
    return this.#tls.closeWrite();
  }

  setNoDelay(noDelay?: boolean): void {
    this.#client.setNoDelay?.(noDelay);
  }

  setKeepAlive(keepAlive?: boolean): void {
    this.#client.setKeepAlive?.(keepAlive);
  }

  /**
   * Closes the TLS conn; what Deno then flushes (our last bytes, close_notify) still reaches the
   * client, for at most {@link DRAIN_MS}: then, or before a handshake completed, both sockets close.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.#tls);
    this.#drainTimer = setTimeout(() => this.#hardClose(), DRAIN_MS);
  }

  /** Closes both relay sockets at once (a stalled handshake, a listener closing). */
  abort(): void {
    this.#closed = true;
    if (this.#drainTimer !== undefined) clearTimeout(this.#drainTimer);
    closeQuietly(this.#tls);
    this.#hardClose();
  }

  /** Resolves once both pumps have stopped and both relay sockets are closed. */
  settled(): Promise<void> {
    return this.#pumps;
  }

  #hardClose(): void {
    closeQuietly(this.#client);
    closeQuietly(this.#relay);
  }
}

/**
 * Copies `from` to `to` until `from` ends (then half-closes `to`) or either fails (then closes
 * both: the other direction then ends too).
 */
async function pump(from: DenoConn, to: DenoConn): Promise<void> {
  const buffer = new Uint8Array(PUMP_SIZE);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let offset = 0;
      while (offset < n) offset += await to.write(buffer.subarray(offset, n));
    }
    await to.closeWrite();
  } catch {
    closeQuietly(from);
    closeQuietly(to);
  }
}

/**
 * The relay's two listeners: the public TCP one clients reach, and the TLS one on 127.0.0.1 that
 * only our relay sockets should dial (any other connection to it is closed unserved).
 */
export class TlsRelay {
  readonly #runtime: DenoRuntime;
  readonly #tlsListener: DenoListener<DenoTlsConn>;
  readonly #tlsPort: number;
  /** TLS conns accepted, by the relay socket's local port, until their relay claims them. */
  readonly #arrived = new Map<number, { tls: DenoTlsConn; timer: ReturnType<typeof setTimeout> }>();
  readonly #waiting = new Map<number, (tls: DenoTlsConn) => void>();
  readonly #acceptLoop: Promise<void>;
  #closed = false;

  constructor(runtime: DenoRuntime, tlsOptions: Record<string, unknown>) {
    this.#runtime = runtime;
    this.#tlsListener = runtime.listenTls({ transport: "tcp", hostname: "127.0.0.1", port: 0, ...tlsOptions });
    this.#tlsPort = this.#tlsListener.addr.port ?? 0;
    this.#acceptLoop = this.#acceptTls();
  }

  /** Relays one accepted client socket; rejects (the client closed) when the relay cannot be set up. */
  async relay(client: DenoConn): Promise<RelayedTlsConn> {
    let relay: DenoConn;
    try {
      relay = await this.#runtime.connect({ transport: "tcp", hostname: "127.0.0.1", port: this.#tlsPort });
    } catch (error) {
      closeQuietly(client);
      throw error;
    }
    relay.setNoDelay?.(true);
    const pumps = Promise.all([pump(client, relay), pump(relay, client)]).then(() => {});
    const port = relay.localAddr.port ?? 0;
    const early = this.#arrived.get(port);
    if (early !== undefined) clearTimeout(early.timer);
    const tls = early?.tls ?? (await new Promise<DenoTlsConn | undefined>((resolve) => {
      this.#waiting.set(port, resolve);
      // Closing the relay socket ends the wait: the pumps stop, the TLS side never arrives.
      void pumps.then(() => resolve(undefined));
    }));
    this.#arrived.delete(port);
    this.#waiting.delete(port);
    if (tls === undefined) {
      closeQuietly(client);
      closeQuietly(relay);
      await pumps;
      throw new Error("the client left before the TLS relay was set up");
    }
    return new RelayedTlsConn(client, relay, tls, pumps);
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      closeQuietly(this.#tlsListener);
    }
    await this.#acceptLoop;
    for (const { tls, timer } of this.#arrived.values()) {
      clearTimeout(timer);
      closeQuietly(tls);
    }
    this.#arrived.clear();
  }

  async #acceptTls(): Promise<void> {
    while (!this.#closed) {
      let tls: DenoTlsConn;
      try {
        tls = await this.#tlsListener.accept();
      } catch {
        if (this.#closed) return;
        await new Promise<void>((resolve) => setTimeout(() => resolve(), 50));
        continue;
      }
      const port = tls.remoteAddr.port ?? 0;
      const claim = this.#waiting.get(port);
      if (tls.remoteAddr.hostname !== "127.0.0.1") closeQuietly(tls);
      else if (claim !== undefined) claim(tls);
      else {
        // Its relay's connect has not resolved yet; one no relay claims soon is a stranger's.
        const timer = setTimeout(() => {
          if (this.#arrived.get(port)?.tls !== tls) return;
          this.#arrived.delete(port);
          closeQuietly(tls);
        }, STRANGER_MS);
        this.#arrived.set(port, { tls, timer });
      }
    }
  }
}
