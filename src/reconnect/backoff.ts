/**
 * The client's reconnect policy: option checking, and the delay before each attempt. No timers
 * here: the client asks {@link Backoff.next} for a delay and schedules it itself.
 */
import { HandlerError, InvalidOptionError } from "../errors.ts";
import { MAX_TIMER_MS } from "../options.ts";
import { boolean, describeValue, integer, optionalFunction, rejectUnknownKeys } from "../validate.ts";

/**
 * How a client reconnects after losing its connection (`connect({ reconnect })`). `true` takes
 * every default.
 * @example
 * connect({ host, port, reconnect: { initialDelayMs: 100, maxDelayMs: 5_000, maxAttempts: 20 } });
 */
export interface ReconnectOptions {
  /**
   * Delay before the first attempt, in ms.
   * @default 250
   */
  initialDelayMs?: number;
  /**
   * Longest delay between attempts, in ms (at least `initialDelayMs`).
   * @default 30000
   */
  maxDelayMs?: number;
  /**
   * Each delay is the previous one times this (at least 1).
   * @default 2
   */
  multiplier?: number;
  /**
   * Randomness added to each delay `d`, so that clients cut off together do not all come back at
   * once: `"none"`; `"full"`, uniform in [0, d]; or a number `j` in (0, 1], uniform in
   * [d·(1−j), d·(1+j)], then capped at `maxDelayMs`.
   * @default 0.2
   */
  jitter?: "none" | "full" | number;
  /**
   * Attempts after a disconnect before giving up: an integer ≥ 1, or `Infinity` for no limit.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * Replaces the computed series: the delay in ms before attempt `attempt` (counted from 1). It
   * must return a finite number ≥ 0 (rounded, capped at 2^31−1 ms); no jitter is added. Cannot be
   * combined with `initialDelayMs`, `maxDelayMs`, `multiplier` or `jitter`.
   * @default undefined (the computed series)
   */
  delay?: (attempt: number) => number;
  /**
   * Dial timeout of each attempt, in ms.
   * @default the client's `connectTimeoutMs`
   */
  connectTimeoutMs?: number;
  /**
   * Whether the very first `connect()` also retries with this policy (otherwise its failure is
   * returned at once).
   * @default false
   */
  retryFirstConnect?: boolean;
}

/** {@link ReconnectOptions} checked, with every default filled in. */
export interface ResolvedReconnect {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: "none" | "full" | number;
  readonly maxAttempts: number;
  /** The user's `delay`, wrapped by {@link checkedDelay}; undefined: the computed series. */
  readonly delay: ((attempt: number) => number) | undefined;
  readonly connectTimeoutMs: number;
  readonly retryFirstConnect: boolean;
}

const KEYS: ReadonlySet<string> = new Set(["initialDelayMs", "maxDelayMs", "multiplier", "jitter", "maxAttempts", "delay", "connectTimeoutMs", "retryFirstConnect"]);
/** Options that shape the computed series: meaningless beside a user `delay`, so refused there. */
const SERIES_KEYS = ["initialDelayMs", "maxDelayMs", "multiplier", "jitter"] as const;

/**
 * Checks the `reconnect` option. `undefined` or `false`: off (returns undefined); `true`: every
 * default; an object: each key checked, unknown keys refused.
 * @throws InvalidOptionError naming the option (`reconnect.maxDelayMs`…).
 */
export function resolveReconnect(value: unknown, clientConnectTimeoutMs: number): ResolvedReconnect | undefined {
  if (value === undefined || value === false) return undefined;
  const o: Record<string, unknown> = value === true ? {} : asObject(value);
  rejectUnknownKeys(o, KEYS, "reconnect");
  const delay = optionalFunction<(attempt: number) => number>("reconnect.delay", o.delay);
  if (delay !== undefined) {
    for (const key of SERIES_KEYS) {
      if (o[key] !== undefined) throw new InvalidOptionError(`reconnect.${key} has no effect beside reconnect.delay, which replaces the computed series`);
    }
  }
  // At least 1 ms: a zero base would never grow, a busy redial loop.
  const initialDelayMs = integer("reconnect.initialDelayMs", o.initialDelayMs, 250, 1, MAX_TIMER_MS);
  const maxDelayMs = integer("reconnect.maxDelayMs", o.maxDelayMs, 30_000, 0, MAX_TIMER_MS);
  if (initialDelayMs > maxDelayMs) {
    const which = o.initialDelayMs === undefined ? ", the default," : "";
    throw new InvalidOptionError(`reconnect.initialDelayMs (${initialDelayMs}${which}) must be at most reconnect.maxDelayMs (${maxDelayMs})`);
  }
  return {
    initialDelayMs,
    maxDelayMs,
    multiplier: multiplierOption(o.multiplier),
    jitter: jitterOption(o.jitter),
    maxAttempts: o.maxAttempts === Infinity ? Infinity : integer("reconnect.maxAttempts", o.maxAttempts, Infinity, 1),
    delay: delay === undefined ? undefined : (attempt) => checkedDelay(delay, attempt),
    connectTimeoutMs: integer("reconnect.connectTimeoutMs", o.connectTimeoutMs, clientConnectTimeoutMs, 1, MAX_TIMER_MS),
    retryFirstConnect: boolean("reconnect.retryFirstConnect", o.retryFirstConnect, false),
  };
}

