import type { SocketAdapter } from "./adapter.ts";
import type { Codec } from "./codec/index.ts";
import type { AnyCode } from "./codes.ts";
import {
  type CloseInfo,
  Connection,
  type ConnectionEvents,
  type ConnectionState,
  type ConnectionStats,
  type MessagesOptions,
  type SendStatus,
} from "./connection.ts";
import { TypedEmitter } from "./emitter.ts";
import { ConnectTimeoutError, HandlerError, InvalidOptionError, InvalidUseError, toFramewireError, UnsupportedError } from "./errors.ts";
import { checkHandshakeFields, type ConnectionOptions, MAX_TIMER_MS, type ResolvedConnectionOptions, resolveConnectionOptions } from "./options.ts";
import { integer, string } from "./validate.ts";

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

const CLIENT_KEYS = ["host", "port", "path", "connectTimeoutMs", "app"] as const;

/** Client settings, checked before any socket is opened. */
interface ClientSettings {
  connection: ResolvedConnectionOptions;
  codec: Codec<unknown>;
  host: string;
  port: number;
  path: string | undefined;
  connectTimeoutMs: number;
  app: string | undefined;
}

function resolveClientOptions(options: ClientOptions<never> | ClientOptions<unknown>, adapter: SocketAdapter): ClientSettings {
  const { resolved, codec } = resolveConnectionOptions(options, "connect", CLIENT_KEYS);
  const path = options.path === undefined ? undefined : string("path", options.path, "", true);
  if (path !== undefined && (options.host !== undefined || options.port !== undefined)) {
    throw new InvalidOptionError("connect: give either path (a Unix socket) or host/port, not both");
  }
  if (path === undefined && options.port === undefined) throw new InvalidOptionError("connect needs a port or a path");
  if (path !== undefined && !adapter.capabilities.unixSockets) throw new UnsupportedError(`Unix domain sockets are not supported by the ${adapter.name} adapter`);
  const app = options.app === undefined ? undefined : string("app", options.app, "");
  if (app !== undefined && resolved.protocol === "raw") throw new InvalidOptionError(`app is sent in the framewire handshake; protocol "raw" has none`);
  // HELLO carries tags and app and must fit the handshake's frame limit.
  checkHandshakeFields({ app, tags: resolved.tags }, "the client's tags and app");
  return {
    connection: resolved,
    codec,
    host: string("host", options.host, "127.0.0.1", true),
    port: path === undefined ? integer("port", options.port, 0, 1, 65535) : 0,
    path,
    connectTimeoutMs: integer("connectTimeoutMs", options.connectTimeoutMs, 10_000, 1, MAX_TIMER_MS),
    app,
  };
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

  /** @internal Use `connect()`. Every option is checked before a socket is opened. */
  static async open<T>(adapter: SocketAdapter, options: ClientOptions<T>): Promise<Client<T>> {
    const settings = resolveClientOptions(options, adapter);
    const timeoutMs = settings.connectTimeoutMs;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new ConnectTimeoutError(timeoutMs)), timeoutMs);
    let connection: Connection<T> | undefined;
    try {
      await adapter.connect(
        {
          host: settings.host,
          port: settings.port,
          ...(settings.path !== undefined ? { path: settings.path } : {}),
          signal: controller.signal,
        },
        (socket) => {
          connection = new Connection<T>({
            id: 0,
            role: "client",
            socket,
            adapter,
            options: settings.connection,
            codec: settings.codec as Codec<T>,
            ...(settings.app !== undefined ? { hello: { app: settings.app } } : {}),
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

  get state(): ConnectionState {
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
  close(code?: AnyCode, reason?: string): Promise<CloseInfo> {
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

  /** See {@link Connection.messages}. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.#connection.messages();
  }

  /** See {@link Connection.messages}. */
  messages(options?: MessagesOptions): AsyncIterableIterator<T> {
    return this.#connection.messages(options);
  }

  /** @throws InvalidUseError when adding a `message` listener while the client is being iterated. */
  override on<K extends keyof ConnectionEvents<T>>(event: K, listener: ConnectionEvents<T>[K]): this {
    if (event === "message" && this.#connection.iterating) throw new InvalidUseError("cannot add a message listener while the client is being iterated");
    return super.on(event, listener);
  }

  /** A listener on the client rejected: the connection closes as for a throw (not after `error`/`close`). */
  protected override listenerRejected(event: keyof ConnectionEvents<T>, error: unknown): void {
    if (event === "error" || event === "close") return;
    this.#connection.fail(new HandlerError(`${String(event)} listener`, error));
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
