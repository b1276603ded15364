/**
 * The Deno adapter: the contract on `Deno.listen` / `Deno.connect`, and over TLS on
 * `Deno.listenTls` / `Deno.connectTls` / `Deno.startTls` (see `tls.ts`).
 *
 * Deno's `conn.write` is async and may write part of its buffer, so the adapter keeps one write
 * op in flight and a queue behind it: `write` takes whole buffers (Deno reads them from our
 * memory, hence `retainsWrites`) and hands each back to the core (`released`) once its op has
 * settled; the core counts what we hold against its own bounds. A read that fills most of its
 * buffer hands that buffer to the core; a shorter one is copied out, so a chunk never pins much
 * more than its bytes. A paused socket has no read in flight. Both loops give the event loop a
 * turn when they have kept it busy (`Pacer`). Every async op, turns included, settles before
 * `close` is called, so nothing is left pending once a connection reports closed (Deno's test
 * sanitizers hold). A TLS conn reaches the core only once its handshake completed (rustls has
 * then verified the server's chain and name): the socket code is the same for both.
 */
import type { AdapterCapabilities, ConnectOptions, Listener, ListenOptions, OnSocket, SocketAdapter } from "../../src/adapter.ts";
import { FramewireError, SocketError, UnsupportedError } from "../../src/errors.ts";
import type { TlsInfo } from "../../src/tls/info.ts";
import { Pacer } from "./pacer.ts";
import { closeQuietly, connOrAbort, type DenoConn, type DenoListener, deno, denoHasReusePort, denoOrUndefined, message } from "./runtime.ts";
import { DenoRawSocket } from "./socket.ts";
import { TlsRelay } from "./tls-relay.ts";
import { checkClientTls, DENO_TLS_CAPABILITIES, dialTls, listenTlsOptions, TlsHandshakes, tlsFailure } from "./tls.ts";

/**
 * framewire's sockets on Deno. One instance serves any number of servers and clients; its only
 * state is the pacer their sockets share.
 */
export class DenoAdapter implements SocketAdapter {
  readonly name = "deno" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: DENO_TLS_CAPABILITIES,
    // Deno.connect cannot bind the client socket before dialling.
    localBind: false,
    unixSockets: denoOrUndefined()?.build.os !== "windows",
    ipv6: true,
    reusePort: denoHasReusePort(),
    retainsWrites: true,
  };
  readonly #pacer = new Pacer();

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    const runtime = deno();
    if (options.reusePort && !this.capabilities.reusePort) {
      throw new UnsupportedError("reusePort needs Linux and --unstable-net with the deno adapter");
    }
    const tls = options.tls;
    if (tls !== undefined && options.path !== undefined) throw new UnsupportedError("tls runs over TCP: not with a Unix socket path");
    const tlsOptions = tls !== undefined ? listenTlsOptions(tls) : undefined;
    const where = options.path ?? `${options.host}:${options.port}`;
    let listener: DenoListener;
    try {
      if (options.path !== undefined) {
        listener = runtime.listen({ transport: "unix", path: options.path });
      } else {
        const tcp = {
          transport: "tcp",
          hostname: options.host,
          port: options.port,
          ...(options.reusePort ? { reusePort: true } : {}),
          ...(options.backlog !== undefined ? { tcpBacklog: options.backlog } : {}),
        };
        listener = runtime.listen(tcp);
      }
    } catch (error) {
      throw new SocketError(`cannot listen on ${where}: ${message(error)}`, { cause: error });
    }
    let relay: TlsRelay | undefined;
    if (tlsOptions !== undefined) {
      try {
        relay = new TlsRelay(runtime, tlsOptions);
      } catch (error) {
        closeQuietly(listener);
        // listenTls refuses unreadable TLS material (InvalidData) as a TLS failure.
        throw tlsFailure(error, `listen with TLS on ${where}`);
      }
    }
    let closed = false;
    const open = (conn: DenoConn, info?: TlsInfo): void => {
      try {
        new DenoRawSocket(conn, this.#pacer, info).open(onSocket);
      } catch {
        // onSocket threw (a framewire bug): that conn is closed, the listener keeps accepting.
      }
    };
    // Clients reach Deno's TLS through a relay of ours, so that closing one really closes it.
    const handshakes = tls !== undefined && relay !== undefined ? new TlsHandshakes(relay, tls.handshakeTimeoutMs, open, options) : undefined;
    const acceptLoop = (async () => {
      while (!closed) {
        let conn: DenoConn;
        try {
          conn = await listener.accept();
        } catch (error) {
          // Closing the listener rejects the pending accept (BadResource): the loop ends.
          if (closed || (error instanceof Error && error.name === "BadResource")) return;
          // Anything else (e.g. out of file descriptors): keep accepting after a short pause.
          await new Promise<void>((resolve) => setTimeout(() => resolve(), 50));
          continue;
        }
        if (closed) {
          closeQuietly(conn);
          return;
        }
        if (handshakes !== undefined) handshakes.start(conn);
        else open(conn);
      }
    })();
    const addr = listener.addr;
    return {
      port: options.path !== undefined ? 0 : (addr.port ?? 0),
      host: options.path !== undefined ? "" : (addr.hostname ?? ""),
      ...(options.path !== undefined ? { path: options.path } : {}),
      async close() {
        if (!closed) {
          closed = true;
          closeQuietly(listener);
        }
        // The pending accept rejects promptly once the listener is closed.
        await acceptLoop;
        await handshakes?.close();
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    const runtime = deno();
    const where = options.path ?? `${options.host}:${options.port}`;
    const signal = options.signal;
    const aborted = (): SocketError => new SocketError(`connect to ${where} aborted`, { cause: signal?.reason });
    if (options.localAddress !== undefined || options.localPort !== undefined) {
      throw new UnsupportedError("the deno adapter cannot bind a client socket locally (localAddress, localPort)");
    }
    const tls = options.tls;
    if (tls !== undefined) {
      if (options.path !== undefined) throw new UnsupportedError("tls runs over TCP: not with a Unix socket path");
      checkClientTls(tls, options.host);
    }
    if (signal?.aborted) throw aborted();
    let conn: DenoConn;
    let info: TlsInfo | undefined;
    try {
      if (tls !== undefined) {
        ({ conn, info } = await dialTls(runtime, options, tls, signal));
      } else {
        // Deno cancels a pending TCP connect on `signal`; a Unix connect cannot be cancelled, so
        // it rejects at once and the conn is closed if it completes later.
        conn = await connOrAbort(
          runtime.connect(
            options.path !== undefined
              ? { transport: "unix", path: options.path }
              : { transport: "tcp", hostname: options.host, port: options.port, ...(signal !== undefined ? { signal } : {}) },
          ),
          signal,
        );
      }
    } catch (error) {
      if (signal?.aborted) throw aborted();
      if (error instanceof FramewireError) throw error;
      throw new SocketError(`cannot connect to ${where}: ${message(error)}`, { cause: error });
    }
    try {
      new DenoRawSocket(conn, this.#pacer, info).open(onSocket);
    } catch (error) {
      throw new SocketError(`connection to ${where} failed while opening: ${message(error)}`, { cause: error });
    }
  }
}

