/**
 * A token bucket: `ratePerSecond` tokens accrue continuously up to `capacity` (the burst).
 *
 * Made for a hot path that must not read the clock per message: takes are counted against what
 * the bucket held at its last refill, and the clock is read only when that is not enough, or
 * once half the burst was taken since ({@link TokenBucket.tryTake}). Refilling then books every
 * take since the last refill as made at the refill's moment, which can only under-grant (never
 * more than the rate), and only while the bucket was full; once it binds, the count is exact.
 * The half-burst stride bounds that under-grant: a bucket that stays full (a limit far above the
 * traffic) keeps at least half its burst at every refill instead of seeming empty after each
 * burst's worth of takes, which would send the frames after it to wait for a timer.
 *
 * An item larger than the burst is never refused for good: while one waits (a failed `tryTake`),
 * the bucket may fill past `capacity` up to that item's size, so it goes after `(size − burst) /
 * rate` of waiting from a full bucket, and every token is still paid at the rate.
 *
 * While a sender waits for tokens ({@link TokenBucket.hold}) the bucket is not idle, so the burst
 * cap must not eat what accrued: a timer that fires late (a busy event loop, a loaded machine)
 * would otherwise find the bucket capped at its burst (or at the size of the item it waited for)
 * and the transfer would run below the rate. Held, it keeps up to {@link HELD_MS} of the rate
 * more than that; released, it goes back to the burst.
 */

/** Milliseconds, monotonic (`performance.now()` by default; tests inject their own). */
export type Clock = () => number;

const systemClock: Clock = () => performance.now();

/** How much more of the rate (ms) a held bucket may gather past its cap: covers a timer that fires that late. */
export const HELD_MS = 100;

export class TokenBucket {
  /** Tokens per millisecond. */
  readonly ratePerMs: number;
  readonly capacity: number;
  readonly #now: Clock;
  /** Tokens at the last refill. */
  #base: number;
  /** Tokens taken since the last refill (what `take` costs: one addition). */
  #taken = 0;
  /** When the last refill happened. */
  #at: number;
  /** How full the bucket may get: `capacity`, or the size of a larger item waiting. */
  #ceiling: number;
  /** Takes on credit between two refills, at most (half the burst: see the file comment). */
  readonly #stride: number;
  /** A sender waits for tokens: refills may go `#heldExtra` past `#ceiling`. */
  #held = false;
  readonly #heldExtra: number;

  constructor(ratePerSecond: number, capacity: number, now: Clock = systemClock) {
    this.ratePerMs = ratePerSecond / 1000;
    this.capacity = capacity;
    this.#now = now;
    this.#base = capacity;
    this.#ceiling = capacity;
    this.#stride = capacity / 2;
    this.#heldExtra = this.ratePerMs * HELD_MS;
    this.#at = now();
  }

  /** Tokens known to be there without reading the clock (may be below what a refill would give). */
  get credit(): number {
    return this.#base - this.#taken;
  }

  /** Tokens now (reads the clock); negative while a forced take is being paid back. */
  available(): number {
    this.#refill();
    return this.#base;
  }

  /** Takes `n` tokens whatever the bucket holds (it may go below zero: the debt is paid at the rate). */
  take(n: number): void {
    this.#taken += n;
  }

  /**
   * Takes `n` tokens if the bucket holds them, reading the clock only when the credit is short or
   * half the burst went since the last refill.
   * A failed take of more than `capacity` lets the bucket fill up to `n` (see the file comment).
   */
  tryTake(n: number): boolean {
    const taken = this.#taken + n;
    if (taken <= this.#stride && this.#base >= taken) {
      this.#taken = taken;
      return true;
    }
    this.#refill();
    if (this.#base >= n) {
      this.#base -= n;
      this.#ceiling = this.capacity;
      return true;
    }
    if (n > this.capacity) this.#ceiling = Math.max(this.#ceiling, n);
    return false;
  }

  /**
   * Takes at least `n` and at most `most` tokens if the bucket holds `n`: what it can spare up to
   * `most` (the tokens of the sends that follow, so they need not ask one by one). What is spare
   * is booked like any take since the last refill: held unspent for a long time, it still never
   * adds to the burst.
   * @returns the tokens taken (0: not even `n` are there; nothing taken). Give back what is left
   * unused with {@link giveBack}.
   */
  takeUpTo(n: number, most: number): number {
    const spare = Math.min(this.#stride, this.#base) - this.#taken;
    if (spare >= n) {
      const taken = Math.max(n, Math.min(spare, most));
      this.#taken += taken;
      return taken;
    }
    if (!this.tryTake(n)) return 0;
    // tryTake refilled: the rest of what is there is booked against the new base.
    const more = Math.min(this.#base, this.#stride, most - n);
    if (more <= 0) return n;
    this.#taken += more;
    return n + more;
  }

  /** Returns `n` unused tokens of a {@link takeUpTo}; never past what the bucket may hold now. */
  giveBack(n: number): void {
    this.#refill();
    const ceiling = this.#held ? this.#ceiling + this.#heldExtra : this.#ceiling;
    this.#base = Math.min(ceiling, this.#base + n);
  }

  /** Milliseconds until `n` tokens are there (0: now), as of the last refill. */
  delayFor(n: number): number {
    this.#refill();
    const missing = n - this.#base;
    return missing <= 0 ? 0 : missing / this.ratePerMs;
  }

  /** A sender waits for tokens from now on: until {@link release}, what accrues is kept up to {@link HELD_MS} of the rate past the cap. */
  hold(): void {
    this.#held = true;
  }

  /** Nobody waits any more: the bucket is idle again, and holds at most its burst. */
  release(): void {
    if (!this.#held) return;
    this.#refill();
    this.#held = false;
    this.#ceiling = this.capacity;
    if (this.#base > this.capacity) this.#base = this.capacity;
  }

  #refill(): void {
    const now = this.#now();
    const elapsed = now - this.#at;
    this.#at = now;
    // The cap applies before the takes are booked: they are counted as made now.
    const accrued = this.#base + (elapsed > 0 ? elapsed * this.ratePerMs : 0);
    const ceiling = this.#held ? this.#ceiling + this.#heldExtra : this.#ceiling;
    this.#base = Math.min(ceiling, accrued) - this.#taken;
    this.#taken = 0;
  }
}
