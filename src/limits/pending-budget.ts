/**
 * A server's budget for partially received frames, over all its connections.
 *
 * A partial frame holds only the bytes that arrived (src/framing/partial-frame.ts), so one peer
 * pins at most one `maxFrameSize`; a thousand peers that each announce 15 MiB and trickle could
 * still make a server hold gigabytes. Each connection reports what it holds after every chunk it
 * parses (one subtraction when nothing changed); the one whose growth takes the total past the
 * budget is told so and closes (`FW_PENDING_BUDGET`), and what it held is given back.
 */
export class PendingFrameBudget {
  readonly max: number;
  /** Partial-frame bytes held by all connections now. */
  held = 0;

  constructor(max: number) {
    this.max = max;
  }

  /** One connection's part of the budget. */
  share(): PendingFrameShare {
    return new PendingFrameShare(this);
  }
}

export class PendingFrameShare {
  readonly #budget: PendingFrameBudget;
  /** What this connection holds, as last reported. */
  #held = 0;

  constructor(budget: PendingFrameBudget) {
    this.#budget = budget;
  }

  get budget(): PendingFrameBudget {
    return this.#budget;
  }

  /** The connection now holds `bytes` of a partial frame. False when that growth took the server past its budget. */
  update(bytes: number): boolean {
    const delta = bytes - this.#held;
    if (delta === 0) return true;
    this.#held = bytes;
    const budget = this.#budget;
    budget.held += delta;
    return delta < 0 || budget.held <= budget.max;
  }

  /** The connection holds nothing any more (it closed). */
  release(): void {
    this.update(0);
  }
}
