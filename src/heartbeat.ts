/**
 * The framewire heartbeat of one connection: PINGs on an interval and the liveness deadline.
 *
 * One timer per connection, armed for whichever comes first, the next PING or the moment the peer
 * would have been silent for `timeoutMs`; so a dead peer is detected at the deadline (plus timer
 * lateness), not at the next interval tick. The connection stamps `lastInbound` on every chunk.
 * Our PINGs carry their send time; the PONG that echoes the last one gives the round-trip time.
 */

/** What the heartbeat needs from its connection. */
export interface HeartbeatHost {
  /** Send a PING with these fields now. */
  ping(body: Uint8Array): void;
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
  /** The timestamp in our last PING, until its PONG came back (NaN: none outstanding). */
  #pingSentAt = Number.NaN;
  /** Last measured round trip, ms. */
  rttMs: number | undefined;
  /** Smoothed round trip (RFC 6298 weights), ms. */
  srttMs: number | undefined;

  constructor(host: HeartbeatHost, intervalMs: number, timeoutMs: number) {
    this.#host = host;
    this.#timeoutMs = timeoutMs;
    this.#pingEveryMs = Math.max(1, Math.min(intervalMs, Math.floor(timeoutMs / 2)));
    const now = performance.now();
    this.lastInbound = now;
    this.#nextPing = now + this.#pingEveryMs;
    this.#arm(now);
  }

  /** A PONG arrived: only the answer to our last PING counts, so a peer cannot make up round-trip times. */
  onPong(body: Uint8Array): void {
    if (body.length !== 8) return; // not one of ours
    const sentAt = new DataView(body.buffer, body.byteOffset, 8).getFloat64(0);
    if (sentAt !== this.#pingSentAt) return;
    this.#pingSentAt = Number.NaN;
    const rtt = performance.now() - sentAt;
    this.rttMs = rtt;
    this.srttMs = this.srttMs === undefined ? rtt : this.srttMs + (rtt - this.srttMs) / 8;
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
      const body = new Uint8Array(8);
      this.#pingSentAt = now;
      new DataView(body.buffer).setFloat64(0, now);
      this.#host.ping(body);
    }
    this.#arm(now);
  }

  #arm(now: number): void {
    const due = Math.min(this.#nextPing, this.lastInbound + this.#timeoutMs);
    this.#timer = setTimeout(this.#tick, Math.max(0, Math.ceil(due - now)));
  }
}
