import type { RawSocket, SocketAdapter, SocketHandlers } from "./adapter.ts";
import { bufferCodec, type Codec } from "./codec/index.ts";
import { TypedEmitter } from "./emitter.ts";
import {
  CodecError,
  ConnectionClosedError,
  ErrorCode,
  FrameTooLargeError,
  FramewireError,
  HandlerError,
  HandshakeError,
  HandshakeRejectedError,
  HeartbeatTimeoutError,
  ProtocolError,
  SocketError,
  toFramewireError,
} from "./errors.ts";
import { InboundQueue } from "./flow/inbound-queue.ts";
import { OutboundQueue } from "./flow/outbound-queue.ts";
import { createFramer, type FrameDecoder, type Framer, type FramingOptions, LengthPrefixedFramer } from "./framing/index.ts";
import type { ResolvedConnectionOptions } from "./options.ts";
import {
  chooseVersion,
  decodeHello,
  decodeReason,
  decodeWelcome,
  encodeHello,
  encodeReason,
  encodeWelcome,
  FrameType,
  type Hello,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type Reason,
} from "./protocol/wire.ts";

/** What `send()` did with a message. Only `"queued"` and `"backpressure"` mean it will be sent. */
export type SendStatus =
  /** Queued; the queue is below `highWaterMark`. */
  | "queued"
  /** Queued, but the queue is at or above `highWaterMark`: wait for `drain` before sending more. */
  | "backpressure"
  /** Not queued: the queue was full and the overflow policy is `"drop-newest"` (or nothing could be evicted). */
  | "dropped"
  /** Not queued: the connection is closing or closed. */
  | "closed";

/** Why a connection closed. */
export interface CloseInfo {
  /** `FW_NORMAL` for an orderly close, otherwise an error code such as `FW_FRAME_TOO_LARGE`. */
  code: string;
  reason: string;
  /** True when the peer chose to close (its GOAWAY code, or its FIN). */
  remote: boolean;
  /** The error that closed the connection, when there was one. */
  error?: FramewireError;
}

/** Close codes that are not errors. */
export const CloseCode = {
  /** `close()` was called, or the peer closed in order. */
  NORMAL: "FW_NORMAL",
  /** The peer closed the socket without saying why. */
  PEER_CLOSED: "FW_PEER_CLOSED",
} as const;

export interface ConnectionStats {
  /** Messages received (DATA frames; control frames are not counted). */
  framesIn: number;
  /** Messages queued for sending (minus those evicted by `drop-oldest`). */
  framesOut: number;
  /** Bytes read from the socket. */
  bytesIn: number;
  /** Bytes the socket accepted. */
  bytesOut: number;
  /** Bytes queued and not yet accepted by the socket. */
  bufferedAmount: number;
  /** Messages waiting for async iteration. */
  inboundQueued: number;
  /** Messages not sent because of the overflow policy (dropped or evicted). */
  drops: number;
  /** Last measured round-trip time (framewire heartbeat), ms; undefined before the first PONG. */
  rttMs: number | undefined;
  /** Smoothed round-trip time (EWMA, 1/8 gain), ms. */
  srttMs: number | undefined;
}

export type ConnectionEvents<T> = {
  /** A decoded message arrived. A listener that throws closes this connection with `FW_HANDLER_ERROR`. */
  message: (message: T) => void;
  /** `bufferedAmount` fell below `highWaterMark` after a send returned `"backpressure"`. */
  drain: () => void;
  /** `drop-oldest` evicted queued messages to make room. */
  drop: (info: { messages: number; bytes: number }) => void;
  /** The peer sent GOAWAY: it will send nothing more; this side flushes and closes. */
  goaway: (reason: Reason) => void;
  /** The peer half-closed (FIN). With `allowHalfOpen` this side may still send until `close()`. */
  end: () => void;
  /** An error on this connection; it is followed by `close`. Never thrown, never fatal to the process. */
  error: (error: FramewireError) => void;
  /** The connection is closed. Emitted exactly once. */
  close: (info: CloseInfo) => void;
};

type State = "handshaking" | "open" | "closing" | "closed";

/** What the server supplies to run the server side of the handshake. */
export interface ServerHandshake {
  /** Returns a WELCOME's fields, or a rejection. */
  accept(hello: Hello, connection: Connection<unknown>): Promise<{ session: string } | Reason> | { session: string } | Reason;
  heartbeatMs: number;
  tags: Record<string, string>;
  /**
   * Called as soon as the connection is open, before any frame after HELLO is parsed, so the
   * server's `connection` listeners attach before the first message or error.
   */
  opened(connection: Connection<unknown>): void;
}

