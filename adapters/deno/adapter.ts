/**
 * The Deno adapter: the contract on `Deno.listen` / `Deno.connect`.
 *
 * Deno's `conn.write` is async and may write part of its buffer, so the adapter keeps one write
 * op in flight and a short queue behind it: `write` takes whole buffers while less than
 * `WRITE_QUEUE_MARK` waits (we hold the references, hence `retainsWrites`), takes nothing (0)
 * past it, and calls `drain` once the loop has written everything. Reads go into buffers whose
 * ownership passes to the core; a paused
 * socket has no read in flight. Every async op settles before `close` is called, so nothing is
 * left pending once a connection reports closed (Deno's test sanitizers hold).
 */
import type {
  AdapterCapabilities,
  ConnectOptions,
  Listener,
  ListenOptions,
  OnSocket,
  RawSocket,
  SocketAdapter,
  SocketHandlers,
} from "../../src/adapter.ts";
import { abortable } from "../abortable.ts";
import { SocketError, UnsupportedError } from "../../src/errors.ts";

// Structural view of the Deno APIs used here, so this file type-checks without Deno's lib.
interface DenoAddr {
  readonly transport: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: string;
}
interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  /** TCP only. */
  setNoDelay?(noDelay?: boolean): void;
  /** TCP only. */
  setKeepAlive?(keepAlive?: boolean): void;
}
interface DenoListener {
  accept(): Promise<DenoConn>;
  close(): void;
  readonly addr: DenoAddr;
}
interface DenoRuntime {
  listen(options: Record<string, unknown>): DenoListener;
  connect(options: Record<string, unknown>): Promise<DenoConn>;
  readonly build: { readonly os: string };
  /** Present only with `--unstable-net`, which `Deno.listen({ reusePort })` also needs. */
  readonly listenDatagram?: unknown;
}

/** `globalThis.Deno`, if this is Deno. Through `unknown`: under Deno's own lib the types differ. */
function denoOrUndefined(): DenoRuntime | undefined {
  return (globalThis as unknown as { Deno?: DenoRuntime }).Deno;
}

function deno(): DenoRuntime {
  const runtime = denoOrUndefined();
  if (runtime === undefined) throw new SocketError("the Deno adapter needs the Deno runtime");
  return runtime;
}

/**
 * `reusePort` takes effect on Linux only (Deno silently ignores it elsewhere), and Deno exits the
 * process (code 70) when it is used without `--unstable-net`; `listenDatagram` shows that flag.
 */
