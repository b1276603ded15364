/**
 * The adapter contract: the one seam between the portable core and a runtime's sockets.
 *
 * It is callback-based because Bun and Node push data; a pull bridge would cost throughput and
 * hide backpressure. Each runtime file in `adapters/` implements {@link SocketAdapter}.
 */
import type { TlsInfo } from "./tls/info.ts";
import type { ClientTlsSettings, ServerTlsSettings, TlsCapabilities } from "./tls/options.ts";

/**
 * Callbacks for one socket. The core returns them from {@link OnSocket} when the socket opens, so
 * the adapter can route each socket's events without a lookup. They are methods of one object:
 * call them on it (`handlers.data(chunk)`), never detached.
 */
export interface SocketHandlers {
  /**
   * Bytes arrived. The adapter hands over ownership: it never reuses or mutates `chunk` afterwards,
   * so the core may keep zero-copy views of it.
   */
  data(chunk: Uint8Array): void;
  /** Bytes the adapter refused earlier (a short `write`) may now be written. */
  drain(): void;
  /**
   * An adapter that {@link AdapterCapabilities.retainsWrites | retains writes} calls this with
   * the exact array it was given by `write` once it holds no reference to any of its bytes (they
   * reached the kernel), so the core may fill that buffer again. Optional for the adapter: a
   * buffer never released is left to the GC.
   */
  released(bytes: Uint8Array): void;
  /**
   * For adapters that read into a buffer they supply (Deno): where the core wants the next bytes
   * read to, or undefined (then read into the adapter's own buffer). Asked before each read; a
   * view of the body of a large frame being received, whose bytes are then delivered with
   * `data(target.subarray(0, n))` and need no copy. Never larger than what that frame still needs.
   */
  readTarget(): Uint8Array | undefined;
  /** The peer finished sending (TCP FIN). The write side stays open until `end()` or `destroy()`. */
  end(): void;
  /** The socket is gone. Called exactly once; `error` is set when it closed because of a failure. */
  close(error?: Error): void;
}

/**
 * Called once per socket, when it is connected and writable, before any other callback. Over
 * TLS: once the TLS handshake is complete and the peer passed every check (chain, name, pins),
 * so the core never sees bytes of a peer TLS refused.
 */
export type OnSocket = (socket: RawSocket) => SocketHandlers;

/** One runtime socket, seen through the contract. */
export interface RawSocket {
  /**
   * Writes as much of `bytes` as the runtime accepts now, without blocking.
   * @returns bytes accepted (0..length), or -1 when the socket is closed. The caller keeps the
   * rest and retries after `drain`; the adapter never loses or reorders bytes it accepted.
   */
  write(bytes: Uint8Array): number;
  /**
   * Half-closes: sends FIN after everything accepted so far. Reading continues until the peer's
   * FIN; once both sides have sent FIN the adapter closes the socket and calls `close`.
   */
  end(): void;
  /** Closes at once; unsent bytes are discarded. `close` follows. */
  destroy(error?: Error): void;
  /** Stops `data` callbacks until `resume()` (backpressure from a slow consumer). */
  pause(): void;
  resume(): void;
  setNoDelay(on: boolean): void;
  setKeepAlive(on: boolean, initialDelayMs?: number): void;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** What TLS negotiated; undefined on a plain TCP socket. */
  readonly tls?: TlsInfo;
}

/** What an adapter can do; an option outside these throws `FW_UNSUPPORTED` instead of being ignored. */
export interface AdapterCapabilities {
  /** The `tls` options this adapter honours on each side, or false for none. */
  readonly tls: TlsCapabilities | false;
  /** `connect` can bind the client socket to `localAddress` / `localPort` before dialling. */
  readonly localBind: boolean;
  readonly unixSockets: boolean;
  readonly ipv6: boolean;
  readonly reusePort: boolean;
  /**
   * True when `write` may keep a reference to the bytes it accepted until they reach the kernel
   * (Node, Deno). The core then reuses a written buffer only after `released`; when false (Bun,
   * which copies what it cannot write at once) it reuses it straight away.
   */
  readonly retainsWrites: boolean;
}

/** Where to listen: a TCP host/port or a Unix domain socket path. */
export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Unix domain socket path; when set, `host` and `port` are ignored. */
  readonly path?: string;
  readonly reusePort?: boolean;
  readonly backlog?: number;
  /** Accept TLS only, with these settings. */
  readonly tls?: ServerTlsSettings;
  /**
   * TLS listeners: called when a TCP connection is accepted, before its TLS handshake starts.
   * False: close it at once (the server's bounds on handshakes in flight). The adapter then calls
   * `onSocket` once the handshake succeeded, or `onRefused` when it failed or timed out.
   */
  readonly admit?: (remoteAddress: string, remotePort: number) => boolean;
  /**
   * A socket failed before `onSocket` (the TLS handshake: a client with a wrong or missing
   * certificate, a plaintext client, a reset, the handshake timeout). The socket is already
   * closed; for the server's counters and its handshakes in flight.
   */
  readonly onRefused?: (error: Error, remoteAddress: string, remotePort: number) => void;
}

/**
 * The part of a web `AbortSignal` an adapter uses, declared here so the shipped types need no
 * DOM lib or @types/node (every runtime's `AbortSignal` fits it).
 */
export interface ConnectSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  /** Aborting closes a pending connect; the adapter then rejects and never calls `open`. */
  readonly signal?: ConnectSignal;
  /** Dial over TLS with these settings (pins included: the adapter refuses a mismatch before `onSocket`). */
  readonly tls?: ClientTlsSettings;
  /** Bind the socket to this local address before dialling (adapters with `localBind`). */
  readonly localAddress?: string;
  /** Bind the socket to this local port before dialling (adapters with `localBind`). */
  readonly localPort?: number;
  /**
   * The interface `localAddress` was resolved from (`connect({ interface })`). Adapters that can
   * also bind the socket to the device (`SO_BINDTODEVICE`: the native one) do, so traffic leaves
   * through it even where routing would choose another link; the others bind the address only.
   */
  readonly interfaceName?: string;
}

/** One address of a network interface, as `networkInterfaces()` lists it. */
export interface InterfaceAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** A bound listening socket. */
export interface Listener {
  /** The bound port (the real one when 0 was asked for); 0 for Unix sockets. */
  readonly port: number;
  readonly host: string;
  readonly path?: string;
  /** Stops accepting. Accepted sockets stay open. Idempotent. */
  close(): Promise<void>;
}

/** A runtime's sockets behind one interface. */
export interface SocketAdapter {
  readonly name: "bun" | "node" | "deno" | "native";
  readonly capabilities: AdapterCapabilities;
  /** Binds and starts accepting; `onSocket` runs for every accepted socket. */
  listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener>;
  /**
   * Connects. `onSocket` runs once connected, before the promise resolves; rejects with a
   * `SocketError` when the connection fails or `signal` aborts it.
   */
  connect(options: ConnectOptions, onSocket: OnSocket): Promise<void>;
  /** The host's network interfaces by name, for `connect({ interface })`; absent where the runtime cannot list them. */
  networkInterfaces?(): Readonly<Record<string, readonly InterfaceAddress[]>>;
}

/**
 * Runs a core handler for an adapter's socket. One that throws (a framewire bug) destroys that
 * socket with its error instead of escaping into the runtime's I/O callback, where it could end the process.
 */
export function callHandler(handlers: SocketHandlers | undefined, fn: (handlers: SocketHandlers) => void, socket: Pick<RawSocket, "destroy">): void {
  if (handlers === undefined) return;
  try {
    fn(handlers);
  } catch (error) {
    socket.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}
