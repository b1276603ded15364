/**
 * The Deno adapter: the contract on `Deno.listen` / `Deno.connect`.
 *
 * Deno's `conn.write` is async and may write part of its buffer, so the adapter keeps one write
 * op in flight and a queue behind it: `write` takes whole buffers (Deno reads them from our
 * memory, hence `retainsWrites`) and hands each back to the core (`released`) once its op has
 * settled; the core counts what we hold against its own bounds. A read that fills most of its
 * buffer hands that buffer to the core; a shorter one is copied out, so a chunk never pins much
 * more than its bytes. A paused socket has no read in flight. Both loops give the event loop a
 * turn when they have kept it busy (`Pacer`). Every async op, turns included, settles before
 * `close` is called, so nothing is left pending once a connection reports closed (Deno's test
 * sanitizers hold).
 */
import type { AdapterCapabilities, ConnectOptions, Listener, ListenOptions, OnSocket, SocketAdapter } from "../../src/adapter.ts";
import { SocketError, UnsupportedError } from "../../src/errors.ts";
import { abortable } from "../abortable.ts";
import { Pacer } from "./pacer.ts";
import { type DenoConn, type DenoListener, deno, denoHasReusePort, denoOrUndefined, message } from "./runtime.ts";
import { DenoRawSocket } from "./socket.ts";

/**
 * framewire's sockets on Deno. One instance serves any number of servers and clients; its only
 * state is the pacer their sockets share.
 */
export class DenoAdapter implements SocketAdapter {
  readonly name = "deno" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: false,
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
    const where = options.path ?? `${options.host}:${options.port}`;
    let listener: DenoListener;
    try {
      listener = runtime.listen(
        options.path !== undefined
          ? { transport: "unix", path: options.path }
          : {
              transport: "tcp",
              hostname: options.host,
              port: options.port,
              ...(options.reusePort ? { reusePort: true } : {}),
              ...(options.backlog !== undefined ? { tcpBacklog: options.backlog } : {}),
            },
      );
    } catch (error) {
      throw new SocketError(`cannot listen on ${where}: ${message(error)}`, { cause: error });
    }
    let closed = false;
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
          try {
            conn.close();
          } catch {
            // Already closed.
          }
          return;
        }
        try {
          new DenoRawSocket(conn, this.#pacer).open(onSocket);
        } catch {
          // onSocket threw (a framewire bug): that conn is closed, the listener keeps accepting.
        }
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
          try {
            listener.close();
          } catch {
            // Already closed.
          }
        }
        // The pending accept rejects promptly once the listener is closed.
        await acceptLoop;
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    const runtime = deno();
    const where = options.path ?? `${options.host}:${options.port}`;
    const signal = options.signal;
    const aborted = (): SocketError => new SocketError(`connect to ${where} aborted`, { cause: signal?.reason });
    if (signal?.aborted) throw aborted();
    // Deno cancels a pending TCP connect on `signal`; a Unix connect cannot be cancelled, so
    // abortable() rejects at once and closes the conn if it completes later.
    const pending = runtime.connect(
      options.path !== undefined
        ? { transport: "unix", path: options.path }
        : { transport: "tcp", hostname: options.host, port: options.port, ...(signal !== undefined ? { signal } : {}) },
    );
    let conn: DenoConn;
    try {
      conn = await abortable(pending, signal);
    } catch (error) {
      if (signal?.aborted) {
        pending.then(
          (late) => {
            try {
              late.close();
            } catch {
              // Already closed.
            }
          },
          () => {},
        );
        throw aborted();
      }
      throw new SocketError(`cannot connect to ${where}: ${message(error)}`, { cause: error });
    }
    try {
      new DenoRawSocket(conn, this.#pacer).open(onSocket);
    } catch (error) {
      throw new SocketError(`connection to ${where} failed while opening: ${message(error)}`, { cause: error });
    }
  }
}

