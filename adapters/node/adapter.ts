/**
 * The Node adapter: the contract on `node:net` (`net.createServer` / `net.connect`).
 *
 * Node's `socket.write` always takes the bytes: it buffers internally and keeps a reference to
 * them until they reach the kernel, then calls the write's callback. So `write` accepts
 * everything, reports `retainsWrites`, and hands each array back to the core (`released`) from
 * that callback; the core counts what Node holds against its own `highWaterMark` and
 * `maxBufferedBytes`, so Node's buffer is bounded by them (Node's own mark and `'drain'` are not
 * needed). `'data'` chunks are fresh buffers per read, so
 * ownership passes to the core without a copy. Sockets are half-open (`allowHalfOpen`): the core
 * decides when to send FIN.
 */
import * as net from "node:net";
import {
  type AdapterCapabilities,
  callHandler,
  type ConnectOptions,
  type InterfaceAddress,
  type Listener,
  type ListenOptions,
  type OnSocket,
  type RawSocket,
  type SocketAdapter,
  type SocketHandlers,
} from "../../src/adapter.ts";
import { SocketError, UnsupportedError } from "../../src/errors.ts";
import { TlsError } from "../../src/tls/errors.ts";
import type { TlsInfo } from "../../src/tls/info.ts";
import { networkInterfaces } from "./interfaces.ts";
import { clientOptions, clientRefusal, connectTls, createTlsServer, NODE_TLS, type NodeTlsSocket, serverOptions, tlsFailure, tlsInfo } from "./tls.ts";

// Structural view of the `node:net` APIs used here, so this file type-checks without @types/node.
interface NodeSocket {
  write(data: Uint8Array, callback: (error?: Error | null) => void): boolean;
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  setNoDelay(noDelay?: boolean): void;
  setKeepAlive(enable?: boolean, initialDelayMs?: number): void;
  on(event: "data", listener: (chunk: Uint8Array) => void): void;
  on(event: "end" | "connect" | "secureConnect", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  on(event: "close", listener: (hadError: boolean) => void): void;
  removeListener(event: "connect" | "secureConnect", listener: () => void): void;
  removeListener(event: "error", listener: (error: Error) => void): void;
  readonly destroyed: boolean;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}
export interface NodeServer {
  listen(options: Record<string, unknown>, callback: () => void): void;
  address(): { address: string; port: number } | string | null;
  close(): void;
  on(event: "connection" | "secureConnection", listener: (socket: NodeSocket) => void): void;
  on(event: "tlsClientError", listener: (error: Error, socket: NodeSocket) => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  once(event: "error", listener: (error: Error) => void): void;
  removeListener(event: "error", listener: (error: Error) => void): void;
}
const createServer = net.createServer as unknown as (options: { allowHalfOpen: boolean }) => NodeServer;
const connectSocket = net.connect as unknown as (options: Record<string, unknown>) => NodeSocket;

/** `listen({ reusePort })` exists from Node 22.12 and 23.1 (not in Bun's or Deno's `node:net`). */
function nodeHasReusePort(): boolean {
  const versions = (globalThis as { process?: { versions?: Record<string, string | undefined> } }).process?.versions;
  const node = versions?.node;
  if (node === undefined || versions?.bun !== undefined || versions?.deno !== undefined) return false;
  const [major = 0, minor = 0] = node.split(".").map(Number);
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A TLS server's sockets before `secureConnection`: admitted at TCP accept (the server's bound on
 * handshakes in flight), and every way their handshake can end reported once to `onRefused` —
 * an alert, Node's handshake timeout (Node leaves that socket open: destroyed here), or a close
 * before any of these (a client that resets before its ClientHello gets no `tlsClientError`).
 * Node sends a failed handshake's alert and closes it itself; destroying it sooner would cut the alert.
 */
interface PendingHandshake {
  readonly address: string;
  readonly port: number;
  settled: boolean;
}
/** Keyed by the TCP socket; a server-side TLSSocket names it as `_parent` (node:tls since v0.11). */
const pendingHandshakes = new WeakMap<object, PendingHandshake>();

function pendingOf(socket: NodeSocket): PendingHandshake | undefined {
  return pendingHandshakes.get((socket as unknown as { _parent?: object })._parent ?? socket);
}

function handshakeDone(socket: NodeSocket): void {
  const pending = pendingOf(socket);
  if (pending !== undefined) pending.settled = true;
}

function watchTlsHandshakes(server: NodeServer, options: ListenOptions): void {
  const refuse = (pending: PendingHandshake, error: Error): void => {
    if (pending.settled) return;
    pending.settled = true;
    options.onRefused?.(error, pending.address, pending.port);
  };
  server.on("connection", (raw) => {
    const pending: PendingHandshake = { address: raw.remoteAddress ?? "", port: raw.remotePort ?? 0, settled: false };
    if (options.admit?.(pending.address, pending.port) === false) {
      raw.destroy();
      return;
    }
    pendingHandshakes.set(raw, pending);
    raw.on("close", () => refuse(pending, new TlsError("the connection closed during the TLS handshake")));
  });
  server.on("tlsClientError", (error, socket) => {
    if ((error as { code?: unknown }).code === "ERR_TLS_HANDSHAKE_TIMEOUT") socket.destroy();
    const pending = pendingOf(socket);
    const failure = tlsFailure(error);
    if (pending !== undefined) refuse(pending, failure instanceof TlsError ? failure : new TlsError(`TLS handshake failed: ${error.message}`, { cause: error }));
  });
}

class NodeRawSocket implements RawSocket {
  readonly #socket: NodeSocket;
  #handlers: SocketHandlers | undefined;
  /** Arrays given to Node's `write` whose callback has not come yet, oldest first. */
  readonly #held: Uint8Array[] = [];
  /**
   * One callback for every write: Node calls them in order once each chunk reached the kernel,
   * so the oldest held array is the one done, and the core may fill its buffer again.
   */
  readonly #onWritten = (error?: Error | null): void => {
    const bytes = this.#held.shift();
    if (bytes === undefined || error) return;
    this.#call((handlers) => handlers.released(bytes));
  };
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: TlsInfo | undefined;

