import type { SocketAdapter } from "./adapter.ts";
import { resolveCodec } from "./codec/index.ts";
import {
  type CloseInfo,
  Connection,
  type ConnectionEvents,
  type ConnectionStats,
  type SendStatus,
} from "./connection.ts";
import { TypedEmitter } from "./emitter.ts";
import { ConnectTimeoutError, InvalidOptionError, toFramewireError, UnsupportedError } from "./errors.ts";
import { type ConnectionOptions, count, resolveConnectionOptions } from "./options.ts";

export interface ClientOptions<T = unknown> extends ConnectionOptions<T> {
  /**
   * Host to connect to (loopback by default).
   * @default "127.0.0.1"
   */
  host?: string;
  /** Port to connect to. Required unless `path` is set. */
  port?: number;
  /** Connect to a Unix domain socket at this path instead of TCP. */
  path?: string;
  /**
   * Time allowed for the TCP connection to open; `FW_CONNECT_TIMEOUT` after it.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /** framewire only: your application's version string, sent in HELLO for `verifyHandshake`. */
  app?: string;
}

/** Events forwarded from the current connection. */
const FORWARDED = ["drain", "drop", "goaway", "end", "error", "close"] as const;

/**
 * A client connection. It wraps one {@link Connection} and forwards its events and methods, so
 * reconnection can later swap the connection underneath without the user's listeners noticing.
 */
export class Client<T = Uint8Array> extends TypedEmitter<ConnectionEvents<T>> implements AsyncIterable<T> {
  readonly adapter: SocketAdapter;
  readonly #connection: Connection<T>;
  readonly #forwardMessage = (message: T): void => {
    this.emit("message", message);
  };
  /** What is attached to the connection for `message`: nothing, the user's one listener, or the forwarder. */
  #attachedMessageListener: ((message: T) => void) | undefined;

  /** @internal Use `connect()`. */
  static async open<T>(adapter: SocketAdapter, options: ClientOptions<T>): Promise<Client<T>> {
    const resolved = resolveConnectionOptions(options);
    if (options.path === undefined && options.port === undefined) throw new InvalidOptionError("connect needs a port or a path");
    if (options.port !== undefined && (count("port", options.port, 0) < 1 || options.port > 65535)) {
      throw new InvalidOptionError(`port must be 1-65535, got ${options.port}`);
    }
    if (options.path !== undefined && !adapter.capabilities.unixSockets) {
      throw new UnsupportedError(`Unix domain sockets are not supported by the ${adapter.name} adapter`);
    }
    const timeoutMs = count("connectTimeoutMs", options.connectTimeoutMs, 10_000);
    const codec = resolveCodec(options.codec);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new ConnectTimeoutError(timeoutMs)), timeoutMs);
    let connection: Connection<T> | undefined;
    try {
      await adapter.connect(
        {
          host: options.host ?? "127.0.0.1",
          port: options.port ?? 0,
          ...(options.path !== undefined ? { path: options.path } : {}),
          signal: controller.signal,
        },
        (socket) => {
          connection = new Connection<T>({
            id: 0,
            role: "client",
            socket,
            adapter,
            options: resolved,
            codec,
            ...(options.app !== undefined ? { hello: { app: options.app } } : {}),
          });
          return connection.handlers;
        },
      );
    } catch (error) {
      if (controller.signal.aborted) throw new ConnectTimeoutError(timeoutMs);
      throw toFramewireError(error);
    } finally {
      clearTimeout(timer);
    }
    const opened = connection as Connection<T>;
    try {
      await opened.ready;
    } catch (error) {
      opened.destroy();
      await opened.closed();
      throw error;
    }
    return new Client(adapter, opened);
  }

  private constructor(adapter: SocketAdapter, connection: Connection<T>) {
    super();
    this.adapter = adapter;
    this.#connection = connection;
    for (const event of FORWARDED) {
      connection.on(event, ((...args: never[]) => {
        (this.emit as (event: string, ...rest: never[]) => boolean)(event, ...args);
      }) as ConnectionEvents<T>[typeof event]);
    }
  }

  /** The connection in use. */
  get connection(): Connection<T> {
    return this.#connection;
  }

  get state(): Connection<T>["state"] {
    return this.#connection.state;
  }

  get bufferedAmount(): number {
    return this.#connection.bufferedAmount;
  }

  get sessionId(): string {
    return this.#connection.sessionId;
  }

  get peerTags(): Readonly<Record<string, string>> {
    return this.#connection.peerTags;
  }

  get remoteAddress(): string {
    return this.#connection.remoteAddress;
  }

  get remotePort(): number {
    return this.#connection.remotePort;
  }

  /** See {@link Connection.send}. */
  send(message: T): SendStatus {
    return this.#connection.send(message);
  }

  /** See {@link Connection.drained}. */
  drained(): Promise<void> {
    return this.#connection.drained();
  }

  pause(): void {
    this.#connection.pause();
  }

  resume(): void {
    this.#connection.resume();
  }

  /** Closes in order (GOAWAY, flush, FIN). See {@link Connection.close}. */
  close(code?: string, reason?: string): Promise<CloseInfo> {
    return this.#connection.close(code, reason);
  }

  destroy(): void {
    this.#connection.destroy();
  }

  closed(): Promise<CloseInfo> {
    return this.#connection.closed();
  }

  stats(): ConnectionStats {
    return this.#connection.stats();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return this.#connection[Symbol.asyncIterator]();
  }

  protected override listenersChanged(event: keyof ConnectionEvents<T>): void {
    if (event !== "message") return;
    // Nothing attached while nobody listens (iteration then sees the messages); one listener is
    // attached as is, so messages reach it without an extra hop; several share the forwarder.
    const listeners = this.listenersOf("message");
    const wanted = listeners === undefined ? undefined : listeners.length === 1 ? listeners[0] : this.#forwardMessage;
    const attached = this.#attachedMessageListener;
    if (wanted === attached) return;
    this.#attachedMessageListener = wanted;
    // Attach before detaching: the connection hands queued messages to its first listener.
    if (wanted !== undefined) this.#connection.on("message", wanted);
    if (attached !== undefined) this.#connection.off("message", attached);
  }
}
