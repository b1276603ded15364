/**
 * The client and its lifecycle: dial, lose the connection, wait out the backoff, redial; sends
 * wait in the bounded offline queue meanwhile. The `Client` object, its listeners and its
 * iterators stay the same across reconnects; each connection underneath is a fresh `Connection`.
 */
import type { SocketAdapter } from "./adapter.ts";
import { bufferCodec, type Codec, encodeWith } from "./codec/index.ts";
import { type AnyCode, CloseCode, ErrorCode } from "./codes.ts";
import { type ClientState, type ClientStatusEntry, type ClientStatusEvents, shouldRedial, StatusStreams } from "./client-status.ts";
import { dial } from "./client/dial.ts";
import { type ClientOptions, type ClientSettings, resolveClientOptions } from "./client/options.ts";
import { type CloseInfo, Connection, type ConnectionEvents, type ConnectionStats, type MessagesOptions, type SendStatus } from "./connection.ts";
import { TypedEmitter } from "./emitter.ts";
import { ConnectionClosedError, FrameTooLargeError, FramewireError, HandlerError, InvalidUseError, ReconnectFailedError, SessionExpiredError } from "./errors.ts";
import { type SendOptions, sendLevel } from "./flow/send-lanes.ts";
import { keepsSession, type Session } from "./session/session.ts";
import { OfflineSender } from "./client/offline-sender.ts";
import { Backoff } from "./reconnect/backoff.ts";
import { boolean, plainObject, rejectUnknownKeys } from "./validate.ts";

export type { ClientOptions, OfflineOptions } from "./client/options.ts";
export type { ClientState, ClientStatus, ClientStatusEntry, ClientStatusEvents } from "./client-status.ts";

/** A client's events: its connection's, plus its lifecycle. */
export type ClientEvents<T> = ConnectionEvents<T> &
  ClientStatusEvents & {
    /**
     * Resume on: a session ended with messages the server never acknowledged (it expired, or the
     * client closed for good). They are handed back, decoded, for the application to decide on.
     */
    unacknowledged: (info: { messages: T[]; error: FramewireError }) => void;
  };

/** A client's counters: those of its current (or last) connection, plus the client's own. */
export interface ClientStats extends ConnectionStats {
  /** Messages waiting in the offline queue. */
  offlineQueued: number;
  /** Encoded bytes waiting in the offline queue. */
  offlineQueuedBytes: number;
  /** Connections opened after the first. */
  reconnects: number;
}

const MESSAGES_KEYS: ReadonlySet<string> = new Set(["keepOpen"]);

/** A connection that stayed open this long restarts the backoff series when it is lost. */
const STABLE_AFTER_MS = 1000;

/** Events passed on from each connection as they are (`close` and `message` are the client's own business). */
const FORWARDED = ["drop", "goaway", "end", "error", "undelivered"] as const;

