/**
 * The inbound rate limit of one connection (`inboundRateLimit`): every chunk read is taken from a
 * token bucket; once it is in debt, reading from the socket pauses until the debt is paid, so the
 * kernel's receive buffer fills and TCP slows the peer (whose `send()` then answers
 * `"backpressure"`). A chunk already read is never held back: it is parsed and delivered, and
 * the pause that follows pays for it. One timer, armed only while paused.
 */
import type { ResolvedRateLimit } from "./rate-limit-options.ts";
import { type Clock, TokenBucket } from "./token-bucket.ts";

/** What the limit needs from its connection. */
export interface InboundLimitHost {
  /** The debt is paid: apply the read state again (reading resumes unless something else holds it). */
  inboundTokens(): void;
}

export class InboundLimit {
  /** True while reading is paused to pay for what was read. */
  paused = false;
  readonly #bucket: TokenBucket;
  readonly #host: InboundLimitHost;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const missing = -this.#bucket.available();
    if (missing > 0) {
      this.#arm(missing);
      return;
    }
    this.paused = false;
    this.#host.inboundTokens();
  };

  constructor(host: InboundLimitHost, limit: ResolvedRateLimit, now?: Clock) {
    this.#host = host;
    this.#bucket = new TokenBucket(limit.bytesPerSecond, limit.burstBytes, now);
  }

  /**
   * `bytes` were read. True when reading must pause now (the caller applies it); the limit
   * calls `inboundTokens` when it may resume.
   */
  read(bytes: number): boolean {
    const bucket = this.#bucket;
    bucket.take(bytes);
    if (this.paused || bucket.credit >= 0) return false;
    const missing = -bucket.available();
    if (missing <= 0) return false;
    this.paused = true;
    this.#arm(missing);
    return true;
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.paused = false;
  }

  #arm(missing: number): void {
    this.#timer = setTimeout(this.#onTimer, Math.max(1, Math.ceil(missing / this.#bucket.ratePerMs)));
  }
}
