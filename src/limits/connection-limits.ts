/**
 * The limits one connection enforces, behind one object so the connection holds one field:
 * the receive watchdog (idle timeout, minimum receive rate), the PONG budget, and its share of
 * the server's partial-frame budget (server side only).
 */
import type { PendingFrameShare } from "./pending-budget.ts";
import { PongBudget } from "./pong-budget.ts";
import type { ResolvedConnectionLimits } from "./options.ts";
import { ReceiveWatchdog, type ReceiveWatchdogHost } from "./receive-watchdog.ts";

export type { ReceiveWatchdogHost } from "./receive-watchdog.ts";

export class ConnectionLimits {
  readonly #watchdog: ReceiveWatchdog | undefined;
  readonly #pending: PendingFrameShare | undefined;
  readonly #pongsPerSecond: number;
  /** Made at the first PING: most connections never answer one more often than the budget. */
  #pongs: PongBudget | undefined;

  constructor(host: ReceiveWatchdogHost, limits: ResolvedConnectionLimits, pending: PendingFrameShare | undefined) {
    this.#watchdog = ReceiveWatchdog.create(host, limits);
    this.#pending = pending;
    this.#pongsPerSecond = limits.maxPongsPerSecond;
  }

  /**
   * The connection holds `partialBytes` of a frame not complete yet (after a chunk was parsed).
   * False when that took the server past its partial-frame budget: the connection must close.
   */
  holding(partialBytes: number): boolean {
    return this.#pending === undefined || this.#pending.update(partialBytes);
  }

  /** The server's budget, for the error's text. */
  get pendingBudget(): number {
    return this.#pending?.budget.max ?? Number.POSITIVE_INFINITY;
  }

  /** A PING arrived: true when it may get a PONG. */
  mayPong(now: number): boolean {
    return (this.#pongs ??= new PongBudget(this.#pongsPerSecond, now)).take(now);
  }

  /** The connection is closing: nothing more to watch. */
  closing(): void {
    this.#watchdog?.stop();
  }

  /** The connection is closed: it holds nothing any more. */
  closed(): void {
    this.#watchdog?.stop();
    this.#pending?.release();
  }
}
