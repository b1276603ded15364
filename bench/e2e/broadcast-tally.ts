/**
 * The receiving side of the broadcast scenario, shared by every implementation: one checker per
 * connection (each sees consecutive sequence numbers from 0), a window over the sum of all
 * deliveries, and whether any connection closed before the window ended.
 */
import { Checker, emitAndExit, type RunConfig, Window } from "./common.ts";

/** The broadcasting server's result: rounds sent to every connection, deliveries queued, and what went wrong. */
export function broadcastServerResult(rounds: number, deliveries: number, failure: string | undefined, unexpected: number): Record<string, unknown> {
  return {
    role: "server",
    rounds,
    deliveries,
    errors: failure || unexpected ? 1 : 0,
    firstError: failure ?? (unexpected ? `${unexpected} bytes or messages from the clients` : undefined),
  };
}

export class BroadcastTally {
  readonly window = new Window();
  readonly #checkers: Checker[] = [];
  readonly #size: number;
  #closedEarly = false;
  #errors = 0;
  #firstError: string | undefined;

  constructor(cfg: RunConfig) {
    this.#size = cfg.size;
  }

  /** A checker for one more connection. */
  add(): Checker {
    const checker = new Checker(this.#size);
    this.#checkers.push(checker);
    return checker;
  }

  /** Once every connection is up: the window opens after the warm-up (summing 1,000 counters twice is cheap). */
  schedule(cfg: RunConfig): void {
    this.window.schedule(cfg.warmupMs, cfg.durationMs, () => this.#total());
  }

  closed(): void {
    if (!this.window.ended) this.#closedEarly = true;
  }

  fail(error: unknown): void {
    this.#errors++;
    this.#firstError ??= String(error);
  }

  #total(): number {
    let n = 0;
    for (const c of this.#checkers) n += c.count;
    return n;
  }

  finish(): void {
    const counts = this.#checkers.map((c) => c.count);
    let errors = this.#errors;
    let firstError = this.#firstError;
    for (const c of this.#checkers) {
      errors += c.errors;
      firstError ??= c.firstError;
    }
    emitAndExit("result", {
      role: "client",
      connections: counts.length,
      received: this.#total(),
      minPerConnection: Math.min(...counts),
      maxPerConnection: Math.max(...counts),
      errors,
      firstError,
      windowComplete: this.window.ended && !this.#closedEarly,
      ...this.window.summary(),
    });
  }
}
