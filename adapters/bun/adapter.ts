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
  InterfaceAddress,
  Listener,
  ListenOptions,
  OnSocket,
  RawSocket,
  SocketAdapter,
  SocketHandlers,
} from "../../src/adapter.ts";
import { abortable } from "../abortable.ts";
import { FramewireError, SocketError } from "../../src/errors.ts";
import type { ClientTlsSettings, ServerTlsSettings } from "../../src/tls/options.ts";
import type { TlsInfo } from "../../src/tls/info.ts";
import { TlsError } from "../../src/tls/errors.ts";
import { BUN_TLS_CAPABILITIES, type BunTlsSocket, bunClientTls, bunServerTls, bunTlsInfo, clientRefusal, handshakeFailure, serverRefusal, sessionFailure } from "./tls.ts";
import { bunInterfaces, dialTarget } from "./bind.ts";

// Structural view of the Bun APIs used here, so this file type-checks without bun-types.
interface BunSocket extends BunTlsSocket {
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
  handshake(socket: BunSocket, success: boolean, authorizationError: Error | null): void;
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

/** A TLS socket's state until `onSocket`: what to check, and who waits for the verdict. */
type TlsPending =
  | { readonly side: "client"; readonly settings: ClientTlsSettings; settle(error?: Error): void }
  | {
      readonly side: "server";
      readonly settings: ServerTlsSettings;
      timer: ReturnType<typeof setTimeout> | undefined;
      readonly onRefused: ListenOptions["onRefused"];
      /** The peer, as `admit` saw it: `onRefused` names it so the server's gate can let it go. */
      readonly remoteAddress: string;
      readonly remotePort: number;
    };

/** Per-socket state kept in Bun's `socket.data`. */
interface SocketContext {
  raw: BunRawSocket | undefined;
  handlers: SocketHandlers | undefined;
  closed: boolean;
  error: Error | undefined;
  onSocket: OnSocket;
  /** Set on TLS sockets until the handshake is judged (then undefined). */
  tls: TlsPending | undefined;
  /** A refused client closed gracefully: the deadline for it to close its side too. */
  linger?: ReturnType<typeof setTimeout>;
}

/** How long a refused TLS client may take to close after our FIN before it is reset. */
const REFUSED_LINGER_MS = 2000;

class BunRawSocket implements RawSocket {
  readonly #socket: BunSocket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: TlsInfo | undefined;