function denoHasReusePort(): boolean {
  const runtime = denoOrUndefined();
  return runtime?.build.os === "linux" && typeof runtime.listenDatagram === "function";
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Read buffer sizes. A connection starts small (idle connections hold little) and doubles its
 * buffer while reads fill it, up to the maximum: each read is an async op, so a busy stream wants
 * few, large reads. A read shorter than {@link COPY_BELOW} is copied out and the buffer reused;
 * a longer one hands the buffer to the core and a new one is allocated.
 */
const READ_SIZE_MIN = 16 * 1024;
/** `write` takes bytes while less than this is waiting for the write loop (like Node's buffer mark). */
const WRITE_QUEUE_MARK = 256 * 1024;
const READ_SIZE_MAX = 256 * 1024;
const COPY_BELOW = 8 * 1024;

class DenoRawSocket implements RawSocket {
  readonly #conn: DenoConn;
  #handlers: SocketHandlers | undefined;
  /** `conn.close()` was called: no more callbacks except the final `close`. */
  #closed = false;
  /** `close` was delivered. */
  #finished = false;
  #error: Error | undefined;
  /** The read loop is running (possibly waiting for `resume`). */
  #reading = false;
  /** The peer's FIN was read. */
  #readEnded = false;
  #paused = false;
  #wake: (() => void) | undefined;
  /** A write loop is in flight. */
  #writing = false;
  /** Buffers taken by `write` and not yet written, in order (the write loop drains them). */
  readonly #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  /** A `write` was refused while busy: `drain` is owed when the write completes. */
  #refused = false;
  #endRequested = false;
  /** `closeWrite` is in flight. */
  #shutting = false;
  /** Our FIN was sent. */
  #writeShut = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(conn: DenoConn) {
    this.#conn = conn;
    this.remoteAddress = conn.remoteAddr.hostname ?? "";
    this.remotePort = conn.remoteAddr.port ?? 0;
    this.localAddress = conn.localAddr.hostname ?? "";
    this.localPort = conn.localAddr.port ?? 0;
  }

  /** Hands the socket to the core and starts reading. Throws what `onSocket` throws (the conn is then closed). */
  open(onSocket: OnSocket): void {
    try {
      this.#handlers = onSocket(this);
    } catch (error) {
      this.#closed = true;
      this.#finished = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
      throw error;
    }
    void this.#readLoop();
  }

  write(bytes: Uint8Array): number {
    if (this.#closed || this.#endRequested) return -1;
    if (bytes.length === 0) return 0;
    if (this.#queuedBytes >= WRITE_QUEUE_MARK) {
      this.#refused = true;
      return 0;
    }
    // Taken as a whole: the write loop goes on to the next buffer without a round trip through
    // the core, so the socket is not left idle between two of its async writes.
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    if (!this.#writing) {
      this.#writing = true;
      void this.#writeLoop();
    }
    return bytes.length;
  }

  end(): void {
    if (this.#closed || this.#endRequested) return;
    this.#endRequested = true;
    if (!this.#writing) void this.#shutdown();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.#closed = true;
    try {
      // Pending read, write and closeWrite ops reject; each loop then settles and `close` follows.
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#wakeUp();
    this.#maybeFinish();
  }

  pause(): void {
    if (!this.#closed) this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wakeUp();
  }

  setNoDelay(on: boolean): void {
    if (this.#closed) return;
    try {
      this.#conn.setNoDelay?.(on);
    } catch {
      // Not a TCP socket, or already gone.
    }
  }

  /** Deno cannot set the initial delay: keepalive uses the system's. */
  setKeepAlive(on: boolean, _initialDelayMs?: number): void {
    if (this.#closed) return;
    try {
      this.#conn.setKeepAlive?.(on);
    } catch {
      // Not a TCP socket, or already gone.
    }
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    let buffer = new Uint8Array(READ_SIZE_MIN);
    try {
      while (!this.#closed) {
        if (this.#paused) {
          await this.#waitForResume();
          continue;
        }
        let n: number | null;
        try {
          n = await this.#conn.read(buffer);
        } catch (error) {
          if (!this.#closed) this.#fail(error);
          return;
        }
        if (n === 0) continue;
        let chunk: Uint8Array | undefined;
        if (n !== null) {
          const size = n === buffer.length ? Math.min(buffer.length * 2, READ_SIZE_MAX) : n < COPY_BELOW ? READ_SIZE_MIN : buffer.length;
          if (n < COPY_BELOW) {
            chunk = buffer.slice(0, n);
            if (size !== buffer.length) buffer = new Uint8Array(size);
          } else {
            chunk = buffer.subarray(0, n);
            buffer = new Uint8Array(size);
          }
        }
        // A pause that came while the read was in flight holds what it returned until resume.
        while (this.#paused && !this.#closed) await this.#waitForResume();
        if (this.#closed) return;
        if (chunk !== undefined) {
          this.#call((handlers) => handlers.data(chunk));
          continue;
        }
        this.#readEnded = true;
        this.#call((handlers) => handlers.end());
        // Both sides have sent FIN: the socket is done.
        if (this.#writeShut) this.destroy();
        return;
      }
    } finally {
      this.#reading = false;
      this.#maybeFinish();
    }
  }

  async #writeLoop(): Promise<void> {
    try {
      for (let bytes = this.#queue.shift(); bytes !== undefined && !this.#closed; bytes = this.#queue.shift()) {
        let offset = 0;
        while (offset < bytes.length && !this.#closed) {
          offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
        }
        this.#queuedBytes -= bytes.length;
      }
    } catch (error) {
      if (!this.#closed) this.#fail(error);
    }
    this.#writing = false;
    if (this.#closed) {
      this.#maybeFinish();
      return;
    }
    if (this.#endRequested) {
      void this.#shutdown();
      return;
    }
    if (this.#refused) {
      this.#refused = false;
      this.#call((handlers) => handlers.drain());
    }
  }

  async #shutdown(): Promise<void> {
    this.#shutting = true;
    try {
      await this.#conn.closeWrite();
      this.#writeShut = true;
    } catch (error) {
      if (!this.#closed) this.#fail(error);
    }
    this.#shutting = false;
    if (this.#closed) {
      this.#maybeFinish();
      return;
    }
    // Both sides have sent FIN: the socket is done.
    if (this.#readEnded) this.destroy();
  }

  #fail(error: unknown): void {
    this.destroy(asError(error));
  }

  #waitForResume(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Delivers `close` once the conn is closed and every op on it has settled. */
  #maybeFinish(): void {
    if (!this.#closed || this.#finished || this.#reading || this.#writing || this.#shutting) return;
    this.#finished = true;
    const handlers = this.#handlers;
    const error = this.#error;
    if (handlers === undefined) return;
    // Never from inside destroy(): the core may be mid-call.
    queueMicrotask(() => {
      try {
        handlers.close(error);
      } catch {
        // Nothing left to close.
      }
    });
  }

  /** Calls a core handler; one that throws (a framewire bug) closes this socket. */
  #call(fn: (handlers: SocketHandlers) => void): void {
    const handlers = this.#handlers;
    if (handlers === undefined || this.#closed) return;
    try {
      fn(handlers);
    } catch (error) {
      this.destroy(asError(error));
    }
  }
}

/** framewire's sockets on Deno. Stateless: one instance serves any number of servers and clients. */
export class DenoAdapter implements SocketAdapter {
  readonly name = "deno" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: false,
    unixSockets: denoOrUndefined()?.build.os !== "windows",
    ipv6: true,
    reusePort: denoHasReusePort(),
    retainsWrites: true,
  };

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
          new DenoRawSocket(conn).open(onSocket);
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
      new DenoRawSocket(conn).open(onSocket);
    } catch (error) {
      throw new SocketError(`connection to ${where} failed while opening: ${message(error)}`, { cause: error });
    }
  }
}
