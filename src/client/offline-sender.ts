/**
 * What a reconnecting client sends while it has no connection: the bounded offline queue, its
 * TTL timer, and the hand-over to the next connection — in order, ahead of later sends, and
 * never through that connection's overflow policy (these messages were already accepted).
 */
import type { Connection, SendStatus } from "../connection.ts";
import { OfflineQueue, type OfflineQueueOptions } from "../flow/offline-queue.ts";

/** Why messages waiting offline were let go (the `reason` of a `drop` event). */
export type OfflineDropReason = "overflow" | "expired" | "refused";

export class OfflineSender {
  readonly #queue: OfflineQueue;
  readonly #dropped: (messages: number, bytes: number, reason: OfflineDropReason) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Messages let go from here (overflow, expiry, refused by the new peer). */
  drops = 0;

  /** `dropped` reports messages let go (the client emits `drop`). */
  constructor(options: OfflineQueueOptions, dropped: (messages: number, bytes: number, reason: OfflineDropReason) => void) {
    this.#queue = new OfflineQueue(options);
    this.#dropped = dropped;
  }

  get length(): number {
    return this.#queue.length;
  }

  get bytes(): number {
    return this.#queue.bytes;
  }

  /**
   * Keeps an encoded, already checked payload (the caller's own copy).
   * @throws QueueFullError at the bound with overflow `"error"`.
   */
  push(payload: Uint8Array): "queued" | "dropped" {
    const queue = this.#queue;
    const now = performance.now();
    this.#expire(now);
    const status = queue.push(payload, now);
    if (queue.evictedMessages > 0) this.#drop(queue.evictedMessages, queue.evictedBytes, "overflow");
    if (status === "dropped") {
      this.drops++;
      return "dropped";
    }
    this.#arm();
    return "queued";
  }

  /** Hands what waits to the open `connection`, in order, until it pushes back. True when all went. */
  sendInto(connection: Connection<unknown>): boolean {
    const queue = this.#queue;
    if (queue.length === 0) return true;
    this.#expire(performance.now());
    while (queue.length > 0) {
      const payload = queue.peek() as Uint8Array;
      // One that does not fit waits for room (alone in an empty queue it always fits, or never will).
      if (!connection.fits(payload.length)) {
        connection.requestDrain();
        return false;
      }
      let status: SendStatus;
      try {
        status = connection.sendEncoded(payload);
      } catch {
        // The new peer accepts less than the message (or the framing refuses it): it can never go.
        queue.shift();
        this.#drop(1, payload.length, "refused");
        continue;
      }
      if (status === "closed") return false;
      queue.shift();
      if (status === "dropped") this.#drop(1, payload.length, "overflow");
      if (status === "backpressure") break;
    }
    if (queue.length > 0) return false;
    this.#stopTimer();
    return true;
  }

  /** The client is done: everything still held, for reporting as not delivered. */
  clear(): { messages: number; bytes: number } {
    this.#stopTimer();
    return this.#queue.clear();
  }

  #expire(now: number): void {
    if (this.#queue.length === 0) return;
    const expired = this.#queue.expire(now);
    if (expired.messages > 0) this.#drop(expired.messages, expired.bytes, "expired");
  }

  #arm(): void {
    if (this.#timer !== undefined) return;
    const due = this.#queue.nextExpiry();
    if (due === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#expire(performance.now());
        this.#arm();
      },
      Math.max(0, Math.ceil(due - performance.now())),
    );
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #drop(messages: number, bytes: number, reason: OfflineDropReason): void {
    this.drops += messages;
    this.#dropped(messages, bytes, reason);
  }
}