/** Raw mode framing: the top-level `maxFrameSize` applies unless the framing sets its own. */
function rawFraming(options: ResolvedConnectionOptions): FramingOptions | Framer {
  const framing = options.framing ?? { type: "length-prefixed" };
  if ("createDecoder" in framing) return framing;
  if (framing.type === "length-prefixed" && framing.maxFrameSize === undefined) return { ...framing, maxFrameSize: options.maxFrameSize };
  return framing;
}

/**
 * Within one tick, sends are coalesced into one write — but no more than this many bytes wait for
 * the tick to end: a burst is written in batches of this size as it is produced, like a careful
 * hand-written sender would.
 */
const EAGER_WRITE_BYTES = 64 * 1024;

/** The framewire protocol's fixed framing. */
function framewireFramer(maxFrameSize: number): Framer {
  // The body is one type byte plus the payload.
  return new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: maxFrameSize + 1 });
}

/**
 * One framed connection: the path every byte takes in both directions.
 *
 * In: adapter `data` → framer decoder → envelope (type byte) → codec.decode → `message` / iterator.
 * Out: `send` → codec.encode → framer header + type byte into the batch → one `write` per tick.
 */
export class Connection<T = Uint8Array> extends TypedEmitter<ConnectionEvents<T>> implements AsyncIterable<T> {
  /** Unique within its server (server side) or 0 (client side). */
  readonly id: number;
  readonly role: "client" | "server";
  /** The adapter running this connection's socket. */
  readonly adapter: SocketAdapter;
  readonly protocol: "framewire" | "raw";
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** framewire: session id from WELCOME (empty before it, and in raw mode). */
  sessionId = "";
  /** framewire: the peer's tags from HELLO or WELCOME. */
  peerTags: Readonly<Record<string, string>> = {};
  /** framewire: the negotiated protocol version (0 in raw mode). */
  version = 0;

  readonly #socket: RawSocket;
  readonly #options: ResolvedConnectionOptions;
  readonly #codec: Codec<T>;
  readonly #framer: Framer;
  readonly #decoder: FrameDecoder;
  readonly #queue: OutboundQueue;
  readonly #inbound: InboundQueue<T>;
  readonly #framewire: boolean;
  readonly #serverHandshake: ServerHandshake | undefined;

  #state: State;
  #messageListeners: readonly ((message: T) => void)[] | undefined;
  /** The listener, when exactly one is attached: called directly on the hot path. */
  #soleListener: ((message: T) => void) | undefined;
  /** True while a `message` listener runs without its own try/catch (see `#onData`). */
  #inListener = false;
  /** The buffer codec: payloads are the messages, no codec call either way. */
  readonly #identityCodec: boolean;
  /** The wire is `u32 BE length | body`: `sendEncoded` writes the header inline. */
  readonly #u32Header: boolean;
  #flushScheduled = false;
  #wantDrain = false;
  #readPaused = false;
  #userPaused = false;
  #readFailed = false;
  /** True while the decoder is inside push/resume (its callbacks must not re-enter it). */
  #parsing = false;
  #endSent = false;
  #peerEnded = false;
  #closeInfo: CloseInfo | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #heartbeatTimeoutMs = 0;
  #lastInbound = performance.now();
  /** Set by every inbound chunk; the heartbeat turns it into `#lastInbound` (a clock read per chunk costs ~70 ns). */
  #inboundSeen = false;
  /** Largest payload the peer accepts (from WELCOME), else our own limit. */
  #peerMaxFrame: number;
  #drainWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  #handshake: Promise<void>;
  #resolveHandshake!: () => void;
  #rejectHandshake!: (error: FramewireError) => void;

  #framesIn = 0;
  #framesOut = 0;
  #bytesIn = 0;
  #drops = 0;
  #rttMs: number | undefined;
  #srttMs: number | undefined;

  /** Socket callbacks for the adapter. */
  readonly handlers: SocketHandlers;

