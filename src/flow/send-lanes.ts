/**
 * Priority lanes in front of the outbound queue: where DATA frames wait while they may not go
 * into the write batch yet — the rate limiter has no tokens, or the socket is still busy with
 * earlier bytes. The most urgent lane goes first; within a lane, frames keep their order.
 *
 * A connection uses lanes once it has a rate limit or once a message is sent with a priority.
 * Until then, and whenever the lanes are empty and the gate is open (tokens; and, once priorities
 * are in use, a socket that takes bytes), a frame goes straight into the batch (the hot path
 * stays as it was). Control frames never enter a lane: they go into the
 * batch at once, ahead of everything waiting here. Bytes in the lanes count in `bufferedAmount`,
 * so `send()` answers `"backpressure"` for them and `maxBufferedBytes` bounds them.
 */
import type { TokenBucket } from "./token-bucket.ts";
import { InvalidOptionError, InvalidUseError, QueueFullError } from "../errors.ts";
import type { Framer } from "../framing/index.ts";
import type { OutboundQueue, OverflowPolicy } from "./outbound-queue.ts";
import { describeValue, plainObject, rejectUnknownKeys } from "../validate.ts";
import type { RateLimiter, ThrottledSender } from "./rate-limiter.ts";

/** How urgent a message is. `"high"` overtakes queued `"normal"` and `"low"` messages; the same level keeps its order. */
export type Priority = "high" | "normal" | "low";

/** Options of `send()`. */
export interface SendOptions {
  /**
   * Messages still waiting to be written (throttled by `rateLimit`, or behind a busy socket) go
   * most urgent first; messages of one level keep their order. Not with resumable sessions
   * (their numbering is the order sent), unless `"normal"`.
   * @default "normal"
   */
  priority?: Priority;
}

const LEVELS: Readonly<Record<Priority, number>> = { high: 0, normal: 1, low: 2 };

/** The lane index of `priority` (0 most urgent), or -1 when it is not one. */
export function priorityLevel(priority: unknown): number {
  return typeof priority === "string" && Object.hasOwn(LEVELS, priority) ? (LEVELS[priority as Priority] as number) : -1;
}

const SEND_OPTION_KEYS: ReadonlySet<string> = new Set(["priority"]);

/**
 * Checks `send()`'s options and returns the lane (0 most urgent, 1 normal).
 * @throws InvalidOptionError for a bad value; InvalidUseError for a priority other than
 * `"normal"` when `resumable`: a session numbers DATA frames in the order they are sent.
 */
export function sendLevel(options: SendOptions, resumable: boolean): number {
  plainObject("send options", options);
  rejectUnknownKeys(options, SEND_OPTION_KEYS, "send");
  if (options.priority === undefined) return 1;
  const level = priorityLevel(options.priority);
  if (level < 0) throw new InvalidOptionError(`priority must be "high", "normal" or "low", got ${describeValue(options.priority)}`);
  if (level !== 1 && resumable) {
    throw new InvalidUseError(`priority "${options.priority}" would reorder a resumable session's messages, which are numbered in the order they are sent: use "normal" (or no priority) with resume`);
  }
  return level;
}

/** What the lanes need from their connection. */
export interface SendLanesHost {
  /** Hand the batch to the socket now (a long run of frames moved at once); false once closed. */
  write(): boolean;
  /** Tokens came: move what they allow and flush (the connection's whole flush, drain included). */
  flush(): void;
}

/**
 * At most this many bytes of tokens are granted at once for a run of sends (see
 * `SendLanes.grant`): one write batch's worth.
 */
const GRANT_BYTES = 64 * 1024;
/** Past this many batched bytes, frames being moved are written before more are added. */
const WRITE_EVERY_BYTES = 64 * 1024;
/**
 * While the lanes hold frames, every this many frames (or bytes) queued in a row also moves what
 * the tokens allow: a caller that sends for a long time without yielding would otherwise leave
 * the limiter's timer no chance to fire, and the bytes would wait until it yields.
 */
