/**
 * Option checking shared by `listen`, `connect`, framers and codecs. Every option is checked
 * before any I/O, unknown keys included: a typo (`maxFramesize`) must fail loudly, never be ignored.
 */
import { InvalidOptionError } from "./errors.ts";

/**
 * Throws for any key of `options` not in `known`, naming the nearest known key. Inherited
 * enumerable keys count too: option reads see them, so they must be checked like own ones.
 */
export function rejectUnknownKeys(options: object, known: ReadonlySet<string>, where: string): void {
  for (const key in options) {
    if (known.has(key)) continue;
    const near = nearest(key, known);
    throw new InvalidOptionError(`${where}: unknown option "${key}"${near ? ` (did you mean "${near}"?)` : ""}`);
  }
}

/** `value` must be an object (not null, not an array). */
export function plainObject(name: string, value: unknown): asserts value is Record<string, unknown> {
  requireObject(name, value);
}

/** Like {@link plainObject}, without narrowing the caller's type (for unions of option shapes). */
export function requireObject(name: string, value: unknown): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`${name} must be an object, got ${describeValue(value)}`);
  }
}

/** A safe integer in [min, max], or `fallback` when absent. */
export function integer(name: string, value: unknown, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw new InvalidOptionError(`${name} must be ${range}, got ${describeValue(value)}`);
  }
  return value;
}

export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidOptionError(`${name} must be true or false, got ${describeValue(value)}`);
  return value;
}

export function string(name: string, value: unknown, fallback: string, nonEmpty = false): string {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || (nonEmpty && value === "")) {
    throw new InvalidOptionError(`${name} must be a${nonEmpty ? " non-empty" : ""} string, got ${describeValue(value)}`);
  }
  return value;
}

export function oneOf<const V extends string>(name: string, value: unknown, allowed: readonly V[], fallback: V): V {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as V)) {
    throw new InvalidOptionError(`${name} must be ${allowed.map((a) => `"${a}"`).join(", ")}; got ${describeValue(value)}`);
  }
  return value as V;
}

export function optionalFunction<F>(name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new InvalidOptionError(`${name} must be a function, got ${describeValue(value)}`);
  return value as F;
}

/** A `Record<string, string>` copied; any other value kind is an error. */
export function stringRecord(name: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  plainObject(name, value);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== "string") throw new InvalidOptionError(`${name}.${key} must be a string, got ${describeValue(v)}`);
    out[key] = v;
  }
  return out;
}

/** A short description of a value for error messages (never its whole content). */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || value === undefined || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** The known key closest to `key` (case-insensitive edit distance ≤ 3), if any. */
function nearest(key: string, known: ReadonlySet<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  const lower = key.toLowerCase();
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 4;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