  /** @internal Created by `Server` and `connect()`; not constructed by users. */
  constructor(init: {
    id: number;
    role: "client" | "server";
    socket: RawSocket;
    adapter: SocketAdapter;
    options: ResolvedConnectionOptions;
    codec: Codec<T>;
    serverHandshake?: ServerHandshake;
    hello?: { app?: string };
  }) {
    super();
    const options = init.options;
    this.id = init.id;
    this.role = init.role;
    this.adapter = init.adapter;
    this.protocol = options.protocol;
    this.#socket = init.socket;
    this.#options = options;
    this.#codec = init.codec;
    this.#framewire = options.protocol === "framewire";
    this.#serverHandshake = init.serverHandshake;
    this.#framer = this.#framewire
      ? framewireFramer(options.maxFrameSize)
      : createFramer(rawFraming(options));
    this.#decoder = this.#framer.createDecoder();
    this.#identityCodec = init.codec === (bufferCodec as Codec<unknown>);
    this.#u32Header =
      this.#framewire || (this.#framer instanceof LengthPrefixedFramer && this.#framer.headerBytes === 4 && !this.#framer.littleEndian);
    this.#peerMaxFrame = options.maxFrameSize;
    this.#queue = new OutboundQueue({
      maxBufferedBytes: options.maxBufferedBytes,
      overflow: options.overflow,
      reuseBuffers: !init.adapter.capabilities.retainsWrites,
    });
    this.#inbound = new InboundQueue<T>(options.maxInboundMessages, () => this.#resumeReading());
    this.remoteAddress = init.socket.remoteAddress;
    this.remotePort = init.socket.remotePort;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#handshake = new Promise<void>((resolve, reject) => {
      this.#resolveHandshake = resolve;
      this.#rejectHandshake = reject;
    });
    // connect() and the server observe the handshake; never leave it unhandled.
    this.#handshake.catch(() => {});

    this.handlers = {
      data: (chunk) => this.#onData(chunk),
      drain: () => this.#flush(),
      end: () => this.#onPeerEnd(),
      close: (error) => this.#onSocketClose(error),
    };

    this.#configureSocket();
    if (this.#framewire) {
      this.#state = "handshaking";
      this.#handshakeTimer = setTimeout(() => {
        this.#fail(new HandshakeError(ErrorCode.HANDSHAKE_TIMEOUT, `handshake did not complete in ${options.handshakeTimeoutMs} ms`));
      }, options.handshakeTimeoutMs);
      if (this.role === "client") {
        this.#sendControl(
          FrameType.HELLO,
          encodeHello({
            minVersion: PROTOCOL_VERSION_MIN,
            maxVersion: PROTOCOL_VERSION_MAX,
            ...(init.hello?.app !== undefined ? { app: init.hello.app } : {}),
            tags: options.tags,
            maxFrameSize: options.maxFrameSize,
          }),
        );
      }
    } else {
      this.#state = "open";
      this.#resolveHandshake();
    }
  }

  /** `"handshaking"`, `"open"`, `"closing"` or `"closed"`. */
  get state(): State {
    return this.#state;
  }

  /** Bytes queued by `send()` and not yet accepted by the socket. */
  get bufferedAmount(): number {
    return this.#queue.bufferedAmount;
  }

  /** Resolves once the handshake completed (at once in raw mode); rejects if it failed. */
  get ready(): Promise<void> {
    return this.#handshake;
  }

  /**
   * Encodes and queues one message; everything sent in the same tick leaves in one write.
   * @returns what happened to the message (see {@link SendStatus}).
   * @throws CodecError when the codec cannot encode it; FrameTooLargeError when it exceeds the
   * peer's `maxFrameSize`; QueueFullError when the queue is full and `overflow` is `"error"`.
   * Nothing is queued when it throws, and the connection stays open.
   */
  send(message: T): SendStatus {
    if (this.#state !== "open") return "closed";
    if (this.#identityCodec && message instanceof Uint8Array) return this.sendEncoded(message);
    let payload: Uint8Array;
    try {
      payload = this.#codec.encode(message);
    } catch (error) {
      throw error instanceof FramewireError ? error : new CodecError("codec failed to encode", { cause: error });
    }
    return this.sendEncoded(payload);
  }

  /** @internal Queues an already encoded payload (used by `Server.broadcast`). */
  sendEncoded(payload: Uint8Array): SendStatus {
    if (this.#state !== "open") return "closed";
    if (payload.length > this.#peerMaxFrame) {
      throw new FramewireError(ErrorCode.FRAME_TOO_LARGE, `message of ${payload.length} bytes exceeds the peer's limit of ${this.#peerMaxFrame}`);
    }
    const prefix = this.#framewire ? FrameType.DATA : -1;
    const bodyLength = payload.length + (prefix >= 0 ? 1 : 0);
    const queue = this.#queue;
    const at = queue.reserve(this.#u32Header ? 4 + bodyLength : this.#framer.encodedLength(bodyLength));
    if (queue.evictedFrames > 0) this.#reportEvictions();
    if (at < 0) {
      this.#drops++;
      return "dropped";
    }
    if (this.#u32Header) {
      // The common wire format, written inline: the frame size was checked against the peer above.
      const buffer = queue.buffer;
      buffer[at] = bodyLength >>> 24;
      buffer[at + 1] = (bodyLength >>> 16) & 0xff;
      buffer[at + 2] = (bodyLength >>> 8) & 0xff;
      buffer[at + 3] = bodyLength & 0xff;
      let p = at + 4;
      if (prefix >= 0) buffer[p++] = prefix;
      buffer.set(payload, p);
      queue.commit(p + payload.length);
    } else {
      queue.commit(this.#framer.encodeInto(queue.buffer, at, payload, prefix));
    }
    this.#framesOut++;
    if (queue.batchedBytes >= EAGER_WRITE_BYTES && !queue.waitingForDrain) {
      // A long burst in one tick: hand this much to the socket now so the pipe keeps flowing
      // while the caller goes on filling (drain bookkeeping stays with the tick's flush).
      queue.flush(this.#socket);
    }
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTask);
    }
    if (queue.bufferedAmount >= this.#options.highWaterMark) {
      this.#wantDrain = true;
      return "backpressure";
    }
    return "queued";
  }

  /**
   * Resolves when `bufferedAmount` is below `highWaterMark` (at once if it is already).
   * Rejects with `ConnectionClosedError` if the connection closes first.
   */
  drained(): Promise<void> {
    if (this.#state === "closed") return Promise.reject(new ConnectionClosedError());
    if (this.#queue.bufferedAmount < this.#options.highWaterMark) return Promise.resolve();
    this.#wantDrain = true;
    return new Promise((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Stops reading from the socket until `resume()`. */
  pause(): void {
    this.#userPaused = true;
    this.#applyReadState();
  }

  resume(): void {
    this.#userPaused = false;
    this.#applyReadState();
    this.#drainDecoder();
  }

  /**
   * Closes in order: framewire sends GOAWAY after everything queued, then both sides finish and
   * the socket closes; after `closeTimeoutMs` it is destroyed. Resolves with the close info.
   */
  close(code: string = CloseCode.NORMAL, reason = ""): Promise<CloseInfo> {
    this.#startClose({ code, reason, remote: false }, true);
    return this.#closed;
  }

  /** Closes at once, discarding anything queued. */
  destroy(error?: FramewireError): void {
    if (this.#state === "closed") return;
    this.#recordClose(error ? { code: error.code, reason: error.message, remote: false, error } : { code: CloseCode.NORMAL, reason: "destroyed", remote: false });
    this.#socket.destroy();
  }

  /** @internal Server side: refuses this socket (REJECT in framewire mode, then close). */
  refuse(reason: Reason): void {
    const error = new HandshakeRejectedError(reason.code, reason.reason);
    if (this.#framewire && this.#state === "handshaking") {
      this.#reject(reason);
    } else {
      this.#stopReading();
      this.#recordClose({ code: reason.code, reason: reason.reason, remote: false, error });
      // Not synchronously: the adapter is still inside its open callback.
      queueMicrotask(() => this.#socket.destroy());
    }
  }

  /** @internal Closes with an error raised outside the connection (e.g. a throwing `connection` listener). */
  fail(error: FramewireError): void {
    this.#fail(error);
  }

  /** Resolves once closed, with why. Never rejects. */
  closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  stats(): ConnectionStats {
    return {
      framesIn: this.#framesIn,
      framesOut: this.#framesOut,
      bytesIn: this.#bytesIn,
      bytesOut: this.#queue.bytesWritten,
      bufferedAmount: this.#queue.bufferedAmount,
      inboundQueued: this.#inbound.length,
      drops: this.#drops,
      rttMs: this.#rttMs,
      srttMs: this.#srttMs,
    };
  }

  /** Iterates received messages (when no `message` listener takes them). Ends when the connection closes. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.#inbound.next() };
  }

  protected override listenersChanged(event: keyof ConnectionEvents<T>): void {
    if (event !== "message") return;
    this.#messageListeners = this.listenersOf("message");
    this.#soleListener = this.#messageListeners?.length === 1 ? this.#messageListeners[0] : undefined;
    // Messages that arrived before the first listener go to it first, in order.
    if (this.#messageListeners !== undefined && this.#inbound.length > 0) {
      while (this.#state !== "closed" && this.#inbound.length > 0) this.#dispatch(this.#inbound.take() as T);
      this.#inbound.clearFull();
      if (this.#readPaused) this.#resumeReading();
    }
  }

  // ───────────────────────── inbound ─────────────────────────

  #onData(chunk: Uint8Array): void {
    if (this.#readFailed || this.#state === "closed") return;
    this.#bytesIn += chunk.length;
    this.#inboundSeen = true;
    this.#parsing = true;
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (error) {
      this.#readFailed = true;
      this.#fail(this.#inboundError(error));
    } finally {
      this.#parsing = false;
    }
  }

  #drainDecoder(): void {
    if (this.#parsing) {
      // Called from inside a frame callback: the decoder is mid-chunk; continue once it returns.
      queueMicrotask(() => this.#drainDecoder());
      return;
    }
    if (this.#readFailed || !this.#decoder.stopped || this.#readPaused || this.#userPaused) return;
    this.#parsing = true;
    try {
      this.#decoder.resume(this.#onFrame);
    } catch (error) {
      this.#readFailed = true;
      this.#fail(this.#inboundError(error));
    } finally {
      this.#parsing = false;
    }
  }

  /** framewire frame bodies carry the type byte; report sizes as the payload sizes users configure. */
  #inboundError(error: unknown): FramewireError {
    if (this.#inListener) {
      // A sole listener threw (it runs without a try/catch of its own, see #onFrame).
      this.#inListener = false;
      return new HandlerError("message listener", error);
    }
    if (this.#framewire && error instanceof FrameTooLargeError && error.code === ErrorCode.FRAME_TOO_LARGE) {
      return new FrameTooLargeError(error.size - 1, error.limit - 1);
    }
    return toFramewireError(error, ErrorCode.MALFORMED_FRAME);
  }

  /** Every frame body passes here. Arrow function: handed to the decoder without rebinding. */
  readonly #onFrame = (bytes: Uint8Array, start: number, end: number): void => {
    const sole = this.#soleListener;
    if (sole !== undefined && this.#identityCodec && this.#state === "open") {
      // Hot path: a payload to the one listener, no codec call, no try/catch per message (a
      // throw unwinds the decoder to #onData, which sees #inListener and reports a HandlerError).
      if (!this.#framewire) {
        this.#framesIn++;
        this.#inListener = true;
        sole(bytes.subarray(start, end) as T);
        this.#inListener = false;
        return;
      }
      if (end > start && bytes[start] === FrameType.DATA) {
        this.#framesIn++;
        this.#inListener = true;
        sole(bytes.subarray(start + 1, end) as T);
        this.#inListener = false;
        return;
      }
    }
    if (!this.#framewire) {
      this.#framesIn++;
      if (this.#state === "open" || this.#state === "closing") this.#deliver(bytes.subarray(start, end));
      return;
    }
    if (start === end) throw new ProtocolError("empty framewire frame (no type byte)", ErrorCode.MALFORMED_FRAME);
    const type = bytes[start] as number;
    if (type === FrameType.DATA) {
      if (this.#state === "open" || this.#state === "closing") {
        this.#framesIn++;
        this.#deliver(bytes.subarray(start + 1, end));
        return;
      }
      throw new ProtocolError(this.#state === "handshaking" ? "DATA before the handshake completed" : "DATA after close");
    }
    this.#onControl(type, bytes.subarray(start + 1, end));
  };

  #deliver(payload: Uint8Array): void {
    let message: T;
    try {
      message = this.#codec.decode(payload);
    } catch (error) {
      this.#stopReading();
      throw error instanceof FramewireError ? error : new CodecError("codec failed to decode", { cause: error });
    }
    if (this.#messageListeners !== undefined) {
      this.#dispatch(message);
      return;
    }
    if (!this.#inbound.push(message)) {
      this.#readPaused = true;
      this.#applyReadState();
    }
  }

  #dispatch(message: T): void {
    const listeners = this.#messageListeners;
    if (listeners === undefined) return;
    try {
      for (let i = 0; i < listeners.length; i++) (listeners[i] as (m: T) => void)(message);
    } catch (error) {
      this.#stopReading();
      this.#fail(new HandlerError("message listener", error));
    }
  }

  /** After a fatal inbound error: parse nothing more. */
  #stopReading(): void {
    this.#readFailed = true;
    this.#decoder.stop();
  }

  #resumeReading(): void {
    this.#readPaused = false;
    this.#applyReadState();
    this.#drainDecoder();
  }

  #applyReadState(): void {
    if (this.#state === "closed") return;
    if (this.#readPaused || this.#userPaused) {
      this.#decoder.stop();
      this.#socket.pause();
    } else {
      this.#socket.resume();
    }
  }

  #onControl(type: number, body: Uint8Array): void {
    switch (type) {
      case FrameType.HELLO:
        if (this.role !== "server" || this.#state !== "handshaking" || this.#helloSeen) {
          throw new ProtocolError("unexpected HELLO");
        }
        this.#helloSeen = true;
        this.#onHello(decodeHello(body));
        return;
      case FrameType.WELCOME: {
        if (this.role !== "client" || this.#state !== "handshaking") throw new ProtocolError("unexpected WELCOME");
        const welcome = decodeWelcome(body);
        if (welcome.version < PROTOCOL_VERSION_MIN || welcome.version > PROTOCOL_VERSION_MAX) {
          throw new HandshakeError(ErrorCode.VERSION_MISMATCH, `server chose unsupported version ${welcome.version}`);
        }
        this.version = welcome.version;
        this.sessionId = welcome.session;
        this.peerTags = welcome.tags ?? {};
        this.#peerMaxFrame = welcome.maxFrameSize;
        this.#open(welcome.heartbeatMs);
        return;
      }
      case FrameType.REJECT: {
        if (this.role !== "client" || this.#state !== "handshaking") throw new ProtocolError("unexpected REJECT");
        const reason = decodeReason(body, "REJECT");
        const error = new HandshakeRejectedError(reason.code, reason.reason);
        this.#stopReading();
        this.#rejectHandshake(error);
        this.#recordClose({ code: ErrorCode.HANDSHAKE_REJECTED, reason: `${reason.code}: ${reason.reason}`, remote: true, error });
        this.#startClose(this.#closeInfo as CloseInfo, false);
        return;
      }
      case FrameType.PING:
        if (this.#state === "handshaking") throw new ProtocolError("PING before the handshake completed");
        // A peer that floods PINGs and never reads must not grow our queue without bound:
        // past the limit the PONG is skipped (any frame proves liveness to it anyway).
        if (this.#queue.bufferedAmount < this.#options.maxBufferedBytes) this.#sendControl(FrameType.PONG, body.slice());
        return;
      case FrameType.PONG:
        if (this.#state === "handshaking") throw new ProtocolError("PONG before the handshake completed");
        this.#onPong(body);
        return;
      case FrameType.GOAWAY: {
        if (this.#state === "handshaking") throw new ProtocolError("GOAWAY before the handshake completed");
        const reason = decodeReason(body, "GOAWAY");
        const error = reason.code === CloseCode.NORMAL || reason.code === ErrorCode.SHUTDOWN ? undefined : new FramewireError(reason.code, `peer closed: ${reason.reason}`);
        this.#recordClose({ ...reason, remote: true, ...(error ? { error } : {}) });
        try {
          this.emit("goaway", reason);
        } catch (listenerError) {
          this.#reportError(new HandlerError("goaway listener", listenerError));
        }
        this.#startClose(this.#closeInfo as CloseInfo, false);
        return;
      }
      default:
        throw new ProtocolError(`frame type 0x${type.toString(16).padStart(2, "0")} is not part of protocol version ${this.version || 1}`);
    }
  }

  #helloSeen = false;

  #onHello(hello: Hello): void {
    const server = this.#serverHandshake;
    if (server === undefined) throw new ProtocolError("unexpected HELLO");
    const version = chooseVersion(hello.minVersion, hello.maxVersion);
    if (version < 0) {
      this.#reject({ code: ErrorCode.VERSION_MISMATCH, reason: `server speaks versions ${PROTOCOL_VERSION_MIN}-${PROTOCOL_VERSION_MAX}, client ${hello.minVersion}-${hello.maxVersion}` });
      return;
    }
    this.version = version;
    this.peerTags = hello.tags ?? {};
    if (hello.maxFrameSize !== undefined) this.#peerMaxFrame = hello.maxFrameSize;
    let verdict: ReturnType<ServerHandshake["accept"]>;
    try {
      verdict = server.accept(hello, this as Connection<unknown>);
    } catch (error) {
      this.#reject({ code: ErrorCode.HANDLER, reason: new HandlerError("verifyHandshake", error).message });
      return;
    }
    const settle = (result: { session: string } | Reason): void => {
      if (this.#state !== "handshaking") return;
      if ("code" in result) {
        this.#reject(result);
        return;
      }
      this.sessionId = result.session;
      this.#sendControl(
        FrameType.WELCOME,
        encodeWelcome({ version, session: result.session, tags: server.tags, maxFrameSize: this.#options.maxFrameSize, heartbeatMs: server.heartbeatMs }),
      );
      this.#open(server.heartbeatMs);
      server.opened(this as Connection<unknown>);
    };
    if (verdict instanceof Promise) {
      // Frames after HELLO wait for the verdict: nothing reaches the application before WELCOME.
      this.#userPaused = true;
      this.#applyReadState();
      verdict.then(
        (result) => {
          this.#userPaused = false;
          settle(result);
          this.#applyReadState();
          this.#drainDecoder();
        },
        (error: unknown) => {
          this.#userPaused = false;
          if (this.#state === "handshaking") this.#reject({ code: ErrorCode.HANDLER, reason: new HandlerError("verifyHandshake", error).message });
          this.#applyReadState(); // keep reading (and discarding) so the peer's FIN is seen
        },
      );
    } else {
      settle(verdict);
    }
  }

  /** Server side: refuse the handshake with a code the client receives, then close. */
  #reject(reason: Reason): void {
    this.#stopReading();
    this.#sendControl(FrameType.REJECT, encodeReason(reason));
    const error = new HandshakeRejectedError(reason.code, reason.reason);
    this.#rejectHandshake(error);
    this.#startClose({ code: ErrorCode.HANDSHAKE_REJECTED, reason: `${reason.code}: ${reason.reason}`, remote: false, error }, false);
  }

  #open(heartbeatMs: number): void {
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    this.#state = "open";
    if (heartbeatMs > 0) {
      this.#heartbeatTimeoutMs = this.#options.heartbeatTimeoutMs ?? 2 * heartbeatMs;
      this.#heartbeatTimer = setInterval(() => this.#heartbeat(), heartbeatMs);
    }
    this.#resolveHandshake();
  }

  #heartbeat(): void {
    const now = performance.now();
    // While we choose not to read, the peer's frames wait in the kernel: that is not silence.
    if (this.#inboundSeen || this.#readPaused || this.#userPaused) this.#lastInbound = now;
    this.#inboundSeen = false;
    const silent = now - this.#lastInbound;
    if (silent > this.#heartbeatTimeoutMs) {
      this.#fail(new HeartbeatTimeoutError(silent));
      return;
    }
    const ping = new Uint8Array(8);
    new DataView(ping.buffer).setFloat64(0, now);
    this.#sendControl(FrameType.PING, ping);
  }

  #onPong(body: Uint8Array): void {
    if (body.length !== 8) return; // not one of ours
    const sentAt = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0);
    const rtt = performance.now() - sentAt;
    if (!(rtt >= 0) || rtt > 3_600_000) return;
    this.#rttMs = rtt;
    this.#srttMs = this.#srttMs === undefined ? rtt : this.#srttMs + (rtt - this.#srttMs) / 8;
  }

  // ───────────────────────── outbound ─────────────────────────

  /** Control frames skip the overflow bound: they are tiny and must not be lost. */
  #sendControl(type: number, body: Uint8Array): void {
    if (this.#endSent || this.#state === "closed") return; // our side is finished: nothing more can be written
    const queue = this.#queue;
    const at = queue.reserve(this.#framer.encodedLength(body.length + 1), true);
    queue.commit(this.#framer.encodeInto(queue.buffer, at, body, type));
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#state === "closed") return;
    const queue = this.#queue;
    if (!queue.flush(this.#socket)) return; // closed: the close callback follows
    const buffered = queue.bufferedAmount;
    if (this.#wantDrain && buffered < this.#options.highWaterMark) {
      this.#wantDrain = false;
      for (const waiter of this.#drainWaiters.splice(0)) waiter.resolve();
      try {
        this.emit("drain");
      } catch (error) {
        this.#fail(new HandlerError("drain listener", error));
        return;
      }
    }
    if (buffered === 0 && this.#state === "closing" && !this.#endSent) {
      this.#endSent = true;
      // Once both sides have sent FIN the adapter closes the socket itself; destroying here
      // could reset the connection before the peer read our last bytes.
      this.#socket.end();
    }
  }

  #reportEvictions(): void {
    const messages = this.#queue.evictedFrames;
    this.#drops += messages;
    this.#framesOut -= messages;
    try {
      this.emit("drop", { messages, bytes: this.#queue.evictedBytes });
    } catch (error) {
      this.#reportError(new HandlerError("drop listener", error));
    }
  }

  // ───────────────────────── lifecycle ─────────────────────────

  #configureSocket(): void {
    const socket = this.#socket;
    socket.setNoDelay(this.#options.noDelay);
    const keepAlive = this.#options.keepAlive;
    if (keepAlive !== false) socket.setKeepAlive(true, keepAlive === true ? undefined : keepAlive);
  }

  /** A local failure: report it, tell the peer why (GOAWAY with the code), close. */
  #fail(error: FramewireError): void {
    if (this.#state === "closed") return;
    this.#stopReading();
    this.#rejectHandshake(error);
    const info: CloseInfo = { code: error.code, reason: error.message, remote: false, error };
    this.#recordClose(info);
    this.#reportError(error);
    this.#startClose(info, true);
  }

  #reportError(error: FramewireError): void {
    try {
      this.emit("error", error);
    } catch {
      // An error listener that throws has nowhere better to go; the close event still follows.
    }
  }

  #startClose(info: CloseInfo, sendGoaway: boolean): void {
    if (this.#state === "closing" || this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#recordClose(info);
    this.#state = "closing";
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    if (!wasOpen) {
      this.#rejectHandshake(info.error ?? new ConnectionClosedError("closed during the handshake"));
      // Whatever the peer sends now cannot complete a handshake we have given up on.
      this.#stopReading();
    }
    if (sendGoaway && this.#framewire && !info.remote) {
      const reason = encodeReason({ code: info.code, reason: info.reason });
      // Open: GOAWAY. Server mid-handshake: the client waits for WELCOME or REJECT, so REJECT says why.
      if (wasOpen) this.#sendControl(FrameType.GOAWAY, reason);
      else if (this.role === "server") this.#sendControl(FrameType.REJECT, reason);
    }
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), this.#options.closeTimeoutMs);
    this.#flush();
  }

  #recordClose(info: CloseInfo): void {
    if (this.#closeInfo === undefined) this.#closeInfo = info;
  }

  #onPeerEnd(): void {
    this.#peerEnded = true;
    if (this.#state === "closed") return;
    try {
      this.emit("end");
    } catch (error) {
      this.#reportError(new HandlerError("end listener", error));
    }
    if (this.#endSent) return; // both sides done: the adapter closes the socket
    if (this.#state === "closing") return; // #flush sends FIN once the queue is empty
    if (this.#options.allowHalfOpen && !this.#framewire) return;
    this.#startClose(
      this.#state === "handshaking"
        ? { code: ErrorCode.PROTOCOL, reason: "peer closed during the handshake", remote: true, error: new ProtocolError("peer closed during the handshake") }
        : { code: CloseCode.PEER_CLOSED, reason: "peer closed", remote: true },
      false,
    );
  }

  #onSocketClose(error?: Error): void {
    if (this.#state === "closed") return;
    const previous = this.#state;
    this.#state = "closed";
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    if (this.#handshakeTimer !== undefined) clearTimeout(this.#handshakeTimer);
    if (this.#heartbeatTimer !== undefined) clearInterval(this.#heartbeatTimer);
    this.#closeTimer = this.#handshakeTimer = this.#heartbeatTimer = undefined;
    if (this.#closeInfo === undefined) {
      if (error !== undefined) {
        const wrapped = new SocketError(`socket error: ${error.message}`, { cause: error });
        this.#closeInfo = { code: ErrorCode.SOCKET, reason: wrapped.message, remote: true, error: wrapped };
        this.#reportError(wrapped);
      } else {
        this.#closeInfo = { code: CloseCode.PEER_CLOSED, reason: "peer closed", remote: true };
      }
    }
    const info = this.#closeInfo;
    if (previous === "handshaking") this.#rejectHandshake(info.error ?? new ConnectionClosedError("closed during the handshake"));
    this.#queue.clear();
    for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(new ConnectionClosedError());
    this.#inbound.end(info.error);
    try {
      this.emit("close", info);
    } catch {
      // Nothing left to close; the closed() promise still resolves.
    }
    this.#resolveClosed(info);
  }
}