const PUMP_EVERY_FRAMES = 64;
const PUMP_EVERY_BYTES = 64 * 1024;

/** One lane: frames in order, consumed from `head` (compacted as it goes). */
class Lane {
  frames: Uint8Array[] = [];
  head = 0;
  get length(): number {
    return this.frames.length - this.head;
  }
  peek(): Uint8Array | undefined {
    return this.frames[this.head];
  }
  shift(): Uint8Array {
    const frame = this.frames[this.head] as Uint8Array;
    this.frames[this.head++] = EMPTY;
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    return frame;
  }
}

const EMPTY = new Uint8Array(0);

export class SendLanes implements ThrottledSender {
  readonly #lanes = [new Lane(), new Lane(), new Lane()];
  readonly #queue: OutboundQueue;
  readonly #host: SendLanesHost;
  readonly #own: RateLimiter | undefined;
  readonly #shared: RateLimiter | undefined;
  /** A limiter throttles these lanes (without one, only a busy socket holds frames here). */
  readonly #limited: boolean;
  readonly #maxBuffered: number;
  readonly #overflow: OverflowPolicy;
  /** A GOAWAY that must follow every waiting frame (it ends what we send). */
  #trailer: Uint8Array | undefined;
  #closed = false;
  #prioritized = false;
  /** Frame bytes waiting in the lanes. */
  bytes = 0;
  /** Frames waiting in the lanes. */
  count = 0;
  /** Frames and frame bytes evicted by the last `enqueue` (drop-oldest). */
  evictedFrames = 0;
  evictedBytes = 0;
  /** Frames and bytes queued since the lanes last moved frames on their own (see `PUMP_EVERY_FRAMES`). */
  #queuedFrames = 0;
  #queuedBytes = 0;
  /** The one bucket `grant` takes from when a connection has only its own byte limit (the common case). */
  readonly #onlyBucket: TokenBucket | undefined;

  constructor(init: { queue: OutboundQueue; host: SendLanesHost; own: RateLimiter | undefined; shared: RateLimiter | undefined; maxBufferedBytes: number; overflow: OverflowPolicy }) {
    this.#queue = init.queue;
    this.#host = init.host;
    this.#own = init.own;
    this.#shared = init.shared;
    this.#limited = init.own !== undefined || init.shared !== undefined;
    this.#onlyBucket = init.own !== undefined && init.own.messages === undefined && init.shared === undefined ? init.own.bytes : undefined;
    this.#maxBuffered = init.maxBufferedBytes;
    this.#overflow = init.overflow;
  }

  /** Nothing waits here. */
  get empty(): boolean {
    return this.count === 0 && this.#trailer === undefined;
  }

