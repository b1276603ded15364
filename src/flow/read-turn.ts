/**
 * How long one connection's reads may keep the event loop to themselves.
 *
 * A runtime reads a busy socket again and again before it looks at timers: Bun repeats its
 * 512 KiB read while the buffer comes back full and few other sockets are ready, libuv up to 32
 * reads per poll. A peer that floods then keeps the loop inside this connection's data callbacks;
 * measured on Bun, a 10 ms timer fired 100–340 ms late. After `READ_TURN_MS` of back-to-back
 * chunks the connection pauses reading (a pause inside the data callback ends Bun's and libuv's
 * read loops) and resumes on a zero-delay timer, so timers and other sockets run in between.
 */

/** Busy time after which a connection gives the loop back. */
export const READ_TURN_MS = 20;
/** Chunks closer than this (end of one to start of the next) belong to the same turn. */
const BACK_TO_BACK_MS = 1;

/** What a read turn needs from its connection. */
export interface ReadTurnHost {
  /** The turn given away came back: read again (and parse what waited). */
  turnBack(): void;
}

export class ReadTurn {
  /** True from `yield()` until the resume timer fired: reading is paused for it. */
  yielding = false;
  #since = 0;
  #lastEnd = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #host: ReadTurnHost;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.yielding = false;
    this.#lastEnd = Number.NEGATIVE_INFINITY;
    this.#host.turnBack();
  };

  constructor(host: ReadTurnHost) {
    this.#host = host;
  }

  /** A chunk starts being handled at `now` (`performance.now()`). */
  begin(now: number): void {
    if (now - this.#lastEnd > BACK_TO_BACK_MS) this.#since = now;
  }

  /** The chunk is handled: true when this turn has lasted long enough to yield. */
  spent(): boolean {
    const now = performance.now();
    this.#lastEnd = now;
    return now - this.#since >= READ_TURN_MS;
  }

  /** Gives the loop back: the caller pauses reading; `turnBack` runs on the next timer turn. */
  yield(): void {
    if (this.yielding) return;
    this.yielding = true;
    this.#timer = setTimeout(this.#onTimer, 0);
  }

  /** The connection closed: no resume. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.yielding = false;
  }
}
