/**
 * One connection's idle timeout and its partial-frame progress rule, on one timer.
 *
 * Idle: no byte moved in either direction for `idleTimeoutMs`. Progress (as Apache's
 * mod_reqtimeout `MinRate`): while a frame has begun and is not complete, each window of
 * `windowMs` must bring at least `bytesPerSecond × window` bytes. The heartbeat alone cannot tell
 * a trickle from a live peer (any byte is liveness), and a trickled frame pins its partial buffer.
 *
 * The timer runs every window (or every half idle timeout, if shorter): a connection costs one
 * timer, never one per chunk, and the hot path only bumps counters the connection keeps anyway.
 */
import type { MinReceiveRate, ResolvedConnectionLimits } from "./options.ts";

/** What the watchdog reads from, and tells, its connection. */
export interface ReceiveWatchdogHost {
  /** Bytes received so far. */
  receivedBytes(): number;
  /** Bytes of ours the kernel has taken so far. */
  sentBytes(): number;
  /** Bytes held for a frame that has begun and is not complete. */
  partialBytes(): number;
  /** True while this side chooses not to read: the peer's bytes wait in the kernel, which is not its fault. */
  readPaused(): boolean;
  /** Nothing moved for `idleMs`: close. */
  idle(idleMs: number): void;
  /** A begun frame brought only `received` bytes in the last `windowMs`: close. */
  slow(received: number, windowMs: number, rate: MinReceiveRate): void;
}

export class ReceiveWatchdog {
  readonly #host: ReceiveWatchdogHost;
  readonly #idleMs: number;
  readonly #rate: MinReceiveRate | undefined;
  readonly #periodMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastReceived = 0;
  #lastSent = 0;
  #lastActivity: number;
  /** Where the current progress window began (time, bytes received then); NaN: no frame begun. */
  #windowStart = Number.NaN;
  #windowReceived = 0;
  /** A verdict is pending for one more turn: after a stall of our own loop, reads that waited come first. */
  #confirming = false;
  readonly #tick = (): void => this.#check();

  /** A watchdog for `limits`, or undefined when both rules are off. */
  static create(host: ReceiveWatchdogHost, limits: ResolvedConnectionLimits): ReceiveWatchdog | undefined {
    if (limits.idleTimeoutMs === 0 && limits.minReceiveRate === undefined) return undefined;
    return new ReceiveWatchdog(host, limits.idleTimeoutMs, limits.minReceiveRate);
  }

  private constructor(host: ReceiveWatchdogHost, idleMs: number, rate: MinReceiveRate | undefined) {
    this.#host = host;
    this.#idleMs = idleMs;
    this.#rate = rate;
    this.#periodMs = Math.max(1, Math.min(rate?.windowMs ?? Number.POSITIVE_INFINITY, idleMs > 0 ? Math.ceil(idleMs / 2) : Number.POSITIVE_INFINITY));
    this.#lastActivity = performance.now();
    this.#timer = setTimeout(this.#tick, this.#periodMs);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    const host = this.#host;
    const now = performance.now();
    const received = host.receivedBytes();
    const sent = host.sentBytes();
    const paused = host.readPaused();
    if (paused || received !== this.#lastReceived || sent !== this.#lastSent) this.#lastActivity = now;
    this.#lastReceived = received;
    this.#lastSent = sent;
    const idleFor = now - this.#lastActivity;
    if (this.#idleMs > 0 && idleFor >= this.#idleMs) {
      if (this.#confirm()) return;
      host.idle(idleFor);
      return;
    }
    const rate = this.#rate;
    if (rate !== undefined) {
      if (paused || host.partialBytes() === 0) {
        this.#windowStart = Number.NaN;
      } else if (Number.isNaN(this.#windowStart)) {
        this.#windowStart = now;
        this.#windowReceived = received;
      } else {
        const elapsed = now - this.#windowStart;
        if (elapsed >= rate.windowMs) {
          const got = received - this.#windowReceived;
          if (got < (rate.bytesPerSecond * elapsed) / 1000) {
            if (this.#confirm()) return;
            host.slow(got, elapsed, rate);
            return;
          }
          this.#windowStart = now;
          this.#windowReceived = received;
        }
      }
    }
    this.#confirming = false;
    this.#timer = setTimeout(this.#tick, this.#periodMs);
  }

  /** True when the verdict waits one turn (see `#confirming`). */
  #confirm(): boolean {
    if (this.#confirming) return false;
    this.#confirming = true;
    this.#timer = setTimeout(this.#tick, 0);
    return true;
  }
}