  /**
   * May a DATA frame of `size` bytes go straight into the batch? Only when nothing waits here,
   * the socket takes bytes, and the limiters give the tokens (taken now when they do). Where the
   * connection has only its own byte limit and no priorities, the grant also covers the frames
   * after it, up to {@link GRANT_BYTES}: the connection spends it without asking per frame, and
   * gives back what is left (`refund`) before it asks again or names a priority.
   * @returns the bytes granted (at least `size`), or 0 when the frame must wait in a lane.
   */
  grant(size: number): number {
    if (this.count !== 0 || (this.#prioritized && this.#queue.holding)) return 0;
    const bucket = this.#onlyBucket;
    if (bucket === undefined || this.#prioritized) return this.#take(size, false) ? size : 0;
    return bucket.takeUpTo(size, GRANT_BYTES);
  }

  /** Unused bytes of a `grant` (only grants larger than their frame come from the lone bucket). */
  refund(bytes: number): void {
    this.#onlyBucket?.giveBack(bytes);
  }

  /**
   * A send named a priority: from now on frames also wait here while the socket is busy, so a
   * later urgent one can overtake them. Until then they collect in the batch as without lanes
   * (a rate limit that does not bind costs a few comparisons per send).
   */
  prioritize(): void {
    this.#prioritized = true;
  }

  /**
   * Queues a whole encoded DATA frame in lane `level`, under `maxBufferedBytes` (the batch's
   * bytes and the lanes' count together) and the overflow policy; drop-oldest evicts the oldest
   * frames of the least urgent lanes first. During a long run of sends it also moves what the
   * tokens allow into the batch and writes it (see `PUMP_EVERY_FRAMES`).
   * @returns false when the policy dropped it.
   * @throws QueueFullError with policy `"error"`.
   */
  enqueue(frame: Uint8Array, level: number): boolean {
    this.evictedFrames = 0;
    this.evictedBytes = 0;
    const buffered = this.#queue.bufferedAmount + this.bytes;
    if (buffered + frame.length > this.#maxBuffered) {
      if (this.#overflow === "error") throw new QueueFullError(buffered, this.#maxBuffered);
      if (this.#overflow === "drop-newest" || !this.#evictFor(frame.length, level)) return false;
    }
    (this.#lanes[level] as Lane).frames.push(frame);
    this.bytes += frame.length;
    this.count++;
    if (this.#limited) {
      // From the first frame that waits until the lanes are empty, the buckets are not idle: what
      // accrues while frames wait (a late timer, a busy socket) is kept (see TokenBucket.hold).
      if (this.count === 1) this.#hold();
      if (++this.#queuedFrames >= PUMP_EVERY_FRAMES || (this.#queuedBytes += frame.length) >= PUMP_EVERY_BYTES) this.#pumpDuringRun();
    }
    return true;
  }

  #hold(): void {
    this.#own?.hold();
    this.#shared?.hold();
  }

  /** The caller has not yielded for a while: release what the tokens allow now rather than when it does. */
  #pumpDuringRun(): void {
    this.#queuedFrames = 0;
    this.#queuedBytes = 0;
    const before = this.count;
    this.#move(true);
    if (this.count !== before) this.#host.write();
  }

  /** Bytes that went out unthrottled (a resumed session's replay) are paid for at the rate. */
  charge(size: number): void {
    this.#own?.charge(size);
    this.#shared?.charge(size);
  }

  /** A GOAWAY to write once every waiting frame is written: closing sends what was queued first. */
  setTrailer(frame: Uint8Array): void {
    this.#trailer = frame;
  }

  /**
   * Moves frames into the batch, most urgent first, while the socket takes bytes and the tokens
   * last; registers with the limiter that is short. The caller flushes afterwards.
   */
  pump(): void {
    this.#move(false);
  }

  /**
   * `pump`. During a run of sends (`duringRun`) frames move even while the socket holds, unless
   * priorities are in use: a runtime whose writes complete only once the caller yields (Deno's
   * async writes; the buffers it holds until then) could take nothing before the run ends, and
   * the tokens of the whole run would be capped. The run bounds what collects in the batch.
   */
  #move(duringRun: boolean): void {
    const queue = this.#queue;
    this.#queuedFrames = 0;
    this.#queuedBytes = 0;
    const waitForSocket = !duringRun || this.#prioritized;
    while (this.count > 0) {
      if (waitForSocket && queue.holding) return; // a drain or a release flushes again
      const lane = this.#next();
      const frame = lane.peek() as Uint8Array;
      if (!this.#take(frame.length, true)) return;
      lane.shift();
      this.bytes -= frame.length;
      this.count--;
      const at = queue.reserve(frame.length, true);
      queue.buffer.set(frame, at);
      queue.commit(at + frame.length);
      if (queue.batchedBytes >= WRITE_EVERY_BYTES && !this.#host.write()) return;
    }
    // Nothing left to throttle: the limiters need not wake us, and their buckets are idle again.
    // (Only here: while frames wait, even behind a busy socket, the buckets stay held.)
    this.#own?.cancel(this);
    this.#shared?.cancel(this);
    const trailer = this.#trailer;
    if (trailer !== undefined) {
      this.#trailer = undefined;
      const at = queue.reserve(trailer.length, true);
      queue.buffer.set(trailer, at);
      queue.commit(at + trailer.length, true);
    }
  }

  tokensReady(): void {
    if (!this.#closed) this.#host.flush();
  }

  /** What never left, as whole frames (for counting what a closed connection did not deliver). */
  unsent(): { bytes: Uint8Array; skip: number }[] {
    const runs: { bytes: Uint8Array; skip: number }[] = [];
    for (const lane of this.#lanes) for (let i = lane.head; i < lane.frames.length; i++) runs.push({ bytes: lane.frames[i] as Uint8Array, skip: 0 });
    return runs;
  }

  /** The connection is gone: drop everything, wake nobody. */
  clear(): void {
    this.#closed = true;
    for (const lane of this.#lanes) {
      lane.frames = [];
      lane.head = 0;
    }
    this.bytes = 0;
    this.count = 0;
    this.#trailer = undefined;
    this.#own?.cancel(this);
    this.#shared?.cancel(this);
  }

  #next(): Lane {
    const lanes = this.#lanes;
    return (lanes[0] as Lane).length > 0 ? (lanes[0] as Lane) : (lanes[1] as Lane).length > 0 ? (lanes[1] as Lane) : (lanes[2] as Lane);
  }

  /** Takes the tokens of both limiters, or none; with `wait`, waits on the one that is short. */
  #take(size: number, wait: boolean): boolean {
    const own = this.#own;
    if (own !== undefined && !own.tryTake(size)) {
      if (wait) own.wait(this, size);
      return false;
    }
    const shared = this.#shared;
    if (shared !== undefined && !shared.tryTake(size)) {
      own?.charge(-size, -1);
      if (wait) shared.wait(this, size);
      return false;
    }
    return true;
  }

  /** drop-oldest: evicts the oldest frames of the least urgent lanes, never of a lane more urgent than `level`. */
  #evictFor(size: number, level: number): boolean {
    const room = this.#maxBuffered - this.#queue.bufferedAmount - size;
    let evictable = 0;
    for (let l = this.#lanes.length - 1; l >= level; l--) {
      const lane = this.#lanes[l] as Lane;
      for (let i = lane.head; i < lane.frames.length; i++) evictable += (lane.frames[i] as Uint8Array).length;
    }
    if (this.bytes - evictable > room) return false;
    for (let l = this.#lanes.length - 1; l >= level && this.bytes > room; l--) {
      const lane = this.#lanes[l] as Lane;
      while (lane.length > 0 && this.bytes > room) {
        const frame = lane.shift();
        this.bytes -= frame.length;
        this.count--;
        this.evictedFrames++;
        this.evictedBytes += frame.length;
      }
    }
    return true;
  }
}

/** A DATA frame as it goes on the wire, in a buffer of its own (a lane keeps it until it is written). */
export function encodeFrame(payload: Uint8Array, u32Type: number | undefined, framer: Framer): Uint8Array {
  if (u32Type !== undefined) {
    const bodyLength = u32Type < 0 ? payload.length : payload.length + 1;
    const frame = new Uint8Array(4 + bodyLength);
    frame[0] = bodyLength >>> 24;
    frame[1] = (bodyLength >>> 16) & 0xff;
    frame[2] = (bodyLength >>> 8) & 0xff;
    frame[3] = bodyLength & 0xff;
    if (u32Type >= 0) frame[4] = u32Type;
    frame.set(payload, frame.length - payload.length);
    return frame;
  }
  framer.checkPayload?.(payload);
  const frame = new Uint8Array(framer.encodedLength(payload.length));
  framer.encodeInto(frame, 0, payload, -1);
  return frame;
}
