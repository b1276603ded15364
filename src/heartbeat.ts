/**
 * The framewire heartbeat of one connection: PINGs on an interval and the liveness deadline.
 *
 * One timer per connection, armed for whichever comes first, the next PING or the moment the peer
 * would have been silent for `timeoutMs`; so a dead peer is detected at the deadline (plus timer
 * lateness), not at the next interval tick. The connection stamps `lastInbound` on every chunk.
 */

/** What the heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** Send a PING now. */
  ping(): void;
  /** The peer has been silent for `silentMs`: close the connection. */
  timedOut(silentMs: number): void;
  /** True while this side chooses not to read: the peer's frames wait in the kernel, which is not silence. */
  readPaused(): boolean;
}

export class Heartbeat {
  /** When the last inbound bytes arrived (`performance.now()`); the connection updates it. */
  lastInbound: number;
  readonly #host: HeartbeatHost;
  readonly #timeoutMs: number;
  /** PING period: the interval, or half the timeout when that is shorter, so an answering peer always beats the deadline. */
  readonly #pingEveryMs: number;
  #nextPing: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline passed once; the next check, a turn later, decides. */
  #confirming = false;
  readonly #tick = (): void => this.#check();

  constructor(host: HeartbeatHost, intervalMs: number, timeoutMs: number) {
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#pingEveryMs = Math.max(1, Math.min(intervalMs, Math.floor(timeoutMs / 2)));
    const now = performance.now();
    this.lastInbound = now;
    this.#nextPing = now + this.#pingEveryMs;
    this.#arm(now);
  }

  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    this.#timer = undefined;
    const now = performance.now();
    if (this.#host.readPaused()) this.lastInbound = now;
    const silent = now - this.lastInbound;
    if (silent >= this.#timeoutMs) {
      if (!this.#confirming) {
        // After a stall of our own event loop, timers run before the reads that waited: what the
        // peer sent is still in the kernel. One more turn lets those reads in before we judge.
        this.#confirming = true;
        this.#timer = setTimeout(this.#tick, 0);
        return;
      }
      this.#host.timedOut(silent);
      return;
    }
    this.#confirming = false;
    if (now >= this.#nextPing) {
      this.#nextPing = now + this.#pingEveryMs;
      this.#host.ping();
    }
    this.#arm(now);
  }

  #arm(now: number): void {
    const due = Math.min(this.#nextPing, this.lastInbound + this.#timeoutMs);
    this.#timer = setTimeout(this.#tick, Math.max(0, Math.ceil(due - now)));
  }
}
