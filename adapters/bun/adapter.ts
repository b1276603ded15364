/**
 * The Bun adapter: the contract on `Bun.listen` / `Bun.connect`.
 *
 * Bun's `write` is unbuffered (one send(2) attempt) and returns what the kernel took, so it maps
 * one-to-one onto the contract and never retains our bytes. `data` chunks are fresh buffers per
 * read, so ownership passes to the core without a copy.
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
import { SocketError } from "../../src/errors.ts";

// Structural view of the Bun APIs used here, so this file type-checks without bun-types.
interface BunSocket {
  data: SocketContext;
  write(data: Uint8Array): number;
  end(): void;
  terminate(): void;
  shutdown(halfClose?: boolean): void;
  pause(): void;
  resume(): void;
  setNoDelay(on?: boolean): boolean;
  setKeepAlive(on?: boolean, initialDelay?: number): boolean;
  readonly remoteAddress: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}
interface BunSocketHandler {
  binaryType: "uint8array";
  open(socket: BunSocket): void;
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  end(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
  connectError?(socket: BunSocket, error: Error): void;
}
interface BunListener {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): void;
}
interface BunRuntime {
  listen(options: Record<string, unknown>): BunListener;
  connect(options: Record<string, unknown>): Promise<BunSocket>;
}

/** Per-socket state kept in Bun's `socket.data`. */
interface SocketContext {
  raw: BunRawSocket | undefined;
  handlers: SocketHandlers | undefined;
  closed: boolean;
  error: Error | undefined;
  onSocket: OnSocket;
}

class BunRawSocket implements RawSocket {
  readonly #socket: BunSocket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(socket: BunSocket) {
    this.#socket = socket;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? "";
    this.localPort = socket.localPort ?? 0;
  }

  write(bytes: Uint8Array): number {
    if (this.#socket.data.closed) return -1;
    return this.#socket.write(bytes);
  }
  end(): void {
    if (!this.#socket.data.closed) this.#socket.shutdown();
  }
  destroy(error?: Error): void {
    const context = this.#socket.data;
    if (context.closed) return;
    if (error !== undefined && context.error === undefined) context.error = error;
    this.#socket.terminate();
  }
  pause(): void {
    if (!this.#socket.data.closed) this.#socket.pause();
  }
  resume(): void {
    if (!this.#socket.data.closed) this.#socket.resume();
  }
  setNoDelay(on: boolean): void {
    this.#socket.setNoDelay(on);
  }
  setKeepAlive(on: boolean, initialDelayMs?: number): void {
    this.#socket.setKeepAlive(on, initialDelayMs === undefined ? undefined : Math.ceil(initialDelayMs / 1000));
  }
}

/** One handler object for all sockets; each socket's own state lives in `socket.data`. */
const handler: BunSocketHandler = {
  binaryType: "uint8array",
  open(socket) {
    const context = socket.data;
    const raw = new BunRawSocket(socket);
    context.raw = raw;
    context.handlers = context.onSocket(raw);
  },
  data(socket, data) {
    socket.data.handlers?.data(data);
  },
  drain(socket) {
    socket.data.handlers?.drain();
  },
  end(socket) {
    socket.data.handlers?.end();
  },
  close(socket, error) {
    const context = socket.data;
    if (context.closed) return;
    context.closed = true;
    context.handlers?.close(error ?? context.error);
  },
  error(socket, error) {
    // Reached only if a core callback threw: a framewire bug. Close that socket, keep the rest.
    const context = socket.data;
    if (context.error === undefined) context.error = error;
    socket.terminate();
  },
  connectError(socket, error) {
    if (socket.data) socket.data.error = error;
  },
};

function bun(): BunRuntime {
  const runtime = (globalThis as unknown as { Bun?: BunRuntime }).Bun;
  if (runtime === undefined) throw new SocketError("the Bun adapter needs the Bun runtime");
  return runtime;
}

/** framewire's sockets on Bun. Stateless: one instance serves any number of servers and clients. */
export class BunAdapter implements SocketAdapter {
  readonly name = "bun" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: false,
    localBind: false,
    unixSockets: true,
    ipv6: true,
    reusePort: true,
    retainsWrites: false,
  };

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    const context = (): SocketContext => ({ raw: undefined, handlers: undefined, closed: false, error: undefined, onSocket });
    let listener: BunListener;
    try {
      // Bun copies `data` per accepted socket from this template object; a getter would be
      // evaluated once, so each socket's context is created in `open` instead.
      listener = bun().listen({
        ...(options.path !== undefined
          ? { unix: options.path }
          : { hostname: options.host, port: options.port, ...(options.reusePort ? { reusePort: true } : {}) }),
        allowHalfOpen: true,
        socket: {
          ...handler,
          open(socket: BunSocket) {
            socket.data = context();
            handler.open(socket);
          },
        },
      });
    } catch (error) {
      throw new SocketError(`cannot listen on ${options.path ?? `${options.host}:${options.port}`}: ${String(error)}`, { cause: error });
    }
    let closed = false;
    return {
      port: options.path !== undefined ? 0 : listener.port,
      host: options.path !== undefined ? "" : listener.hostname,
      ...(options.path !== undefined ? { path: options.path } : {}),
      async close() {
        if (closed) return;
        closed = true;
        listener.stop(false);
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    const context: SocketContext = { raw: undefined, handlers: undefined, closed: false, error: undefined, onSocket };
    const signal = options.signal;
    if (signal?.aborted) throw new SocketError("connect aborted", { cause: signal.reason });
    const pending = bun().connect({
      ...(options.path !== undefined ? { unix: options.path } : { hostname: options.host, port: options.port }),
      allowHalfOpen: true,
      data: context,
      socket: handler,
    });
    let socket: BunSocket;
    try {
      socket = await abortable(pending, signal);
    } catch (error) {
      const where = options.path ?? `${options.host}:${options.port}`;
      if (signal?.aborted) {
        // Bun cannot cancel a pending connect: close it if it ever completes.
        pending.then((late) => late.terminate(), () => {});
        throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
      }
      throw new SocketError(`cannot connect to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (context.handlers === undefined) {
      // Connected but `open` never ran (closed at once): report it as a failure.
      socket.terminate();
      throw new SocketError("connection closed while opening", { cause: context.error });
    }
  }
}
