/**
 * How many PONGs a peer can make us write: a token bucket of `perSecond` tokens refilled
 * continuously, holding at most `perSecond` (a one-second burst). A PING without a token gets no
 * PONG; nothing else happens to the connection (liveness counts any byte, so an honest peer loses
 * only a round-trip sample, and parsing a PING costs no more than parsing a DATA frame).
 */
export class PongBudget {
  readonly #perSecond: number;
  #tokens: number;
  #last: number;

  constructor(perSecond: number, now: number) {
    this.#perSecond = perSecond;
    this.#tokens = perSecond;
    this.#last = now;
  }

  /** True when a PONG may be written now (`now` from `performance.now()`). */
  take(now: number): boolean {
    const tokens = Math.min(this.#perSecond, this.#tokens + ((now - this.#last) * this.#perSecond) / 1000);
    this.#last = now;
    if (tokens < 1) {
      this.#tokens = tokens;
      return false;
    }
    this.#tokens = tokens - 1;
    return true;
  }
}
