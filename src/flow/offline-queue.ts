import { QueueFullError } from "../errors.ts";
import { integer, oneOf } from "../validate.ts";
import type { OverflowPolicy } from "./outbound-queue.ts";

/** Bounds of an {@link OfflineQueue}. */
export interface OfflineQueueOptions {
  /** Most messages held at once. */
  maxMessages: number;
  /** Most payload bytes held at once. */
  maxBytes: number;
  /** A message older than this (ms) is expired by {@link OfflineQueue.expire}; 0: never. */
  ttlMs: number;
  /** What {@link OfflineQueue.push} does when the new message does not fit. */
  overflow: OverflowPolicy;
}

/** What was removed without being delivered. */
export interface Removed {
  messages: number;
  bytes: number;
}

/** A dequeued prefix at least this long is compacted away once it is half the array. */
const COMPACT_AT = 1024;

/**
 * A bounded FIFO of encoded messages waiting while a client is disconnected, sent in order once
 * it is connected again. It keeps the payloads it is given (no copy): the caller must not reuse
 * their buffers. No timers: every call that needs the time is passed `now` (ms, non-decreasing).
 * @example
 * const queue = new OfflineQueue({ maxMessages: 1000, maxBytes: 1 << 20, ttlMs: 30_000, overflow: "drop-oldest" });
 * queue.expire(now);
 * if (queue.push(payload, now) === "dropped") report(payload);
 */
export class OfflineQueue {
  readonly #maxMessages: number;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #overflow: OverflowPolicy;
  /** Entries from `#head` on are queued; before it, taken slots (cleared, so they pin no memory). */
  #payloads: (Uint8Array | undefined)[] = [];
  #queuedAt: number[] = [];
  #head = 0;
  #bytes = 0;
  /** Messages and bytes that the last `push` evicted (drop-oldest); 0 otherwise. */
  evictedMessages = 0;
  evictedBytes = 0;

  constructor(options: OfflineQueueOptions) {
    this.#maxMessages = integer("offline queue maxMessages", options.maxMessages, 0);
    this.#maxBytes = integer("offline queue maxBytes", options.maxBytes, 0);
    this.#ttlMs = integer("offline queue ttlMs", options.ttlMs, 0);
    this.#overflow = oneOf("offline queue overflow", options.overflow, ["error", "drop-newest", "drop-oldest"], "error");
  }

  /** Messages held. */
  get length(): number {
    return this.#payloads.length - this.#head;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends `payload`, or applies the overflow policy when it does not fit: `"drop-newest"` refuses
   * it; `"drop-oldest"` evicts from the head until it fits (see {@link evictedMessages}), but a
   * payload larger than `maxBytes` alone is refused and evicts nothing. Call {@link expire} first,
   * so stale messages do not take the room.
   * @throws QueueFullError with policy `"error"` when it does not fit; nothing changes.
   */
  push(payload: Uint8Array, now: number): "queued" | "dropped" {
    this.evictedMessages = 0;
    this.evictedBytes = 0;
    const size = payload.length;
    if (!this.#fits(size)) {
      if (this.#overflow === "error") throw this.#fullError(size);
      if (this.#overflow === "drop-newest" || size > this.#maxBytes || this.#maxMessages === 0) return "dropped";
      while (!this.#fits(size)) {
        this.evictedBytes += this.#take().length;
        this.evictedMessages++;
      }
    }
    // Expiry walks from the head, so times must not go backwards even if the caller's clock does.
    const last = this.#queuedAt.length > this.#head ? (this.#queuedAt.at(-1) as number) : now;
    this.#payloads.push(payload);
    this.#queuedAt.push(Math.max(now, last));
    this.#bytes += size;
    return "queued";
  }

  /** The oldest message, removed; undefined when empty. */
  shift(): Uint8Array | undefined {
    return this.length === 0 ? undefined : this.#take();
  }

  /** The oldest message, left in place; undefined when empty. */
  peek(): Uint8Array | undefined {
    return this.#payloads[this.#head];
  }

  /** Removes the messages queued `ttlMs` or more before `now` (none when `ttlMs` is 0). */
  expire(now: number): Removed {
    const removed: Removed = { messages: 0, bytes: 0 };
    if (this.#ttlMs === 0) return removed;
    while (this.length > 0 && (this.#queuedAt[this.#head] as number) + this.#ttlMs <= now) {
      removed.bytes += this.#take().length;
      removed.messages++;
    }
    return removed;
  }

  /** When the oldest message expires (for a timer that calls {@link expire}); undefined: nothing will. */
  nextExpiry(): number | undefined {
    if (this.#ttlMs === 0 || this.length === 0) return undefined;
    return (this.#queuedAt[this.#head] as number) + this.#ttlMs;
  }

  /** Removes everything, returning what was still held (to report as not delivered). */
  clear(): Removed {
    const removed: Removed = { messages: this.length, bytes: this.#bytes };
    this.#payloads = [];
    this.#queuedAt = [];
    this.#head = 0;
    this.#bytes = 0;
    return removed;
  }

  #fits(size: number): boolean {
    return this.length < this.#maxMessages && this.#bytes + size <= this.#maxBytes;
  }

  /** Removes the head; the caller has checked the queue is not empty. */
  #take(): Uint8Array {
    const head = this.#head;
    const payload = this.#payloads[head] as Uint8Array;
    this.#payloads[head] = undefined;
    this.#bytes -= payload.length;
    this.#head = head + 1;
    if (this.#head === this.#payloads.length) {
      this.#payloads.length = 0;
      this.#queuedAt.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#payloads.length) {
      // Copying the rest costs no more than the taken prefix: O(1) amortized per message.
      this.#payloads.splice(0, this.#head);
      this.#queuedAt.splice(0, this.#head);
      this.#head = 0;
    }
    return payload;
  }

  #fullError(size: number): QueueFullError {
    const error = new QueueFullError(this.#bytes, this.#maxBytes);
    // QueueFullError's own text speaks of the outbound queue; the code (FW_QUEUE_FULL) is what matters.
    const bound = this.length >= this.#maxMessages ? `${this.length} messages queued, limit ${this.#maxMessages}` : `${this.#bytes} bytes queued, ${size} more would pass the limit of ${this.#maxBytes}`;
    error.message = `offline queue full: ${bound}`;
    return error;
  }
}