  constructor(socket: NodeSocket, tls?: TlsInfo) {
    this.#socket = socket;
    this.tls = tls;
    this.remoteAddress = socket.remoteAddress ?? "";
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? "";
    this.localPort = socket.localPort ?? 0;
  }

  /** Routes the socket's events to the core. Throws what `onSocket` throws (the socket is then destroyed). */
  open(onSocket: OnSocket): void {
    const socket = this.#socket;
    socket.on("data", (chunk) => {
      // A plain Uint8Array view of Node's fresh Buffer: same bytes, no copy, and `slice` copies
      // as on every other runtime.
      this.#call((handlers) => handlers.data(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
    });
    // After an error only 'close' matters: an 'end' that follows a TLS alert is not a clean FIN.
    socket.on("end", () => this.#error === undefined && this.#call((handlers) => handlers.end()));
    socket.on("error", (error) => {
      // Node destroys the socket after 'error'; 'close' follows and reports it. Over TLS 1.3 a
      // server refuses a client certificate after the client's handshake is done: that alert
      // arrives here, and is a TLS failure, not a socket one.
      if (this.#error === undefined) this.#error = this.tls !== undefined ? tlsFailure(error) : error;
      // A TLS alert on a half-open socket leaves it open ('end', no 'close'): finish it.
      socket.destroy();
    });
    socket.on("close", () => {
      if (this.#closed) return;
      this.#closed = true;
      const handlers = this.#handlers;
      if (handlers === undefined) return;
      try {
        handlers.close(this.#error);
      } catch {
        // Nothing left to close; a throwing core callback must not become an uncaught exception.
      }
    });
    try {
      this.#handlers = onSocket(this);
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  write(bytes: Uint8Array): number {
    if (this.#closed || this.#ended || this.#socket.destroyed) return -1;
    this.#held.push(bytes);
    this.#socket.write(bytes, this.#onWritten);
    return bytes.length;
  }
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#socket.end();
  }
  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined && this.#error === undefined) this.#error = error;
    // Without an argument: the error is ours to report through 'close', not an 'error' event.
    this.#socket.destroy();
  }
  pause(): void {
    if (!this.#closed) this.#socket.pause();
  }
  resume(): void {
    if (!this.#closed) this.#socket.resume();
  }
  setNoDelay(on: boolean): void {
    if (!this.#closed) this.#socket.setNoDelay(on);
  }
  setKeepAlive(on: boolean, initialDelayMs?: number): void {
    if (!this.#closed) this.#socket.setKeepAlive(on, initialDelayMs ?? 0);
  }

  /** Calls a core handler; one that throws (a framewire bug) closes this socket, not the process. */
  #call(fn: (handlers: SocketHandlers) => void): void {
    if (!this.#closed) callHandler(this.#handlers, fn, this);
  }
}

/** framewire's sockets on Node's net module. Stateless: one instance serves any number of servers and clients. */
export class NodeAdapter implements SocketAdapter {
  readonly name = "node" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: NODE_TLS,
    localBind: true,
    unixSockets: true,
    ipv6: true,
    reusePort: nodeHasReusePort(),
    retainsWrites: true,
  };

  networkInterfaces(): Readonly<Record<string, readonly InterfaceAddress[]>> {
    return networkInterfaces();
  }

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    if (options.reusePort && !this.capabilities.reusePort) {
      throw new UnsupportedError("reusePort needs Node 22.12+ or 23.1+ with the node adapter");
    }
    const where = options.path ?? `${options.host}:${options.port}`;
    const tlsSettings = options.tls;
    const server = tlsSettings === undefined ? createServer({ allowHalfOpen: true }) : (createTlsServer({ ...serverOptions(tlsSettings), allowHalfOpen: true }) as NodeServer);
    server.on(tlsSettings === undefined ? "connection" : "secureConnection", (socket) => {
      if (tlsSettings !== undefined) handshakeDone(socket);
      try {
        new NodeRawSocket(socket, tlsSettings === undefined ? undefined : tlsInfo(socket as unknown as NodeTlsSocket)).open(onSocket);
      } catch {
        // onSocket threw (a framewire bug): that socket is destroyed, the server keeps accepting.
      }
    });
    if (tlsSettings !== undefined) watchTlsHandshakes(server, options);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(new SocketError(`cannot listen on ${where}: ${message(error)}`, { cause: error }));
      server.once("error", onError);
      server.listen(
        {
          ...(options.path !== undefined
            ? { path: options.path }
            : { host: options.host, port: options.port, ...(options.reusePort ? { reusePort: true } : {}) }),
          ...(options.backlog !== undefined ? { backlog: options.backlog } : {}),
        },
        () => {
          server.removeListener("error", onError);
          resolve();
        },
      );
    });
    // Errors after binding (e.g. EMFILE on accept) must not crash the process; Node keeps listening.
    server.on("error", () => {});
    const address = server.address();
    let closing: Promise<void> | undefined;
    return {
      port: options.path !== undefined || address === null || typeof address === "string" ? 0 : address.port,
      host: options.path !== undefined || address === null || typeof address === "string" ? "" : address.address,
      ...(options.path !== undefined ? { path: options.path } : {}),
      close() {
        // server.close() closes the listening handle at once; its callback and 'close' event wait
        // for every accepted socket, which the contract leaves open. So do not wait for them:
        // resolve on the next macrotask, once libuv has let go of the handle.
        closing ??= new Promise<void>((resolve) => {
          try {
            server.close();
          } catch {
            // Not listening any more: nothing to close.
          }
          setTimeout(resolve, 0);
        });
        return closing;
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    const where = options.path ?? `${options.host}:${options.port}`;
    const signal = options.signal;
    if (signal?.aborted) throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
    const tlsSettings = options.tls;
    const target = {
      ...(options.path !== undefined ? { path: options.path } : { host: options.host, port: options.port }),
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      allowHalfOpen: true,
    };
    const socket = tlsSettings === undefined ? connectSocket(target) : (connectTls({ ...clientOptions(tlsSettings), ...target }) as NodeSocket);
    const connected = tlsSettings === undefined ? "connect" : "secureConnect";
    await new Promise<void>((resolve, reject) => {
      const cleanup = (): void => {
        socket.removeListener(connected, onConnect);
        socket.removeListener("error", onError);
        signal?.removeEventListener("abort", onAbort);
      };
      const onConnect = (): void => {
        cleanup();
        const info = tlsSettings === undefined ? undefined : tlsInfo(socket as unknown as NodeTlsSocket);
        const refusal = info === undefined || tlsSettings === undefined ? undefined : clientRefusal(info, tlsSettings);
        if (refusal !== undefined) {
          socket.on("error", () => {});
          socket.destroy();
          reject(refusal);
          return;
        }
        try {
          new NodeRawSocket(socket, info).open(onSocket);
          resolve();
        } catch (error) {
          reject(new SocketError(`connection to ${where} failed while opening: ${message(error)}`, { cause: error }));
        }
      };
      const onError = (error: Error): void => {
        cleanup();
        socket.destroy();
        const failure = tlsSettings === undefined ? error : tlsFailure(error);
        reject(failure instanceof TlsError ? failure : new SocketError(`cannot connect to ${where}: ${message(error)}`, { cause: error }));
      };
      const onAbort = (): void => {
        cleanup();
        // A late error from the half-open attempt has nobody to report to.
        socket.on("error", () => {});
        socket.destroy();
        reject(new SocketError(`connect to ${where} aborted`, { cause: signal?.reason }));
      };
      socket.on(connected, onConnect);
      socket.on("error", onError);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
