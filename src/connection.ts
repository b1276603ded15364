import type { TlsInfo } from "./tls/info.ts";
import { TlsError } from "./tls/errors.ts";
import type { RawSocket, SocketAdapter, SocketHandlers } from "./adapter.ts";
import { bufferCodec, type Codec, encodeWith } from "./codec/index.ts";
import { isBuiltIn } from "./codec/codec.ts";
import { type AnyCode, CloseCode, ErrorCode, isSendableCode, truncateReason } from "./codes.ts";
import type { CloseInfo, ConnectionEvents, ConnectionState, ConnectionStats, MessagesOptions, SendStatus } from "./connection-types.ts";
import { TypedEmitter } from "./emitter.ts";
import {
  CodecError,
  ConnectionClosedError,
  FrameTooLargeError,
  FramewireError,
  HandlerError,
  HandshakeRejectedError,
  HeartbeatTimeoutError,
  IdleTimeoutError,
  InvalidOptionError,
  InvalidUseError,
  MalformedFrameError,
  PeerError,
  PendingBudgetError,
  ProtocolError,
  QueueFullError,
  reasonForPeer,
  SlowPeerError,
  SocketError,
  toFramewireError,
} from "./errors.ts";
import { ConnectionLimits, type ReceiveWatchdogHost } from "./limits/connection-limits.ts";
import type { MinReceiveRate } from "./limits/options.ts";
import type { PendingFrameShare } from "./limits/pending-budget.ts";
import { InboundLimit, type InboundLimitHost } from "./flow/inbound-limit.ts";
import { InboundQueue } from "./flow/inbound-queue.ts";
import { OutboundQueue } from "./flow/outbound-queue.ts";
import { RateLimiter } from "./flow/rate-limiter.ts";
import { ReadTurn, type ReadTurnHost } from "./flow/read-turn.ts";
import { encodeFrame, SendLanes, type SendLanesHost, type SendOptions, sendLevel } from "./flow/send-lanes.ts";
import { countUndelivered } from "./flow/undelivered.ts";
import { type FrameDecoder, type Framer, LengthPrefixedDecoder, LengthPrefixedFramer } from "./framing/index.ts";
import type { AuthIdentity } from "./auth/authenticator.ts";
import type { ResolvedClientAuth } from "./auth/client-auth.ts";
import { type AgreedSession, Handshake, type HandshakeHost, type Negotiated, type ServerHandshake as ServerHandshakeOf } from "./handshake.ts";
import { Heartbeat, type HeartbeatHost } from "./heartbeat.ts";
import type { ResolvedConnectionOptions } from "./options.ts";
import { decodeAck, encodeAck } from "./protocol/resume.ts";
import type { ResolvedResume } from "./session/options.ts";
import type { Session } from "./session/session.ts";
import { boolean, plainObject, rejectUnknownKeys } from "./validate.ts";
import { decodeReason, encodeReason, FrameType, MAX_CONTROL_FIELDS, MAX_HANDSHAKE_FIELDS, type Reason } from "./protocol/wire.ts";

export type { CloseInfo, ConnectionEvents, ConnectionState, ConnectionStats, MessagesOptions, SendStatus } from "./connection-types.ts";

/** What the server supplies to run the server side of the handshake (see `src/handshake.ts`). */
export type ServerHandshake = ServerHandshakeOf<Connection<unknown>>;

/**
 * Told of a connection's errors and its close before its own listeners are (the server's
 * bookkeeping). One object serves every connection of a server: no closures per connection.
 */
export interface ConnectionOwner {
  errored(connection: Connection<unknown>, error: FramewireError): void;
  closed(connection: Connection<unknown>, info: CloseInfo): void;
  /** It started closing (told once, before `closed`; not for a socket that closes without closing first). */
  closing?(connection: Connection<unknown>): void;
}

/** What a connection's `send()` can answer (`"offline"` is a reconnecting client's). */
export type ConnectionSendStatus = Exclude<SendStatus, "offline">;

/** Stands in for a settled promise's resolvers, so theirs can be let go. */
const SETTLED = (): void => {};

/**
 * Within one tick, sends are coalesced into one write — but no more than this many bytes wait for
 * the tick to end: a burst is written in batches of this size as it is produced, like a careful
 * hand-written sender would.
 */
const EAGER_WRITE_BYTES = 64 * 1024;

const MESSAGES_KEYS: ReadonlySet<string> = new Set(["keepOpen"]);

/** Heap a decoded JSON/CBOR value takes, roughly (measured 40–65 bytes for an empty object in an array). */
const DECODED_ITEM_BYTES = 48;