  constructor(socket: BunSocket, tls?: TlsInfo) {
    this.#socket = socket;
    this.tls = tls;
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
    const pending = context.tls;
    if (pending === undefined) {
      hand(socket, undefined);
      return;
    }
    // TLS: `handshake` follows; a server bounds how long it may take (the core has no connection to time yet).
    if (pending.side === "server") {
      pending.timer = setTimeout(() => {
        refuse(socket, new TlsError(`TLS handshake not complete within ${pending.settings.handshakeTimeoutMs} ms`));
      }, pending.settings.handshakeTimeoutMs);
    }
  },
  handshake(socket, success, authorizationError) {
    const context = socket.data;
    const pending = context.tls;
    if (pending === undefined || context.closed) return;
    const info = bunTlsInfo(socket, authorizationError);
    const refusal = pending.side === "client" ? clientRefusal(pending.settings, info, success, authorizationError) : serverRefusal(pending.settings, info, success, authorizationError);
    if (refusal !== undefined) {
      refuse(socket, refusal, pending.side === "server");
      return;
    }
    context.tls = undefined;
    if (pending.side === "server") clearTimeout(pending.timer);
    hand(socket, info);
    if (pending.side === "client") pending.settle();
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
    clearTimeout(context.linger);
    if (context.closed) return;
    context.closed = true;
    if (context.tls !== undefined) {
      // Closed before the handshake was judged: a refusal (or a failed handshake) nobody saw yet.
      const ours = context.error instanceof FramewireError ? context.error : undefined;
      settleRefused(context, ours ?? handshakeFailure(error ?? context.error, context.tls.side === "client" ? "with the server" : "with a client"));
      return;
    }
    const failure = error ?? context.error;
    context.handlers?.close(context.raw?.tls !== undefined ? sessionFailure(failure) : failure);
  },
  error(socket, error) {
    // A core callback threw (a framewire bug), or an established TLS session failed (a bad
    // record, a fatal alert). Close that socket, keep the rest.
    const context = socket.data;
    if (context.error === undefined) context.error = error;
    socket.terminate();
  },
  connectError(socket, error) {
    if (socket.data) socket.data.error = error;
  },
};

/** Hands a socket, ready for framewire bytes, to the core. */
function hand(socket: BunSocket, info: TlsInfo | undefined): void {
  const context = socket.data;
  const raw = new BunRawSocket(socket, info);
  context.raw = raw;
  context.handlers = context.onSocket(raw);
}

/**
 * Drops a TLS socket before `onSocket`: the client's connect rejects, a server reports it to
 * `onRefused`. A server refusing a client whose handshake completed (TLS 1.3 checks the client
 * certificate after it) closes with close_notify and FIN, not a reset: that client may have sent
 * its HELLO already, and unread bytes would turn a close into an RST, which it could not tell
 * from a network failure.
 */
function refuse(socket: BunSocket, error: Error, graceful = false): void {
  const context = socket.data;
  context.error = error; // the verdict, over whatever Bun reported on the way
  if (graceful) {
    socket.end();
    context.linger = setTimeout(() => socket.terminate(), REFUSED_LINGER_MS);
  } else {
    socket.terminate();
  }
  if (!context.closed) {
    context.closed = true;
    settleRefused(context, error);
  }
}

function settleRefused(context: SocketContext, error: Error): void {
  const pending = context.tls;
  context.tls = undefined;
  if (pending === undefined) return;
  if (pending.side === "client") {
    pending.settle(error);
  } else {
    clearTimeout(pending.timer);
    pending.onRefused?.(error, pending.remoteAddress, pending.remotePort);
  }
}

function bun(): BunRuntime {
  const runtime = (globalThis as unknown as { Bun?: BunRuntime }).Bun;
  if (runtime === undefined) throw new SocketError("the Bun adapter needs the Bun runtime");
  return runtime;
}

/** framewire's sockets on Bun. Stateless: one instance serves any number of servers and clients. */
export class BunAdapter implements SocketAdapter {
  readonly name = "bun" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: BUN_TLS_CAPABILITIES,
    localBind: true,
    unixSockets: true,
    ipv6: true,
    reusePort: true,
    retainsWrites: false,
  };

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    const tls = options.tls;
    const { onRefused, admit } = options;
    const context = (socket: BunSocket): SocketContext => ({
      raw: undefined,
      handlers: undefined,
      closed: false,
      error: undefined,
      onSocket,
      tls:
        tls === undefined
          ? undefined
          : { side: "server", settings: tls, timer: undefined, onRefused, remoteAddress: socket.remoteAddress ?? "", remotePort: socket.remotePort ?? 0 },
    });
    let listener: BunListener;
    try {
      // Bun copies `data` per accepted socket from this template object; a getter would be
      // evaluated once, so each socket's context is created in `open` instead.
      listener = bun().listen({
        ...(options.path !== undefined
          ? { unix: options.path }
          : { hostname: options.host, port: options.port, ...(options.reusePort ? { reusePort: true } : {}) }),
        ...(tls !== undefined ? { tls: bunServerTls(tls) } : {}),
        allowHalfOpen: true,
        socket: {
          ...handler,
          open(socket: BunSocket) {
            const fresh = context(socket);
            socket.data = fresh;
            // TLS: the server's bound on handshakes in flight, before the ClientHello costs a key exchange.
            if (fresh.tls?.side === "server" && admit?.(fresh.tls.remoteAddress, fresh.tls.remotePort) === false) {
              fresh.tls = undefined; // not admitted, so nothing to report
              fresh.closed = true;
              socket.terminate();
              return;
            }
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
    const context: SocketContext = { raw: undefined, handlers: undefined, closed: false, error: undefined, onSocket, tls: undefined };
    const signal = options.signal;
    if (signal?.aborted) throw new SocketError("connect aborted", { cause: signal.reason });
    const where = options.path ?? `${options.host}:${options.port}`;
    const tls = options.tls;
    let verdict: Promise<void> | undefined;
    if (tls !== undefined) {
      verdict = new Promise<void>((resolve, reject) => {
        context.tls = { side: "client", settings: tls, settle: (error) => (error === undefined ? resolve() : reject(error)) };
      });
      verdict.catch(() => {}); // awaited below; may settle before that
    }
    const target = options.path !== undefined ? { unix: options.path } : await dialTarget(options, signal);
    let pending: Promise<BunSocket>;
    try {
      pending = bun().connect({
        ...target,
        ...(tls !== undefined ? { tls: bunClientTls(tls) } : {}),
        allowHalfOpen: true,
        data: context,
        socket: handler,
      });
    } catch (error) {
      // Thrown before any I/O: TLS material Bun cannot load (a wrong passphrase, a bad key).
      throw new SocketError(`cannot connect to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    let socket: BunSocket;
    try {
      socket = await abortable(pending, signal);
    } catch (error) {
      if (signal?.aborted) {
        // Bun cannot cancel a pending connect: close it if it ever completes.
        pending.then((late) => late.terminate(), () => {});
        throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
      }
      throw new SocketError(`cannot connect to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (verdict !== undefined) {
      try {
        await abortable(verdict, signal);
      } catch (error) {
        if (signal?.aborted) {
          socket.terminate();
          throw new SocketError(`connect to ${where} aborted during the TLS handshake`, { cause: signal.reason });
        }
        throw error;
      }
    }
    if (context.handlers === undefined) {
      // Connected but `open` never ran (closed at once): report it as a failure.
      socket.terminate();
      throw new SocketError("connection closed while opening", { cause: context.error });
    }
  }

  networkInterfaces(): Readonly<Record<string, readonly InterfaceAddress[]>> {
    return bunInterfaces();
  }
}