export class Client<T = Uint8Array> extends TypedEmitter<ClientEvents<T>> implements AsyncIterable<T> {
  readonly adapter: SocketAdapter;
  readonly #settings: ClientSettings;
  readonly #codec: Codec<T>;
  readonly #backoff: Backoff | undefined;
  readonly #offline: OfflineSender | undefined;
  #connection: Connection<T>;
  #state: ClientState = "open";
  /** close()/destroy() was called: nothing redials any more. */
  #closeRequested = false;
  /** Aborts the dial loop's current attempt or backoff wait. */
  #abort: AbortController | undefined;
  #waitTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeWait: (() => void) | undefined;
  #reconnects = 0;
  /** When the current connection opened (`performance.now()`). */
  #openedAt = 0;
  #pastDrops = 0;
  #pastUndelivered = 0;
  /** The lost connection whose drops and undelivered are already in the past totals. */
  #counted: Connection<T> | undefined;
  /** pause() holds across reconnects. */
  #paused = false;
  /** Resume on: the session the connections carry in turn (offered on each redial). */
  #session: Session | undefined;
  #iterating = false;
  readonly #status = new StatusStreams();
  /** Resolved (and replaced) whenever the state changes or the offline queue empties. */
  #changed: Promise<void>;
  #signalChange!: () => void;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  readonly #forwardMessage = (message: T): void => {
    this.emit("message", message);
  };
  /** What is attached to the connection for `message`: nothing, the user's one listener, or the forwarder. */
  #attachedMessageListener: ((message: T) => void) | undefined;

  /** @internal Use `connect()`. Every option is checked before a socket is opened. */
  static async open<T>(adapter: SocketAdapter, options: ClientOptions<T>): Promise<Client<T>> {
    const settings = resolveClientOptions(options, adapter);
    const policy = settings.reconnect;
    const first = new AbortController();
    if (policy === undefined || !policy.retryFirstConnect) {
      return new Client<T>(adapter, settings, await dial<T>(adapter, settings, settings.connectTimeoutMs, first.signal));
    }
    // retryFirstConnect: the first connect() waits through the backoff too.
    const backoff = new Backoff(policy);
    for (;;) {
      try {
        return new Client<T>(adapter, settings, await dial<T>(adapter, settings, policy.connectTimeoutMs, first.signal), backoff);
      } catch (error) {
        const failure = error instanceof FramewireError ? error : new ConnectionClosedError(String(error));
        if (!shouldRedial(failure)) throw failure;
        const delay = backoff.next();
        if (delay === undefined) throw new ReconnectFailedError(backoff.attempt, failure);
        await new Promise<void>((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  private constructor(adapter: SocketAdapter, settings: ClientSettings, connection: Connection<T>, backoff?: Backoff) {
    super();
    this.adapter = adapter;
    this.#settings = settings;
    this.#codec = settings.codec as Codec<T>;
    this.#backoff = settings.reconnect === undefined ? undefined : (backoff ?? new Backoff(settings.reconnect));
    this.#backoff?.reset();
    this.#offline =
      settings.offline === undefined ? undefined : new OfflineSender(settings.offline, (messages, bytes, reason) => this.#safeEmit(() => this.emit("drop", { messages, bytes, reason })));
    this.#changed = new Promise((resolve) => (this.#signalChange = resolve));
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#connection = connection;
    this.#session = connection.session;
    this.#adopt(connection);
  }

  /** The connection in use (the last one while disconnected). */
  get connection(): Connection<T> {
    return this.#connection;
  }

  /** See {@link ClientState}. */
  get state(): ClientState {
    return this.#state;
  }

  /** Bytes not yet handed to the kernel: the connection's, plus the offline queue's. */
  get bufferedAmount(): number {
    return (this.#state === "open" ? this.#connection.bufferedAmount : 0) + (this.#offline?.bytes ?? 0);
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

  /**
   * See {@link Connection.send}. While a reconnecting client has no connection (or still sends
   * what waited), the message goes to the offline queue: `"queued"`, `"backpressure"` past
   * `highWaterMark`, `"dropped"` at its bound (or it throws `QueueFullError` with `overflow:
   * "error"`); with `offline: false` it is `"offline"`. After close: `"closed"`.
   */
  send(message: T, options?: SendOptions): SendStatus {
    const offline = this.#offline;
    const connection = this.#connection;
    if (this.#state === "open" && (offline === undefined || offline.length === 0)) {
      // Between the server's GOAWAY and the socket's close, a reconnecting client queues offline.
      if (connection.state === "open" || this.#backoff === undefined) return connection.send(message, options);
    }
    // The offline queue keeps the order of sends: a priority is checked, and applies once connected.
    if (options !== undefined) sendLevel(options, this.#settings.resume !== undefined);
    if (this.#closeRequested || this.#state === "closed" || this.#state === "closing") return "closed";
    if (offline === undefined) return "offline";
    // A copy: the caller may reuse its array once send() returns, as with a connection.
    const payload = this.#codec === (bufferCodec as Codec<unknown>) && message instanceof Uint8Array ? message.slice() : encodeWith(this.#codec, message);
    const maxFrame = this.#settings.connection.maxFrameSize;
    if (payload.length > maxFrame) throw new FrameTooLargeError(payload.length, maxFrame);
    // What the framing would refuse once connected is refused now (raw framers: a delimiter inside, a header too narrow).
    const framer = this.#settings.connection.framer;
    if (framer !== undefined && this.#settings.connection.protocol === "raw") {
      framer.checkPayload?.(payload);
      framer.encodedLength(payload.length);
    }
    if (offline.push(payload) === "dropped") return "dropped";
    return offline.bytes >= this.#settings.connection.highWaterMark ? "backpressure" : "queued";
  }

  /** Resolves once everything queued (offline queue included) is below `highWaterMark`; rejects when the client closes first. */
  async drained(): Promise<void> {
    for (;;) {
      if (this.#state === "closed" || this.#closeRequested) throw new ConnectionClosedError();
      if (this.#state === "open" && (this.#offline?.length ?? 0) === 0) {
        try {
          return await this.#connection.drained();
        } catch (error) {
          if (this.#backoff === undefined || this.#closeRequested) throw error;
          // The connection went away: wait for the next one.
        }
      }
      await this.#changed;
    }
  }

  /** Stops reading until `resume()`; it holds for the connections after a reconnect too. */
  pause(): void {
    this.#paused = true;
    this.#connection.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#connection.resume();
  }

  /**
   * Closes in order (GOAWAY, flush, FIN; see {@link Connection.close}). During a backoff wait, a
   * dial or a handshake it ends the reconnect loop at once; `closed()` then resolves.
   */
  close(code?: AnyCode, reason?: string): Promise<CloseInfo> {
    if (this.#state === "closed" || this.#closeRequested) return this.#closed;
    if (this.#state === "open" || this.#state === "closing") {
      // First: it checks code and reason, and throws before anything changes.
      void this.#connection.close(code, reason);
      this.#closeRequested = true;
      this.#setState("closing");
    } else {
      this.#closeRequested = true;
      this.#stopLoop();
      this.#finish({ code: CloseCode.NORMAL, reason: "closed while reconnecting", remote: false });
    }
    return this.#closed;
  }

  destroy(): void {
    if (this.#state === "closed") return;
    this.#closeRequested = true;
    if (this.#state === "open" || this.#state === "closing") {
      this.#connection.destroy();
      return;
    }
    this.#stopLoop();
    this.#finish({ code: CloseCode.NORMAL, reason: "destroyed", remote: false });
  }

  /** Resolves once the client is closed for good (after any reconnects), with the last close info. */
  closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  stats(): ClientStats {
    const s = this.#connection.stats();
    const past = this.#counted === this.#connection;
    return {
      ...s,
      bufferedAmount: this.bufferedAmount,
      drops: (past ? 0 : s.drops) + (this.#offline?.drops ?? 0) + this.#pastDrops,
      undelivered: (past ? 0 : s.undelivered) + this.#pastUndelivered,
      offlineQueued: this.#offline?.length ?? 0,
      offlineQueuedBytes: this.#offline?.bytes ?? 0,
      reconnects: this.#reconnects,
    };
  }

  /** The lifecycle from now on (see {@link ClientStatus}); ends after `closed`. */
  status(): AsyncIterableIterator<ClientStatusEntry> {
    return this.#status.iterate();
  }

  /** See {@link Connection.messages}. With reconnect, one iterator runs across every connection. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.messages();
  }

  /** See {@link Connection.messages}. With reconnect, one iterator runs across every connection. */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<T> {
    if (this.#backoff === undefined) return this.#connection.messages(options);
    if (this.listenersOf("message") !== undefined) throw new InvalidUseError("cannot iterate a client that has message listeners");
    if (this.#iterating) throw new InvalidUseError("the client is already being iterated");
    plainObject("messages options", options);
    rejectUnknownKeys(options, MESSAGES_KEYS, "messages");
    const keepOpen = boolean("keepOpen", options.keepOpen, false);
    // Claimed now, not when the generator first runs: a listener added meanwhile must be refused.
    this.#iterating = true;
    return this.#iterateAcross(keepOpen);
  }

  /** @throws InvalidUseError when adding a `message` listener while the client is being iterated. */
  override on<K extends keyof ClientEvents<T>>(event: K, listener: ClientEvents<T>[K]): this {
    if (event === "message" && (this.#iterating || this.#connection.iterating)) throw new InvalidUseError("cannot add a message listener while the client is being iterated");
    return super.on(event, listener);
  }

  /** A listener on the client rejected: the connection closes as for a throw (not after `error`/`close`). */
  protected override listenerRejected(event: keyof ClientEvents<T>, error: unknown): void {
    if (event === "error" || event === "close" || event === "closed" || event === "disconnected") return;
    this.#connection.fail(new HandlerError(`${String(event)} listener`, error));
  }

  protected override listenersChanged(event: keyof ClientEvents<T>): void {
    if (event !== "message") return;
    // Nothing attached while nobody listens (iteration then sees the messages); one listener is
    // attached as is, so messages reach it without an extra hop; several share the forwarder.
    const listeners = this.listenersOf("message");
    const wanted = listeners === undefined ? undefined : listeners.length === 1 ? (listeners[0] as (message: T) => void) : this.#forwardMessage;
    const attached = this.#attachedMessageListener;
    if (wanted === attached) return;
    this.#attachedMessageListener = wanted;
    // Attach before detaching: the connection hands queued messages to its first listener.
    if (wanted !== undefined) this.#connection.on("message", wanted);
    if (attached !== undefined) this.#connection.off("message", attached);
  }

  // ───────────────────────── lifecycle ─────────────────────────

  /** Takes a freshly opened connection: events, the message listener, what waited offline. */
  #adopt(connection: Connection<T>): void {
    this.#connection = connection;
    for (const event of FORWARDED) {
      connection.on(event, ((...args: never[]) => {
        (this.emit as (event: string, ...rest: never[]) => boolean)(event, ...args);
      }) as ConnectionEvents<T>[typeof event]);
    }
    connection.on("drain", () => {
      if (this.#sendOffline()) this.emit("drain");
    });
    connection.on("close", (info) => this.#onConnectionClose(connection, info));
    const listener = this.#attachedMessageListener;
    if (listener !== undefined) connection.on("message", listener);
    if (this.#paused) connection.pause();
    this.#openedAt = performance.now();
    this.#setState("open");
    this.#sendOffline();
    // An adapter may deliver the handshake's last bytes and the socket's close in one go (the
    // native one does, from one batch): the connection closed before it was adopted, and its
    // close event has been and gone. Handle that close now, after the caller's "connected".
    const closedAlready = connection.closeInfo;
    if (connection.state === "closed" && closedAlready !== undefined) queueMicrotask(() => this.#onConnectionClose(connection, closedAlready));
  }

  #onConnectionClose(connection: Connection<T>, info: CloseInfo): void {
    if (connection !== this.#connection || this.#state === "closed") return;
    if (info.error?.code === ErrorCode.HEARTBEAT_TIMEOUT) {
      const silentMs = (info.error as FramewireError & { silentMs?: number }).silentMs ?? 0;
      this.#publish({ type: "stale", silentMs }, () => this.emit("stale", { silentMs }));
    }
    if (this.#closeRequested || this.#backoff === undefined || !shouldRedial(info.error)) {
      this.#finish(info);
      return;
    }
    const session = this.#session;
    if (session !== undefined && !keepsSession(info)) {
      // Closed in order (or failed): that session is over; the next connection starts a new one.
      this.#session = undefined;
      this.#handBack(session, info.error ?? new SessionExpiredError(session.id, `session ${session.id} closed: ${info.code}`));
    }
    // The series starts over only after a connection that lasted: a server that accepts and then
    // drops at once is redialled with growing delays, not hammered at the first one.
    if (performance.now() - this.#openedAt >= STABLE_AFTER_MS) this.#backoff.reset();
    this.#uncounted(connection);
    this.#setState("disconnected");
    this.#publish({ type: "disconnected", info }, () => this.emit("disconnected", info));
    if (this.#closeRequested) return; // a listener closed the client
    void this.#redial();
  }

  /** A finished connection's counters carry on in the client's. */
  #uncounted(connection: Connection<T>): void {
    this.#counted = connection;
    const s = connection.stats();
    this.#pastDrops += s.drops;
    this.#pastUndelivered += s.undelivered;
  }

  /** The dial loop: one at a time, ended by close() or a refusal that would repeat. */
  async #redial(): Promise<void> {
    const backoff = this.#backoff as Backoff;
    const policy = this.#settings.reconnect;
    if (policy === undefined) return;
    const abort = new AbortController();
    this.#abort = abort;
    let lastError: FramewireError | undefined;
    for (;;) {
      let delay: number | undefined;
      try {
        delay = backoff.next();
      } catch (error) {
        // A user delay function that threw or returned nonsense.
        this.#finish(this.#failure(error instanceof FramewireError ? error : new HandlerError("reconnect.delay", error)));
        return;
      }
      if (delay === undefined) {
        this.#finish(this.#failure(new ReconnectFailedError(backoff.attempt, lastError)));
        return;
      }
      const attempt = backoff.attempt;
      this.#setState("disconnected");
      this.#publish({ type: "reconnecting", attempt, delayMs: delay }, () => this.emit("reconnecting", { attempt, delayMs: delay }));
      if (abort.signal.aborted || this.#closeRequested) return;
      await new Promise<void>((resolve) => {
        this.#wakeWait = resolve;
        this.#waitTimer = setTimeout(resolve, delay);
      });
      this.#waitTimer = this.#wakeWait = undefined;
      if (abort.signal.aborted || this.#closeRequested) return;
      this.#setState("connecting");
      this.#publish({ type: "connecting", attempt }, () => this.emit("connecting", { attempt }));
      let connection: Connection<T>;
      try {
        connection = await dial<T>(this.adapter, this.#settings, policy.connectTimeoutMs, abort.signal, this.#session);
      } catch (error) {
        if (abort.signal.aborted || this.#closeRequested) return;
        lastError = error instanceof FramewireError ? error : new ConnectionClosedError(String(error));
        if (!shouldRedial(lastError)) {
          this.#finish(this.#failure(lastError));
          return;
        }
        continue;
      }
      if (this.#closeRequested) {
        connection.destroy();
        return;
      }
      this.#abort = undefined;
      this.#reconnects++;
      const offered = this.#session;
      this.#session = connection.session;
      if (offered !== undefined && offered !== connection.session) {
        const sessionId = offered.id;
        this.#publish({ type: "session-expired", sessionId }, () => this.emit("session-expired", { sessionId }));
        this.#handBack(offered, new SessionExpiredError(sessionId));
      }
      this.#adopt(connection);
      const sessionId = connection.sessionId;
      this.#publish({ type: "connected", sessionId }, () => this.emit("connected", { sessionId }));
      this.#publish({ type: "reconnected", attempt, sessionId }, () => this.emit("reconnected", { attempt, sessionId }));
      return;
    }
  }

  #failure(error: FramewireError): CloseInfo {
    return { code: error.code, reason: error.message, remote: false, error };
  }

  /** close() while reconnecting: end the wait or the dial at once. */
  #stopLoop(): void {
    this.#abort?.abort(new ConnectionClosedError("the client was closed"));
    this.#abort = undefined;
    if (this.#waitTimer !== undefined) clearTimeout(this.#waitTimer);
    this.#wakeWait?.();
  }

  /** The client is done: report what never left, emit `closed`/`close`, resolve `closed()`. */
  #finish(info: CloseInfo): void {
    if (this.#state === "closed") return;
    this.#setState("closed");
    const session = this.#session;
    this.#session = undefined;
    if (session !== undefined) this.#handBack(session, info.error ?? new SessionExpiredError(session.id, `session ${session.id} closed`));
    const left = this.#offline?.clear();
    if (left !== undefined && left.messages > 0) {
      this.#pastUndelivered += left.messages;
      this.#safeEmit(() => this.emit("undelivered", left));
    }
    this.#publish({ type: "closed", info }, () => this.emit("closed", info));
    this.#safeEmit(() => this.emit("close", info));
    this.#resolveClosed(info);
  }

  /** A session ended with unacknowledged messages: hand them to the application. */
  #handBack(session: Session, error: FramewireError): void {
    if (session.log.unacked === 0) return;
    const messages = session.takeUnacknowledged((payload) => this.#codec.decode(payload));
    this.#safeEmit(() => this.emit("unacknowledged", { messages, error }));
  }

  #setState(state: ClientState): void {
    if (this.#state === state || this.#state === "closed") return;
    this.#state = state;
    this.#signalChange();
    this.#changed = new Promise((resolve) => (this.#signalChange = resolve));
  }

  #publish(status: Parameters<StatusStreams["publish"]>[0], emit: () => void): void {
    this.#status.publish(status);
    this.#safeEmit(emit);
  }

  /** Lifecycle listeners may throw: that must not stop the lifecycle (it is reported as an `error`). */
  #safeEmit(emit: () => void): void {
    try {
      emit();
    } catch (error) {
      try {
        this.emit("error", new HandlerError("client status listener", error));
      } catch {
        // An error listener that throws has nowhere better to go.
      }
    }
  }

  // ───────────────────────── offline queue ─────────────────────────

  /** Hands what waited offline to the open connection; true when nothing waits any more. */
  #sendOffline(): boolean {
    const offline = this.#offline;
    if (offline === undefined || offline.length === 0) return true;
    if (this.#state !== "open" || !offline.sendInto(this.#connection as Connection<unknown>)) return false;
    this.#signalChange();
    this.#changed = new Promise((resolve) => (this.#signalChange = resolve));
    return true;
  }

  // ───────────────────────── iteration ─────────────────────────

  async *#iterateAcross(keepOpen: boolean): AsyncGenerator<T, void, undefined> {
    let finished = false;
    try {
      for (;;) {
        while (this.#state !== "open" && this.#state !== "closed") await this.#changed;
        if (this.#state === "closed") {
          finished = true;
          const error = (await this.#closed).error;
          if (error !== undefined && !this.#closeRequested) throw error;
          return;
        }
        const connection = this.#connection;
        try {
          for await (const message of connection.messages({ keepOpen: true })) yield message;
        } catch (error) {
          // Its connection failed: the loop redials, or the client is closed (handled above).
          if (!(error instanceof FramewireError) || error instanceof InvalidUseError) throw error;
        }
        if (connection === this.#connection && this.#state === ("open" as ClientState)) await this.#changed;
      }
    } finally {
      this.#iterating = false;
      if (!finished && !keepOpen && this.#state !== "closed") void this.close();
    }
  }
}
