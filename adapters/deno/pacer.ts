/** Fair turns of Deno's event loop for socket loops that never wait (see {@link Pacer}). */
type Schedule = (callback: () => void) => unknown;
/** A global since Deno 2. */
const setImmediateIfAny = (globalThis as unknown as { setImmediate?: Schedule }).setImmediate;

/** Longest the sockets' loops keep the event loop busy before they let timers run. */
const TURN_AFTER_MS = 10;
/** Longest they go without a turn that also lets the runtime poll other sockets. */
const POLL_AFTER_MS = 25;
/** Longest they go without a `setTimeout(0)`, which parks the runtime whatever its scheduler does. */
const PARK_AFTER_MS = 1000;
/**
 * Immediates in a row that make tokio poll its sockets: it does so when it parks or, while the
 * runtime keeps waking itself, every 61 scheduler ticks (its default `event_interval`). Should a
 * runtime poll less often, the `setTimeout(0)` backstop still bounds the wait.
 */
const POLL_TICKS = 64;

type CpuUsage = () => { readonly user: number; readonly system: number };
/** `process.cpuUsage` (Deno 2 has Node's `process`): the process's CPU time, in µs. */
const cpuUsageIfAny: CpuUsage | undefined = (() => {
  const process = (globalThis as unknown as { process?: { cpuUsage?: CpuUsage } }).process;
  const cpuUsage = process?.cpuUsage;
  return typeof cpuUsage === "function" ? () => cpuUsage.call(process) : undefined;
})();
/**
 * A process that used less than this share of a core since the last turn was idle part of the
 * time, so the runtime parked by itself: timers and other sockets had their turn. Other threads'
 * CPU time only makes the process look busier: at worst a turn too many, never one too few.
 */
const IDLE_BELOW = 0.9;

/** CPU time of the process in µs; NaN when unknown (then nothing counts as idle). */
function cpuMicros(): number {
  const usage = cpuUsageIfAny?.();
  return usage === undefined ? Number.NaN : usage.user + usage.system;
}

function immediateTurn(immediate: Schedule): Promise<void> {
  return new Promise<void>((resolve) => immediate(resolve));
}

function timerTurn(): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, 0));
}

/**
 * Gives the event loop a turn when socket loops have kept it busy. Deno settles a read or write
 * op that is ready at once, in a microtask, so a loop whose peer keeps data flowing (a PING flood,
 * a stream, a fast reader of a big write) would never let timers or other connections run: a
 * flood stalled a process for seconds. One pacer serves all sockets of an adapter and every loop
 * that is due awaits the same turn, so no loop keeps the runtime busy while another yields.
 *
 * Most turns are one `setImmediate` (~5–80 µs): timers run, but Deno wakes itself instead of
 * parking while an immediate is pending, so tokio does not poll other sockets. Every
 * {@link POLL_AFTER_MS} the turn is {@link POLL_TICKS} immediates (~0.15–0.5 ms), which does.
 * `setTimeout(0)` always lets the runtime park but costs ~2.1 ms on Deno 2.9 (1 ms minimum plus
 * the timer tick; no 4 ms clamp when nested): as the polling turn it cost a busy stream ~10%, so
 * it is only the backstop every {@link PARK_AFTER_MS}, and the turn when there is no
 * `setImmediate` (then only every {@link POLL_AFTER_MS}).
 */
export class Pacer {
  /** When the event loop last had a turn (`performance.now()`), and the CPU time then. */
  #turnAt = performance.now();
  #cpuAt = cpuMicros();
  #polledAt = performance.now();
  #parkedAt = performance.now();
  #turn: Promise<void> | undefined;

  /** The loops have kept the event loop busy long enough to owe it a turn. */
  due(): boolean {
    const now = performance.now();
    const elapsed = now - this.#turnAt;
    if (elapsed < (setImmediateIfAny === undefined ? POLL_AFTER_MS : TURN_AFTER_MS)) return false;
    // An idle spell since the last turn was a park: no turn owed (a ping-pong pays nothing).
    const cpu = cpuMicros();
    if (cpu - this.#cpuAt < elapsed * 1000 * IDLE_BELOW) {
      this.#turnAt = this.#polledAt = this.#parkedAt = now;
      this.#cpuAt = cpu;
      return false;
    }
    return true;
  }

  /** Resolves after the event loop had a turn; concurrent callers share it. */
  turn(): Promise<void> {
    return (this.#turn ??= this.#take());
  }

  async #take(): Promise<void> {
    try {
      const immediate = setImmediateIfAny;
      const now = performance.now();
      if (immediate === undefined || now - this.#parkedAt >= PARK_AFTER_MS) {
        await timerTurn();
        this.#parkedAt = this.#polledAt = performance.now();
      } else if (now - this.#polledAt >= POLL_AFTER_MS) {
        for (let tick = 0; tick < POLL_TICKS; tick++) await immediateTurn(immediate);
        this.#polledAt = performance.now();
      } else {
        await immediateTurn(immediate);
      }
    } finally {
      this.#turnAt = performance.now();
      this.#cpuAt = cpuMicros();
      this.#turn = undefined;
    }
  }
}