/**
 * Calls the user's `delay` and checks what it returns: a bad value must stop the reconnect loop
 * with a clear error, not become a timer that fires at once (NaN) or never (Infinity).
 * @returns the delay in whole ms, at most 2^31−1.
 * @throws HandlerError when `delay` throws; InvalidOptionError when it returns anything but a
 *   finite number ≥ 0.
 */
export function checkedDelay(delay: (attempt: number) => number, attempt: number): number {
  let ms: unknown;
  try {
    ms = delay(attempt);
  } catch (error) {
    throw new HandlerError("reconnect.delay", error);
  }
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidOptionError(`reconnect.delay(${attempt}) must return a finite number >= 0, got ${describeValue(ms)}`);
  }
  return Math.min(MAX_TIMER_MS, Math.round(ms));
}

/**
 * The delays between reconnect attempts: exponential, capped, jittered.
 * @example
 * const backoff = new Backoff(policy);
 * for (let ms = backoff.next(); ms !== undefined; ms = backoff.next()) { await sleep(ms); if (await dial()) break; }
 * backoff.reset(); // connected: the next disconnect starts over
 */
export class Backoff {
  readonly #policy: ResolvedReconnect;
  readonly #random: () => number;
  #attempt = 0;

  /** @param random uniform in [0, 1): injectable so tests can seed it. */
  constructor(policy: ResolvedReconnect, random: () => number = Math.random) {
    this.#policy = policy;
    this.#random = random;
  }

  /** The attempt `next()` last scheduled, from 1 (0: none since construction or `reset()`). */
  get attempt(): number {
    return this.#attempt;
  }

  /**
   * The delay in ms (an integer ≥ 0) before the next attempt, or `undefined` once `maxAttempts`
   * are used up.
   * @throws as {@link checkedDelay} does, with a user `delay`.
   */
  next(): number | undefined {
    const policy = this.#policy;
    if (this.#attempt >= policy.maxAttempts) return undefined;
    const attempt = ++this.#attempt;
    if (policy.delay !== undefined) return policy.delay(attempt);
    const d = baseDelay(policy, attempt);
    const jitter = policy.jitter;
    if (jitter === "none") return Math.round(d);
    const r = this.#random();
    const ms = jitter === "full" ? r * d : d * (1 - jitter) + r * 2 * jitter * d;
    return Math.min(policy.maxDelayMs, Math.round(ms));
  }

  /** Connected: the next disconnect starts the series (and the attempt count) over. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** initialDelayMs·multiplier^(attempt−1), capped; `**` overflows to Infinity (or 0·∞ = NaN) for large attempts. */
function baseDelay(policy: ResolvedReconnect, attempt: number): number {
  if (policy.initialDelayMs === 0) return 0;
  const grown = policy.initialDelayMs * policy.multiplier ** (attempt - 1);
  return Number.isFinite(grown) ? Math.min(policy.maxDelayMs, grown) : policy.maxDelayMs;
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`reconnect must be true, false or an object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function multiplierOption(value: unknown): number {
  if (value === undefined) return 2;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 1) {
    throw new InvalidOptionError(`reconnect.multiplier must be a finite number >= 1, got ${describeValue(value)}`);
  }
  return value;
}

function jitterOption(value: unknown): "none" | "full" | number {
  if (value === undefined) return 0.2;
  if (value === "none" || value === "full") return value;
  if (typeof value === "number" && value > 0 && value <= 1) return value;
  const hint = value === 0 ? ` (use "none" for no jitter)` : "";
  throw new InvalidOptionError(`reconnect.jitter must be "none", "full" or a number in (0, 1], got ${describeValue(value)}${hint}`);
}