/** Writes a u32 big-endian length header at `at`. */
function writeU32(buffer: Uint8Array, at: number, value: number): void {
  buffer[at] = value >>> 24;
  buffer[at + 1] = (value >>> 16) & 0xff;
  buffer[at + 2] = (value >>> 8) & 0xff;
  buffer[at + 3] = value & 0xff;
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
  #sessionId = "";
  #peerTags: Readonly<Record<string, string>> = {};
  #version = 0;
  #identity: AuthIdentity | undefined;

  readonly #socket: RawSocket;
  readonly #options: ResolvedConnectionOptions;
  readonly #codec: Codec<T>;
  readonly #framer: Framer;
  readonly #decoder: FrameDecoder;
  /** framewire: the decoder, whose frame limit changes when the handshake completes. */
  readonly #framewireDecoder: LengthPrefixedDecoder | undefined;
  readonly #queue: OutboundQueue;
  readonly #inbound: InboundQueue<T>;
  readonly #framewire: boolean;
  readonly #owner: ConnectionOwner | undefined;
  /** Priority lanes (with a rate limit, or once a send named a priority); see `src/flow/send-lanes.ts`. */
  #lanes: SendLanes | undefined;
  /**
   * Tokens granted for a run of sends and not spent yet (see `SendLanes.grant`). They may outlive
   * the tick: the bucket booked them as taken, so they never add to its burst. They go back before
   * the next grant, so a frame that waits in a lane is never overtaken.
   */
  #sendCredit = 0;
  /** The server's shared outbound limiter (`serverRateLimit`), if any. */
  readonly #sharedLimiter: RateLimiter | undefined;
  readonly #inboundLimit: InboundLimit | undefined;

  #state: ConnectionState;
  #messageListeners: readonly ((message: T) => void)[] | undefined;
  /** The listener, when exactly one is attached: called directly on the hot path. */
  #soleListener: ((message: T) => void) | undefined;
  /** True while a `message` listener runs without its own try/catch (see `#onFrame`). */
  #inListener = false;
  /** An iterator is consuming the messages (and no `message` listener may be attached). */
  #iterating = false;
  /** The buffer codec: payloads are the messages, no codec call either way. */
  readonly #identityCodec: boolean;
  /** One of framewire's codecs: its decode errors are framewire's text (a custom codec's are wrapped). */
  readonly #builtInCodec: boolean;
  /** The wire is `u32 BE length | body`: `sendEncoded` writes the header inline. */
  readonly #u32Header: boolean;
  /**
   * framewire with `maxFrameSize` below the control-frame allowance: the decoder admits frames up
   * to that allowance, so DATA is checked against `maxFrameSize` once its type byte is known.
   */
  readonly #checkDataSize: boolean;
  #flushScheduled = false;
  #wantDrain = false;
  #readPaused = false;
  #userPaused = false;
  /** The server holds frames after HELLO until `verifyHandshake` decided. */
  #handshakeHold = false;
  #readFailed = false;
  /** True while the decoder is inside push/resume (its callbacks must not re-enter it). */
  #parsing = false;
  #endSent = false;
  /** The peer's FIN arrived while unparsed frames were held: handled once they are parsed. */
  #peerEndPending = false;
  /** Where the last PONG queued ends in the outbound stream: until the kernel has that many bytes, a PING gets no PONG. */
  #pongEnd = 0;
  #closeInfo: CloseInfo | undefined;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  /** The resumable session this connection carries, when both sides agreed on one. */
  #session: Session | undefined;
  #resumed = false;
  /** An ACK is owed (sent at the end of the chunk being handled). */
  #ackDue = false;
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Where our last ACK ends in the outbound stream (like `#pongEnd`). */
  #ackEnd = 0;
  /** framewire, while handshaking: the handshake state machine. */
  #handshaker: Handshake<Connection<unknown>> | undefined;
  #heartbeat: Heartbeat | undefined;
  /** Bounds how long this connection's reads hold the event loop (see `ReadTurn`). */
  readonly #readTurn: ReadTurn;
  /** Largest payload the peer accepts (from WELCOME or HELLO; raw: what the framer can send). */
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
  #undelivered = 0;
  /** Idle timeout, minimum receive rate, PONG budget, the server's partial-frame budget. */
  readonly #limits: ConnectionLimits;

  readonly #port: SocketHandlers & HeartbeatHost & ReadTurnHost & HandshakeHost & ReceiveWatchdogHost & SendLanesHost & InboundLimitHost;

  /**
   * The adapter's and the heartbeat's way in: one small object per connection with the callbacks
   * on its prototype, instead of a closure (and its context) per callback. Declared in the class
   * body so it may call the connection's private methods.
   */
  static readonly #Port = class ConnectionPort implements SocketHandlers, HeartbeatHost, ReadTurnHost, HandshakeHost, ReceiveWatchdogHost, SendLanesHost, InboundLimitHost {
    readonly #c: Connection<unknown>;
    constructor(connection: Connection<unknown>) {
      this.#c = connection;
    }
    data(chunk: Uint8Array): void {
      this.#c.#onData(chunk);
    }
    drain(): void {
      this.#c.#flush();
    }
    released(bytes: Uint8Array): void {
      this.#c.#onReleased(bytes);
    }
    readTarget(): Uint8Array | undefined {
      const c = this.#c;
      return c.#readFailed || c.#state === "closed" ? undefined : c.#decoder.readTarget?.();
    }
    end(): void {
      this.#c.#onPeerEnd();
    }
    close(error?: Error): void {
      this.#c.#onSocketClose(error);
    }
    ping(body: Uint8Array): void {
      this.#c.#sendControl(FrameType.PING, body);
    }
    timedOut(silentMs: number): void {
      this.#c.#fail(new HeartbeatTimeoutError(silentMs));
    }
    readPaused(): boolean {
      return this.#c.#readPaused || this.#c.#userPaused || this.#c.#inboundLimit?.paused === true;
    }
    write(): boolean {
      return this.#c.#queue.flush(this.#c.#socket);
    }
    flush(): void {
      this.#c.#flush();
    }
    inboundTokens(): void {
      this.#c.#applyReadState();
    }
    turnBack(): void {
      this.#c.#applyReadState();
      this.#c.#drainDecoder();
    }
    sendControl(type: number, body: Uint8Array): void {
      this.#c.#sendControl(type, body);
    }
    holdReading(hold: boolean): void {
      const c = this.#c;
      c.#handshakeHold = hold;
      c.#applyReadState();
      if (!hold) c.#drainDecoder();
    }
    agreed(result: Negotiated): void {
      this.#c.#open(result);
    }
    refused(reason: Reason, error: FramewireError, local: boolean): void {
      const c = this.#c;
      c.#stopReading();
      c.#failHandshake(error);
      c.#startClose({ code: ErrorCode.HANDSHAKE_REJECTED, reason: `${reason.code}: ${reason.reason}`, remote: !local, error }, false);
    }
    handshakeFailed(error: FramewireError): void {
      this.#c.#fail(error);
    }
    receivedBytes(): number {
      return this.#c.#bytesIn;
    }
    sentBytes(): number {
      return this.#c.#queue.bytesFlushed;
    }
    partialBytes(): number {
      return this.#c.#partialBytes();
    }
    idle(idleMs: number): void {
      this.#c.#fail(new IdleTimeoutError(idleMs));
    }
    slow(received: number, windowMs: number, rate: MinReceiveRate): void {
      this.#c.#fail(new SlowPeerError(received, windowMs, rate.bytesPerSecond));
    }
  };

  /** @internal Created by `Server` and `connect()`; not constructed by users. */
  constructor(init: {
    id: number;
    role: "client" | "server";
    socket: RawSocket;
    adapter: SocketAdapter;
    options: ResolvedConnectionOptions;
    codec: Codec<T>;
    serverHandshake?: ServerHandshake;
    owner?: ConnectionOwner;
    hello?: { app?: string };
    /** Client, resume on: the bounds, and the session to offer for re-attaching. */
    resume?: { limits: ResolvedResume; offer: Session | undefined };
    /** Server side: this connection's share of the server's partial-frame budget. */
    pending?: PendingFrameShare;
    /** Client, authenticated handshake. */
    auth?: ResolvedClientAuth;
    /** The server's outbound limiter shared by its connections (`serverRateLimit`). */
    sharedLimiter?: RateLimiter;
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
    this.#owner = init.owner;
    if (this.#framewire) {
      // The body is one type byte plus the fields. Control frames may use their allowance even
      // when maxFrameSize is smaller; before the handshake only a handshake frame fits.
      const framer = new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: Math.max(options.maxFrameSize, MAX_CONTROL_FIELDS) + 1 });
      this.#framer = framer;
      this.#framewireDecoder = framer.createDecoder();
      this.#framewireDecoder.maxFrameSize = MAX_HANDSHAKE_FIELDS + 1;
      this.#decoder = this.#framewireDecoder;
      this.#peerMaxFrame = options.maxFrameSize;
    } else {
      this.#framer = options.framer as Framer;
      this.#framewireDecoder = undefined;
      this.#decoder = this.#framer.createDecoder();
      this.#peerMaxFrame = this.#framer instanceof LengthPrefixedFramer ? this.#framer.maxFrameSize : Number.POSITIVE_INFINITY;
    }
    this.#checkDataSize = this.#framewire && options.maxFrameSize < MAX_CONTROL_FIELDS;
    this.#identityCodec = init.codec === (bufferCodec as Codec<unknown>);
    this.#builtInCodec = isBuiltIn(init.codec);
    this.#u32Header =
      this.#framewire || (this.#framer instanceof LengthPrefixedFramer && this.#framer.headerBytes === 4 && !this.#framer.littleEndian);
    this.#queue = new OutboundQueue({
      maxBufferedBytes: options.maxBufferedBytes,
      overflow: options.overflow,
      reuseBuffers: !init.adapter.capabilities.retainsWrites,
    });
    this.#inbound = new InboundQueue<T>(options.maxInboundMessages, () => this.#resumeReading(), options.maxInboundBytes);
    this.remoteAddress = init.socket.remoteAddress;
    this.remotePort = init.socket.remotePort;
    this.#closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    this.#handshake = new Promise<void>((resolve, reject) => {
      this.#resolveHandshake = resolve;
      this.#rejectHandshake = reject;
    });
    // connect() and the server observe the handshake; never leave it unhandled.
    this.#handshake.catch(SETTLED);

    this.#port = new Connection.#Port(this as Connection<unknown>);
    this.#readTurn = new ReadTurn(this.#port);
    this.#limits = new ConnectionLimits(this.#port, options.limits, init.pending);
    this.#sharedLimiter = init.sharedLimiter;
    if (options.rateLimit !== undefined || init.sharedLimiter !== undefined) this.#lanes = this.#createLanes();
    this.#inboundLimit = options.inboundRateLimit === undefined ? undefined : new InboundLimit(this.#port, options.inboundRateLimit);

    this.#configureSocket();
    if (this.#framewire) {
      this.#state = "handshaking";
      this.#handshaker = new Handshake<Connection<unknown>>(
        this.#port,
        { timeoutMs: options.handshakeTimeoutMs, maxFrameSize: options.maxFrameSize, tags: options.tags, app: init.hello?.app, resume: init.resume, auth: init.auth },
        this as Connection<unknown>,
        init.serverHandshake,
      );
    } else {
      this.#state = "open";
      this.#settleHandshake();
    }
  }

  /** framewire: session id from WELCOME (empty before it, and in raw mode). */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** framewire: the peer's tags from HELLO or WELCOME: the peer's word, not checked. */
  get peerTags(): Readonly<Record<string, string>> {
    return this.#peerTags;
  }

  /** @internal Why it closed (or is closing); undefined while open. */
  get closeInfo(): CloseInfo | undefined {
    return this.#closeInfo;
  }

  /** True when this connection continues a resumable session an earlier connection carried (same `sessionId`). */
  get resumed(): boolean {
    return this.#resumed;
  }

  /** @internal The resumable session, if both sides agreed on one. */
  get session(): Session | undefined {
    return this.#session;
  }

  /** Over TLS: the negotiated protocol, cipher, ALPN and the peer's certificate; undefined on plain TCP. */
  get tls(): TlsInfo | undefined {
    return this.#socket.tls;
  }

  /** Server side, authenticated handshake: the scheme and key id the client proved (undefined: not authenticated). */
  get identity(): AuthIdentity | undefined {
    return this.#identity;
  }

  /** framewire: the negotiated protocol version (0 in raw mode). */
  get version(): number {
    return this.#version;
  }

  /** `"handshaking"`, `"open"`, `"closing"` or `"closed"`. */
  get state(): ConnectionState {
    return this.#state;
  }

  /** Bytes queued by `send()` and not yet accepted by the socket. */
  /** @internal Socket callbacks for the adapter. */
  get handlers(): SocketHandlers {
    return this.#port;
  }

  /** Outbound bytes not yet handed to the kernel (see {@link ConnectionStats.bufferedAmount}). */
  get bufferedAmount(): number {
    return this.#queue.bufferedAmount + (this.#lanes?.bytes ?? 0);
  }

  /** True while a `messages()` iterator consumes this connection's messages. */
  get iterating(): boolean {
    return this.#iterating;
  }

  /** Resolves once the handshake completed (at once in raw mode); rejects if it failed. */
  get ready(): Promise<void> {
    return this.#handshake;
  }

  /**
   * Encodes and queues one message; sends within one tick are coalesced into writes of up to 64 KiB.
   * @returns what happened to the message (see {@link SendStatus}).
   * @throws CodecError when the codec cannot encode it; FrameTooLargeError when it exceeds the
   * peer's `maxFrameSize`; QueueFullError when the queue is full and `overflow` is `"error"`.
   * Nothing is queued (and nothing evicted) when it throws, and the connection stays open.
   * With `options.priority`, messages still waiting (throttled by `rateLimit`, or behind a busy
   * socket) go most urgent first; see {@link SendOptions}.
   * @throws InvalidOptionError for a bad `options`; InvalidUseError for a priority other than
   * `"normal"` on a resumable session.
   */
  send(message: T, options?: SendOptions): ConnectionSendStatus {
    if (this.#identityCodec && message instanceof Uint8Array) return this.sendEncoded(message, options);
    if (this.#state !== "open") return "closed";
    return this.sendEncoded(encodeWith(this.#codec, message), options);
  }

  /** @internal Queues an already encoded payload (used by `Server.broadcast`). */
  sendEncoded(payload: Uint8Array, options?: SendOptions): ConnectionSendStatus {
    if (this.#state !== "open") return "closed";
    if (payload.length > this.#peerMaxFrame) throw new FrameTooLargeError(payload.length, this.#peerMaxFrame);
    let level = 1;
    if (options !== undefined) {
      level = sendLevel(options, this.#session !== undefined);
      if (level !== 1) {
        const lanes = (this.#lanes ??= this.#createLanes());
        this.#refundSendCredit(lanes);
        lanes.prioritize();
      }
    }
    const session = this.#session;
    if (session !== undefined && session.log.bytes + payload.length > session.limits.maxUnackedBytes) {
      // The retransmit log is full: the peer has not acknowledged enough yet.
      if (this.#options.overflow === "error") throw new QueueFullError(session.log.bytes, session.limits.maxUnackedBytes);
      this.#drops++;
      this.#wantDrain = true;
      return "dropped";
    }
    const lanes = this.#lanes;
    if (lanes !== undefined) {
      // The limiter is asked once per run of sends, not per frame (see SendLanes.grant).
      const size = this.#wireSize(payload);
      if (this.#sendCredit >= size) this.#sendCredit -= size;
      else if (!this.#admit(lanes, size)) return this.#sendLaned(lanes, payload, level);
    }
    const queue = this.#queue;
    /** Where the frame ends in the batch, which is then this long; -1: dropped. */
    let end: number;
    if (this.#u32Header) {
      // The common wire format, written by the queue in one call.
      end = queue.appendU32(payload, this.#framewire ? FrameType.DATA : -1);
    } else {
      // Every check that can refuse the message runs before room is made: drop-oldest must not
      // evict queued messages for one that is then refused.
      this.#framer.checkPayload?.(payload);
      end = queue.reserve(this.#framer.encodedLength(payload.length));
      if (end >= 0) {
        end = this.#framer.encodeInto(queue.buffer, end, payload, -1);
        queue.commit(end);
      }
    }
    const evicted = queue.evictedFrames;
    if (end < 0) {
      this.#drops++;
      if (evicted > 0) this.#reportEvictions(evicted, queue.evictedBytes);
      return "dropped";
    }
    this.#framesOut++;
    if (session !== undefined) session.log.append(payload);
    if (end >= EAGER_WRITE_BYTES && !queue.waitingForDrain) {
      // A long burst in one tick: hand this much to the socket now so the pipe keeps flowing
      // while the caller goes on filling (drain bookkeeping stays with the tick's flush).
      queue.flush(this.#socket);
    }
    this.#scheduleFlush();
    let status: ConnectionSendStatus = "queued";
    if (!this.#drainable()) {
      this.#wantDrain = true;
      status = "backpressure";
    }
    // Last, once this frame is committed: a drop listener may send or close re-entrantly.
    if (evicted > 0) this.#reportEvictions(evicted, queue.evictedBytes);
    return status;
  }

  /** A DATA frame that may not go into the batch yet waits in its lane (see `src/flow/send-lanes.ts`). */
  #sendLaned(lanes: SendLanes, payload: Uint8Array, level: number): ConnectionSendStatus {
    const frame = encodeFrame(payload, this.#u32Header ? (this.#framewire ? FrameType.DATA : -1) : undefined, this.#framer);
    const queued = lanes.enqueue(frame, level);
    const evicted = lanes.evictedFrames;
    if (evicted > 0) this.#framesOut -= evicted;
    if (!queued) {
      this.#drops++;
      if (evicted > 0) this.#reportEvictions(evicted, lanes.evictedBytes);
      return "dropped";
    }
    this.#framesOut++;
    this.#session?.log.append(payload);
    this.#scheduleFlush();
    let status: ConnectionSendStatus = "queued";
    if (!this.#drainable()) {
      this.#wantDrain = true;
      status = "backpressure";
    }
    if (evicted > 0) this.#reportEvictions(evicted, lanes.evictedBytes);
    return status;
  }

  /** Asks the lanes for the tokens of a frame of `size` bytes (and the frames after it); false: it waits in a lane. */
  #admit(lanes: SendLanes, size: number): boolean {
    // What is left of the last grant goes back first: a frame that waits must not be overtaken by a smaller one.
    this.#refundSendCredit(lanes);
    const granted = lanes.grant(size);
    if (granted === 0) return false;
    this.#sendCredit = granted - size;
    return true;
  }

  #refundSendCredit(lanes: SendLanes): void {
    if (this.#sendCredit === 0) return;
    lanes.refund(this.#sendCredit);
    this.#sendCredit = 0;
  }

  /** Bytes a DATA frame with this payload takes on the wire (what the rate limit counts). */
  #wireSize(payload: Uint8Array): number {
    if (this.#u32Header) return payload.length + (this.#framewire ? 5 : 4);
    this.#framer.checkPayload?.(payload);
    return this.#framer.encodedLength(payload.length);
  }

  #createLanes(): SendLanes {
    const limit = this.#options.rateLimit;
    return new SendLanes({
      queue: this.#queue,
      host: this.#port,
      own: limit === undefined ? undefined : new RateLimiter(limit),
      shared: this.#sharedLimiter,
      maxBufferedBytes: this.#options.maxBufferedBytes,
      overflow: this.#options.overflow,
    });
  }

  /** @internal A frame with `payloadLength` bytes fits the outbound bound now (or goes alone into an empty queue). */
  fits(payloadLength: number): boolean {
    const session = this.#session;
    if (session !== undefined && session.log.bytes + payloadLength > session.limits.maxUnackedBytes) return false;
    const buffered = this.bufferedAmount;
    return buffered === 0 || buffered + payloadLength + 16 <= this.#options.maxBufferedBytes;
  }

  /** @internal Emit `drain` once the queue is below `highWaterMark` again, whatever send() answered. */
  requestDrain(): void {
    this.#wantDrain = true;
  }

  /**
   * Resolves when `bufferedAmount` is below `highWaterMark` (at once if it is already).
   * Rejects with `ConnectionClosedError` if the connection closes first.
   */
  drained(): Promise<void> {
    if (this.#state === "closed") return Promise.reject(new ConnectionClosedError());
    if (this.#drainable()) return Promise.resolve();
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
   * Closes in order: framewire sends GOAWAY `{ code, reason }` after everything queued, then both
   * sides finish and the socket closes; after `closeTimeoutMs` it is destroyed. `reason` is cut
   * to `MAX_REASON_BYTES` of UTF-8. Resolves with the close info; never rejects.
   * @throws InvalidOptionError (synchronously) when `code` is not a well-formed code
   * (`[A-Z][A-Z0-9_]*`, ≤ 64 characters), or an `FW_` code framewire does not define.
   */
  close(code: AnyCode = CloseCode.NORMAL, reason = ""): Promise<CloseInfo> {
    if (!isSendableCode(code)) {
      throw new InvalidOptionError(`close code must match [A-Z][A-Z0-9_]* (at most 64 characters) and be your own or one of framewire's, got ${JSON.stringify(code)}`);
    }
    if (typeof reason !== "string") throw new InvalidOptionError("close reason must be a string");
    this.#startClose({ code, reason: truncateReason(reason), remote: false }, true);
    return this.#closed;
  }

  /** Closes at once, discarding anything queued. */
  destroy(error?: FramewireError): void {
    if (this.#state === "closed") return;
    this.#stopReading(); // the rest of a chunk being parsed is discarded too
    this.#recordClose(error ? { code: error.code, reason: error.message, remote: false, error } : { code: CloseCode.NORMAL, reason: "destroyed", remote: false });
    this.#socket.destroy();
  }

  /**
   * @internal Server side: refuses this socket (REJECT in framewire mode, then close). The peer
   * gets at most `lingerMs` to read REJECT and send FIN; with 0 the socket is destroyed unanswered.
   */
  refuse(reason: Reason, lingerMs = this.#options.closeTimeoutMs): void {
    if (lingerMs > 0 && this.#handshaker !== undefined && this.#state === "handshaking") {
      this.#handshaker.refuse(reason);
      if (lingerMs < this.#options.closeTimeoutMs && this.#closeTimer !== undefined) {
        clearTimeout(this.#closeTimer);
        this.#closeTimer = setTimeout(() => this.#socket.destroy(), lingerMs);
      }
    } else {
      this.#stopReading();
      this.#recordClose({ code: reason.code, reason: reason.reason, remote: false, error: new HandshakeRejectedError(reason.code, reason.reason) });
      // Not synchronously: the adapter is still inside its open callback.
      queueMicrotask(() => this.#socket.destroy());
    }
  }

  /** @internal Closes with an error raised outside the connection (e.g. a failing `connection` listener). */
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
      bufferedAmount: this.bufferedAmount,
      inboundQueued: this.#inbound.length,
      inboundQueuedBytes: this.#inbound.bytes,
      drops: this.#drops,
      undelivered: this.#undelivered,
      rttMs: this.#heartbeat?.rttMs,
      srttMs: this.#heartbeat?.srttMs,
    };
  }

  /** Same as {@link messages}`()`: `for await (const msg of conn)`. */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this.messages();
  }

  /**
   * Iterates received messages, in order, from a bounded queue; ends when the connection closes
   * (rejecting with its error, if it failed). One consumer at a time: while an iterator is active,
   * adding a `message` listener throws, and iterating while listeners are attached throws
   * (`FW_INVALID_USE`). Leaving the loop early (`break`, `return`, a throw) closes the connection
   * in order, like a web stream's reader; with `keepOpen` it only releases the iterator, and
   * later messages wait (bounded; reading pauses) for the next consumer.
   */
  messages(options: MessagesOptions = {}): AsyncIterableIterator<T> {
    plainObject("messages options", options);
    rejectUnknownKeys(options, MESSAGES_KEYS, "messages");
    const keepOpen = boolean("keepOpen", options.keepOpen, false);
    if (this.#messageListeners !== undefined) throw new InvalidUseError("cannot iterate a connection that has message listeners: use one or the other");
    if (this.#iterating) throw new InvalidUseError("this connection is already being iterated: one iterator at a time");
    this.#iterating = true;
    let finished = false;
    const iterator: AsyncIterableIterator<T> = {
      next: () => (finished ? Promise.resolve({ value: undefined, done: true }) : this.#inbound.next()),
      return: () => {
        if (!finished) {
          finished = true;
          this.#iterating = false;
          this.#inbound.release();
          if (!keepOpen) void this.close();
        }
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** @throws InvalidUseError when adding a `message` listener while the connection is being iterated. */
  override on<K extends keyof ConnectionEvents<T>>(event: K, listener: ConnectionEvents<T>[K]): this {
    if (event === "message" && this.#iterating) throw new InvalidUseError("cannot add a message listener while the connection is being iterated");
    return super.on(event, listener);
  }

  protected override listenersChanged(event: keyof ConnectionEvents<T>): void {
    if (event !== "message") return;
    this.#messageListeners = this.listenersOf("message");
    this.#soleListener = this.#messageListeners?.length === 1 ? this.#messageListeners[0] : undefined;
    // Messages that arrived before the first listener go to it first, in order.
    if (this.#messageListeners !== undefined && this.#inbound.length > 0) {
      while (this.#inbound.length > 0 && this.#messageListeners !== undefined) this.#dispatch(this.#inbound.take() as T);
      this.#inbound.clearFull();
      if (this.#readPaused) this.#resumeReading();
    }
  }

  /** An async listener rejected: like a throw, it closes the connection with `FW_HANDLER_ERROR`. */
  protected override listenerRejected(event: keyof ConnectionEvents<T>, error: unknown): void {
    // After `error` and `close` there is nothing left to close.
    if (event === "error" || event === "close") return;
    this.#fail(new HandlerError(`${String(event)} listener`, error));
  }

  // ───────────────────────── inbound ─────────────────────────

  #onData(chunk: Uint8Array): void {
    if (this.#readFailed || this.#state === "closed") return;
    this.#bytesIn += chunk.length;
    const now = performance.now();
    if (this.#heartbeat !== undefined) this.#heartbeat.lastInbound = now;
    this.#readTurn.begin(now);
    this.#parsing = true;
    try {
      this.#decoder.push(chunk, this.#onFrame);
    } catch (error) {
      this.#readFailed = true;
      this.#fail(this.#inboundError(error));
    } finally {
      this.#parsing = false;
    }
    this.#checkPending();
    // Replies sent while this chunk was handled leave now, inside the adapter's data callback
    // (Bun corks writes there) rather than in a microtask after it: the queued flush then finds
    // nothing to do.
    if (this.#ackDue) this.#sendAck();
    if (this.#flushScheduled) this.#flushTask();
    if (this.#readTurn.spent()) this.#yieldReadTurn();
    else if (this.#inboundLimit?.read(chunk.length) === true) this.#applyReadState();
  }

  /** Bytes held for a frame begun and not complete. */
  #partialBytes(): number {
    const decoder = this.#decoder;
    return this.#readFailed ? 0 : (decoder.partialBytes ?? decoder.bufferedBytes);
  }

  /** The server's partial-frame budget: a connection whose frame took it past the bound closes. */
  #checkPending(): void {
    const held = this.#partialBytes();
    if (!this.#limits.holding(held)) {
      this.#readFailed = true;
      this.#fail(new PendingBudgetError(held, this.#limits.pendingBudget));
      this.#limits.holding(0); // what it held is let go with the failed decoder
    }
  }

  /** This connection's reads held the loop for a whole turn: pause until the loop came round. */
  #yieldReadTurn(): void {
    if (this.#state === "closed") return;
    this.#readTurn.yield();
    this.#applyReadState();
  }

  #drainDecoder(): void {
    if (this.#parsing) {
      // Called from inside a frame callback: the decoder is mid-chunk; continue once it returns.
      queueMicrotask(() => this.#drainDecoder());
      return;
    }
    if (this.#readFailed || !this.#decoder.stopped || this.#readPaused || this.#userPaused || this.#handshakeHold) return;
    this.#parsing = true;
    try {
      this.#decoder.resume(this.#onFrame);
    } catch (error) {
      this.#readFailed = true;
      this.#fail(this.#inboundError(error));
    } finally {
      this.#parsing = false;
    }
    this.#checkPending();
    if (this.#ackDue) this.#sendAck();
    if (this.#flushScheduled) this.#flushTask();
    if (this.#decoder.stopped || this.#readFailed) return;
    // Everything held is parsed: what waited for it can happen now.
    if (this.#peerEndPending) this.#afterPeerEnd();
    if (this.#state === "closed") this.#inbound.end(this.#closeInfo?.error);
  }

  /** framewire frame bodies carry the type byte; report sizes as the payload sizes users configure. */
  #inboundError(error: unknown): FramewireError {
    if (this.#inListener) {
      // A sole listener threw (it runs without a try/catch of its own, see #onFrame).
      this.#inListener = false;
      return new HandlerError("message listener", error);
    }
    if (this.#framewire && error instanceof FrameTooLargeError && error.code === ErrorCode.FRAME_TOO_LARGE) {
      const limit = this.#state === "handshaking" ? MAX_HANDSHAKE_FIELDS : this.#options.maxFrameSize;
      return new FrameTooLargeError(error.size - 1, limit);
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
        const result: unknown = sole(bytes.subarray(start, end) as T);
        this.#inListener = false;
        if (result !== undefined) this.watch("message", result, [bytes.subarray(start, end) as T]);
        return;
      }
      if (end > start && bytes[start] === FrameType.DATA) {
        if (this.#checkDataSize && end - start - 1 > this.#options.maxFrameSize) throw this.#dataTooLarge(end - start);
        this.#framesIn++;
        if (this.#session !== undefined) this.#countReceived(end - start - 1);
        this.#inListener = true;
        const result: unknown = sole(bytes.subarray(start + 1, end) as T);
        this.#inListener = false;
        if (result !== undefined) this.watch("message", result, [bytes.subarray(start + 1, end) as T]);
        return;
      }
    }
    if (!this.#framewire) {
      this.#framesIn++;
      this.#deliver(bytes.subarray(start, end));
      return;
    }
    if (start === end) throw new ProtocolError("empty framewire frame (no type byte)", ErrorCode.MALFORMED_FRAME);
    const type = bytes[start] as number;
    if (type === FrameType.DATA) {
      if (this.#state === "handshaking") throw new ProtocolError("DATA before the handshake completed");
      if (this.#checkDataSize && end - start - 1 > this.#options.maxFrameSize) throw this.#dataTooLarge(end - start);
      this.#framesIn++;
      if (this.#session !== undefined) this.#countReceived(end - start - 1);
      this.#deliver(bytes.subarray(start + 1, end));
      return;
    }
    if (this.#state === "closed") return; // control frames parsed after the socket closed have no one to answer
    if (this.#state !== "handshaking" && end - start - 1 > MAX_CONTROL_FIELDS) {
      throw new ProtocolError(`control frame with ${end - start - 1} bytes of fields; at most ${MAX_CONTROL_FIELDS} are allowed`);
    }
    this.#onControl(type, bytes.subarray(start + 1, end));
  };

  /** A DATA body (type byte included) above `maxFrameSize`, in the decoder's units: `#inboundError` reports payload sizes. */
  #dataTooLarge(bodyLength: number): FrameTooLargeError {
    return new FrameTooLargeError(bodyLength, this.#options.maxFrameSize + 1);
  }

  #deliver(payload: Uint8Array): void {
    const codec = this.#codec;
    let message: T;
    try {
      message = codec.decode(payload);
    } catch (error) {
      this.#stopReading();
      // A custom codec's error text is the application's: it stays on `cause`, the peer is told less.
      throw error instanceof CodecError && this.#builtInCodec ? error : new CodecError("codec failed to decode", { cause: error });
    }
    if (this.#messageListeners !== undefined) {
      this.#dispatch(message);
      return;
    }
    // What a waiting message may take: its bytes, plus an estimate for each value decoded from them.
    const items = codec.decodedItems;
    const weight = payload.length + (typeof items === "number" && items > 0 ? items * DECODED_ITEM_BYTES : 0);
    if (!this.#inbound.push(message, weight)) {
      this.#readPaused = true;
      this.#applyReadState();
    }
  }

  #dispatch(message: T): void {
    const listeners = this.#messageListeners;
    if (listeners === undefined) return;
    try {
      for (let i = 0; i < listeners.length; i++) {
        const result: unknown = (listeners[i] as (m: T) => unknown)(message);
        if (result !== undefined) this.watch("message", result, [message]);
      }
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
    const paused = this.#readPaused || this.#userPaused || this.#handshakeHold;
    if (paused) this.#decoder.stop(); // also after close: what is still held is parsed only as it is consumed
    if (this.#state === "closed") return;
    // A turn given back to the loop pauses the socket only: the decoder is between chunks.
    if (paused || this.#readTurn.yielding || this.#inboundLimit?.paused === true) this.#socket.pause();
    else this.#socket.resume();
  }

  #onControl(type: number, body: Uint8Array): void {
    switch (type) {
      case FrameType.HELLO:
      case FrameType.WELCOME:
      case FrameType.REJECT: {
        const handshaker = this.#handshaker;
        if (handshaker === undefined || this.#state !== "handshaking") {
          throw new ProtocolError(`unexpected ${type === FrameType.HELLO ? "HELLO" : type === FrameType.WELCOME ? "WELCOME" : "REJECT"}`);
        }
        handshaker.onFrame(type, body);
        return;
      }
      case FrameType.PING: {
        if (this.#state === "handshaking") throw new ProtocolError("PING before the handshake completed");
        // At most one PONG waits unwritten: a peer that floods PINGs (and does not read) cannot
        // grow our queue or our work with answers. An honest peer pings once per interval.
        const queue = this.#queue;
        // Counted in bytes the kernel has: Node and Deno accept every write and hold it.
        if (queue.bytesFlushed < this.#pongEnd) return;
        // And at most maxPongsPerSecond: a peer that reads cannot make us write PONGs at its pace.
        if (!this.#limits.mayPong(performance.now())) return;
        this.#sendControl(FrameType.PONG, body.slice());
        this.#pongEnd = queue.bytesWritten + queue.unsentBytes;
        return;
      }
      case FrameType.ACK: {
        const session = this.#session;
        if (session === undefined || this.#state === "handshaking") throw new ProtocolError("ACK without a resumable session");
        const count = decodeAck(body);
        if (!session.log.ack(count)) throw new ProtocolError(`ACK for ${count} frames; ${session.log.acked}-${session.log.sent} were possible`);
        if (this.#wantDrain) this.#flush();
        return;
      }
      case FrameType.PONG:
        if (this.#state === "handshaking") throw new ProtocolError("PONG before the handshake completed");
        this.#heartbeat?.onPong(body);
        return;
      case FrameType.GOAWAY: {
        if (this.#state === "handshaking") throw new ProtocolError("GOAWAY before the handshake completed");
        if (this.#state !== "open") return; // a second GOAWAY, or one crossing ours: the close is under way
        const reason = decodeReason(body, "GOAWAY");
        // The failure, if any, was the peer's: it is reported in the close info, not as an `error` event.
        const orderly = reason.code === CloseCode.NORMAL || reason.code === ErrorCode.SHUTDOWN;
        this.#recordClose({ ...reason, remote: true, ...(orderly ? {} : { error: new PeerError(reason.code, reason.reason) }) });
        // Closing before the listeners run: from now on send() answers "closed" and close() adds no GOAWAY.
        this.#startClose(this.#closeInfo as CloseInfo, false);
        try {
          this.emit("goaway", reason);
        } catch (listenerError) {
          this.#reportError(new HandlerError("goaway listener", listenerError));
        }
        return;
      }
      default:
        throw new ProtocolError(`frame type 0x${type.toString(16).padStart(2, "0")} is not part of protocol version ${this.#version || 1}`);
    }
  }

  /** The handshake agreed: keep what was negotiated, let the handshake go, open. */
  #open(agreed: Negotiated): void {
    this.#handshaker = undefined;
    this.#version = agreed.version;
    this.#sessionId = agreed.session;
    this.#peerTags = agreed.peerTags;
    this.#identity = agreed.identity;
    if (agreed.peerMaxFrame !== undefined) this.#peerMaxFrame = agreed.peerMaxFrame;
    if (agreed.resume !== undefined) this.#carry(agreed.resume);
    const heartbeatMs = agreed.heartbeatMs;
    this.#state = "open";
    // From now on DATA may be as large as maxFrameSize (control frames keep their own allowance).
    if (this.#framewireDecoder !== undefined) this.#framewireDecoder.maxFrameSize = Math.max(this.#options.maxFrameSize, MAX_CONTROL_FIELDS) + 1;
    if (heartbeatMs > 0) {
      this.#heartbeat = new Heartbeat(this.#port, heartbeatMs, this.#options.heartbeatTimeoutMs ?? 2 * heartbeatMs);
    }
    this.#settleHandshake();
  }

  /**
   * This connection carries a resumable session: what the peer says it has is acknowledged, and
   * every later DATA frame is sent again, in order, ahead of anything new (docs/protocol.md §13).
   */
  #carry(agreed: AgreedSession): void {
    const session = agreed.session;
    if (!session.log.ack(agreed.peerReceived)) {
      throw new ProtocolError(`the peer says it received ${agreed.peerReceived} frames; ${session.log.acked}-${session.log.sent} were possible`);
    }
    session.reattached();
    this.#session = session;
    this.#resumed = agreed.resumed;
    const queue = this.#queue;
    for (const payload of session.log.after(agreed.peerReceived)) {
      const at = queue.reserve(5 + payload.length, true);
      const buffer = queue.buffer;
      writeU32(buffer, at, payload.length + 1);
      buffer[at + 4] = FrameType.DATA;
      buffer.set(payload, at + 5);
      queue.commit(at + 5 + payload.length);
      // Sent again ahead of everything, unthrottled; paid for at the rate (the bucket goes into debt).
      this.#lanes?.charge(5 + payload.length);
    }
    this.#scheduleFlush();
  }

  /** A DATA frame of `bytes` was received in the session: acknowledge now, or soon. */
  #countReceived(bytes: number): void {
    const session = this.#session as Session;
    if (session.noteReceived(bytes)) this.#ackDue = true;
    else if (this.#ackTimer === undefined) this.#ackTimer = setTimeout(this.#ackLater, session.limits.ackDelayMs);
  }

  readonly #ackLater = (): void => {
    this.#ackTimer = undefined;
    if (this.#state === "open" && this.#session?.ackPending === true) {
      this.#sendAck();
      this.#scheduleFlush();
    }
  };

  /** One cumulative ACK for everything received so far. */
  #sendAck(): void {
    this.#ackDue = false;
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const session = this.#session;
    if (session === undefined || this.#state !== "open" || !session.ackPending) return;
    const queue = this.#queue;
    if (queue.bytesFlushed < this.#ackEnd) {
      // Our last ACK has not reached the kernel (the peer is not reading): a later one carries
      // the higher count anyway, so none piles up behind it.
      this.#ackTimer = setTimeout(this.#ackLater, session.limits.ackDelayMs);
      return;
    }
    this.#sendControl(FrameType.ACK, encodeAck(session.takeAck()));
    this.#ackEnd = queue.bytesWritten + queue.unsentBytes;
  }

  /** Below `highWaterMark`, and (resume) the retransmit log below half its bound. */
  #drainable(): boolean {
    if (this.bufferedAmount >= this.#options.highWaterMark) return false;
    const session = this.#session;
    return session === undefined || session.log.bytes < Math.floor(session.limits.maxUnackedBytes / 2);
  }

  #settleHandshake(): void {
    this.#resolveHandshake();
    // The resolvers hold the promise's internals: an idle connection need not keep them.
    this.#resolveHandshake = this.#rejectHandshake = SETTLED;
  }

  #failHandshake(error: FramewireError): void {
    this.#rejectHandshake(error);
    this.#resolveHandshake = this.#rejectHandshake = SETTLED;
  }

  // ───────────────────────── outbound ─────────────────────────

  /**
   * framewire control frames skip the overflow bound (they are small and must not be lost) and
   * any frame-size check: their fields are bounded by construction and the peer accepts them
   * whatever its `maxFrameSize` (docs/protocol.md §2).
   */
  #sendControl(type: number, body: Uint8Array): void {
    if (this.#endSent || this.#state === "closed") return; // our side is finished: nothing more can be written
    const queue = this.#queue;
    const bodyLength = body.length + 1;
    const at = queue.reserve(4 + bodyLength, true);
    const buffer = queue.buffer;
    writeU32(buffer, at, bodyLength);
    buffer[at + 4] = type;
    buffer.set(body, at + 5);
    queue.commit(at + 4 + bodyLength, true);
    this.#scheduleFlush();
  }

  /**
   * The adapter let go of written bytes: they no longer count against `highWaterMark`, and a batch
   * held back while the adapter held too much (the queue's lend mark) may go now.
   */
  #onReleased(bytes: Uint8Array): void {
    const queue = this.#queue;
    queue.released(bytes);
    if (queue.unsentBytes > 0 || (this.#wantDrain && this.#drainable()) || this.#lanes?.empty === false) this.#flush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    // While a chunk is parsed, its end flushes (see #onData): no microtask needed.
    if (this.#parsing) return;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    if (!this.#flushScheduled) return;
    this.#flushScheduled = false;
    this.#flush();
  };

  #flush(): void {
    if (this.#state === "closed") return;
    const queue = this.#queue;
    if (!queue.flush(this.#socket)) return; // closed: the close callback follows
    const lanes = this.#lanes;
    if (lanes !== undefined && !lanes.empty) {
      // What the socket still owed went first: lanes move only into a queue the socket takes from.
      lanes.pump();
      if (!queue.flush(this.#socket)) return;
    }
    if (this.#wantDrain && this.#drainable()) {
      this.#wantDrain = false;
      for (const waiter of this.#drainWaiters.splice(0)) waiter.resolve();
      try {
        this.emit("drain");
      } catch (error) {
        this.#fail(new HandlerError("drain listener", error));
        return;
      }
    }
    if (queue.unsentBytes === 0 && this.#state === "closing" && !this.#endSent && (lanes === undefined || lanes.empty)) {
      this.#endSent = true;
      // Once both sides have sent FIN the adapter closes the socket itself; destroying here
      // could reset the connection before the peer read our last bytes.
      this.#socket.end();
    }
  }

  #reportEvictions(messages: number, bytes: number): void {
    this.#drops += messages;
    this.#framesOut -= messages;
    try {
      this.emit("drop", { messages, bytes });
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

  /** A local failure: report it, tell the peer why (GOAWAY or REJECT with the code), close. */
  #fail(error: FramewireError, remote = false): void {
    if (this.#state === "closed") return;
    this.#stopReading();
    this.#failHandshake(error);
    const info: CloseInfo = { code: error.code, reason: error.message, remote, error };
    this.#recordClose(info);
    this.#reportError(error);
    this.#startClose(info, true);
  }

  #reportError(error: FramewireError): void {
    try {
      this.#owner?.errored(this as Connection<unknown>, error);
      this.emit("error", error);
    } catch {
      // An error listener that throws has nowhere better to go; the close event still follows.
    }
  }

  /** Starts closing; with `tellPeer`, framewire says why (GOAWAY when open, REJECT from a handshaking server). */
  #startClose(info: CloseInfo, tellPeer: boolean): void {
    // Resume: before GOAWAY (ours or the answer to the peer's), acknowledge what arrived, so an
    // orderly close leaves nothing that looks unacknowledged to the other side.
    if (this.#state === "open" && this.#session?.ackPending === true) this.#sendAck();
    if (this.#state === "closing" || this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#recordClose(info);
    this.#state = "closing";
    this.#handshaker?.stop();
    this.#handshaker = undefined;
    this.#heartbeat?.stop(); // kept: its round-trip times stay in stats()
    this.#limits.closing();
    this.#owner?.closing?.(this as Connection<unknown>);
    if (!wasOpen) {
      this.#failHandshake(info.error ?? new ConnectionClosedError("closed during the handshake"));
      // Whatever the peer sends now cannot complete a handshake we have given up on.
      this.#stopReading();
    }
    if (tellPeer && this.#framewire) {
      const reason = encodeReason({ code: info.code, reason: info.error ? reasonForPeer(info.error) : info.reason });
      // Open: GOAWAY. Server mid-handshake: the client waits for WELCOME or REJECT, so REJECT says why.
      if (wasOpen && this.#lanes !== undefined && !this.#lanes.empty) this.#lanes.setTrailer(encodeFrame(reason, FrameType.GOAWAY, this.#framer));
      else if (wasOpen) this.#sendControl(FrameType.GOAWAY, reason);
      else if (this.role === "server") this.#sendControl(FrameType.REJECT, reason);
    }
    this.#closeTimer = setTimeout(() => this.#socket.destroy(), this.#options.closeTimeoutMs);
    this.#flush();
  }

  #recordClose(info: CloseInfo): void {
    if (this.#closeInfo === undefined) this.#closeInfo = info;
  }

  #onPeerEnd(): void {
    if (this.#state === "closed") return;
    // Frames still wait unparsed (the consumer is slow): they come first, then the FIN.
    if (this.#decoder.stopped && !this.#readFailed) {
      this.#peerEndPending = true;
      return;
    }
    this.#afterPeerEnd();
  }

  #afterPeerEnd(): void {
    this.#peerEndPending = false;
    if (this.#state === "closed") return;
    try {
      this.emit("end");
    } catch (error) {
      this.#reportError(new HandlerError("end listener", error));
    }
    if (this.#endSent || this.#state === "closing") return; // both sides done, or #flush sends FIN once the queue is empty
    const held = this.#readFailed ? 0 : this.#decoder.bufferedBytes;
    if (held > 0 && this.#session !== undefined && this.#state === "open") {
      // A resumable session's link was cut mid-frame: the peer sends that frame again on the next connection.
      this.#stopReading();
      this.#recordClose({ code: CloseCode.PEER_CLOSED, reason: `the link was cut inside a frame (${held} bytes of it received; it is sent again on resume)`, remote: true });
      this.#socket.destroy();
      return;
    }
    if (held > 0) {
      // A frame was cut short: it can never complete, and dropping it silently would lose it.
      this.#fail(new MalformedFrameError(`the peer closed the stream inside a frame (${held} bytes of it received)`), true);
      return;
    }
    if (this.#state === "handshaking") {
      // The server still answers (REJECT, then FIN); a client just closes. A TLS server that
      // says nothing at all before FIN refused us in TLS (Node checks a client certificate's
      // chain after the TLS 1.3 handshake, and closes without an alert).
      const refusedInTls = this.role === "client" && this.#socket.tls !== undefined && this.#bytesIn === 0;
      this.#fail(refusedInTls ? new TlsError("the server closed the TLS connection before answering HELLO: it refused the TLS session (e.g. our client certificate)") : new ProtocolError("peer closed during the handshake"), true);
      return;
    }
    if (this.#options.allowHalfOpen && !this.#framewire) return;
    this.#startClose({ code: CloseCode.PEER_CLOSED, reason: "peer closed", remote: true }, false);
  }

  #onSocketClose(error?: Error): void {
    if (this.#state === "closed") return;
    const previous = this.#state;
    this.#state = "closed";
    if (this.#closeTimer !== undefined) clearTimeout(this.#closeTimer);
    this.#handshaker?.stop();
    this.#heartbeat?.stop();
    this.#readTurn.stop();
    this.#limits.closed();
    this.#closeTimer = this.#handshaker = undefined;
    if (this.#closeInfo === undefined) {
      if (error !== undefined) {
        // An adapter's own typed failure (a TLS alert: FW_TLS_FAILED) keeps its code.
        const wrapped = error instanceof FramewireError ? error : new SocketError(`socket error: ${error.message}`, { cause: error });
        this.#closeInfo = { code: wrapped.code, reason: wrapped.message, remote: true, error: wrapped };
        this.#reportError(wrapped);
      } else {
        this.#closeInfo = { code: CloseCode.PEER_CLOSED, reason: "peer closed", remote: true };
      }
    }
    const info = this.#closeInfo;
    if (previous === "handshaking") this.#failHandshake(info.error ?? new ConnectionClosedError("closed during the handshake"));
    if (this.#ackTimer !== undefined) clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    // With a session, what is unacknowledged goes again on the next connection (the log has it),
    // and frames not parsed yet were not counted: the peer sends them again, so they are dropped here.
    if (this.#session !== undefined) this.#stopReading();
    // A frame begun can never complete now. Let go of it (up to maxFrameSize): whoever keeps this
    // connection, or only its close info (V8 errors hold their stack's receivers), keeps no more.
    this.#decoder.discardIncomplete?.();
    const unsent = this.#session === undefined ? [...this.#queue.unsent(), ...(this.#lanes?.unsent() ?? [])] : [];
    const undelivered = unsent.length > 0 ? countUndelivered(unsent, this.#framer, this.#framewire) : undefined;
    this.#queue.clear();
    this.#lanes?.clear();
    this.#inboundLimit?.stop();
    for (const waiter of this.#drainWaiters.splice(0)) waiter.reject(new ConnectionClosedError());
    // Frames received but not parsed yet (a slow consumer) are still delivered: iteration ends after them.
    if (!this.#decoder.stopped || this.#readFailed) this.#inbound.end(info.error);
    if (undelivered !== undefined && undelivered.messages > 0) {
      this.#undelivered += undelivered.messages;
      try {
        this.emit("undelivered", undelivered);
      } catch {
        // Closed already: a failing listener has nothing left to close.
      }
    }
    try {
      this.#owner?.closed(this as Connection<unknown>, info);
      this.emit("close", info);
    } catch {
      // Nothing left to close; the closed() promise still resolves.
    }
    this.#resolveClosed(info);
    this.#resolveClosed = SETTLED;
  }
}
