/**
 * A rate limiter: the token buckets of one `rateLimit` (bytes, and optionally messages) and the
 * senders waiting for their tokens, woken by one timer per limiter. A connection's own limiter
 * has one sender; a server's shared limiter (`serverRateLimit`) has one per connection, woken in
 * the order they started waiting, so one busy connection does not starve the others.
 */
import type { ResolvedRateLimit } from "./rate-limit-options.ts";
import { type Clock, TokenBucket } from "./token-bucket.ts";

/** A sender with frames waiting for tokens. */
export interface ThrottledSender {
  /** Tokens may be there: send what they allow (and wait again for the rest). */
  tokensReady(): void;
}

/** Timers fire no sooner than this: a limiter never spins on sub-millisecond waits. */
const MIN_WAIT_MS = 1;

export class RateLimiter {
  readonly bytes: TokenBucket;
  readonly messages: TokenBucket | undefined;
  readonly #waiting = new Set<ThrottledSender>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the armed timer fires (`performance.now()` scale of the clock). */
  #due = Number.POSITIVE_INFINITY;
  readonly #now: Clock;
  readonly #fire = (): void => this.#wake();

  constructor(limit: ResolvedRateLimit, now: Clock = () => performance.now()) {
    this.#now = now;
    this.bytes = new TokenBucket(limit.bytesPerSecond, limit.burstBytes, now);
    this.messages = limit.messagesPerSecond === undefined ? undefined : new TokenBucket(limit.messagesPerSecond, limit.burstMessages as number, now);
  }

  /** Without reading the clock: does a frame of `size` bytes fit what the buckets are known to hold? */
  hasCredit(size: number): boolean {
    return this.bytes.credit >= size && (this.messages === undefined || this.messages.credit >= 1);
  }

  /** Books a frame sent on `hasCredit` (or one that had to go anyway: the debt is paid at the rate). */
  charge(size: number, messages = 1): void {
    this.bytes.take(size);
    this.messages?.take(messages);
  }

  /** Takes the tokens for one frame of `size` bytes if both buckets hold them. */
  tryTake(size: number): boolean {
    const messages = this.messages;
    // Both through tryTake: its refills keep a bucket that stays full from seeming empty.
    if (messages !== undefined && !messages.tryTake(1)) return false;
    if (this.bytes.tryTake(size)) return true;
    messages?.take(-1);
    return false;
  }

  /**
   * Frames wait (for tokens, or for a busy socket): the buckets are not idle until {@link cancel},
   * so what accrues meanwhile is not lost to the burst cap (see `TokenBucket.hold`).
   */
  hold(): void {
    this.bytes.hold();
    this.messages?.hold();
  }

  /** `sender` waits for a frame of `size` bytes: it is woken (once) when the tokens should be there. */
  wait(sender: ThrottledSender, size: number): void {
    this.#waiting.add(sender);
    const messages = this.messages;
    // Not idle while someone waits: a late timer must not cost the tokens it let accrue.
    this.hold();
    const delay = Math.max(MIN_WAIT_MS, this.bytes.delayFor(size), messages === undefined ? 0 : messages.delayFor(1));
    const due = this.#now() + delay;
    if (this.#timer !== undefined) {
      if (due >= this.#due) return;
      clearTimeout(this.#timer);
    }
    this.#due = due;
    this.#timer = setTimeout(this.#fire, Math.ceil(delay));
  }

  /** `sender` is gone (closed) or has nothing left to send: it is not woken. */
  cancel(sender: ThrottledSender): void {
    this.#waiting.delete(sender);
    if (this.#waiting.size !== 0) return;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#due = Number.POSITIVE_INFINITY;
    }
    this.#release();
  }

  /** True while `sender` waits for tokens. */
  isWaiting(sender: ThrottledSender): boolean {
    return this.#waiting.has(sender);
  }

  #wake(): void {
    this.#timer = undefined;
    this.#due = Number.POSITIVE_INFINITY;
    // Each sender waits again if tokens run out. The first one woken may take them all, so the
    // order turns by one per wake: over a few wakes every waiting sender gets its share.
    const senders = [...this.#waiting];
    this.#waiting.clear();
    for (const sender of senders) sender.tokensReady();
    if (senders.length < 2 || this.#waiting.size < 2) return;
    const again = new Set<ThrottledSender>();
    for (let i = 1; i <= senders.length; i++) {
      const sender = senders[i % senders.length] as ThrottledSender;
      if (this.#waiting.has(sender)) again.add(sender);
    }
    for (const sender of this.#waiting) again.add(sender);
    this.#waiting.clear();
    for (const sender of again) this.#waiting.add(sender);
  }

  /** Nobody waits or holds frames: the buckets are idle again (back to their bursts). */
  #release(): void {
    this.bytes.release();
    this.messages?.release();
  }
}
