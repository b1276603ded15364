import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ErrorCode, HandlerError, InvalidOptionError } from "../../src/errors.ts";
import { MAX_TIMER_MS } from "../../src/options.ts";
import { Backoff, checkedDelay, type ResolvedReconnect, resolveReconnect } from "../../src/reconnect/backoff.ts";

const CLIENT_TIMEOUT = 10_000;

function policy(options: unknown): ResolvedReconnect {
  const resolved = resolveReconnect(options, CLIENT_TIMEOUT);
  if (resolved === undefined) throw new Error("expected a policy");
  return resolved;
}

function delays(backoff: Backoff, n: number): (number | undefined)[] {
  return Array.from({ length: n }, () => backoff.next());
}

/** A seedable PRNG (mulberry32): uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectInvalid(options: unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    resolveReconnect(options, CLIENT_TIMEOUT);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InvalidOptionError);
  const error = caught as InvalidOptionError;
  expect(error.code).toBe(ErrorCode.INVALID_OPTION);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
}

describe("resolveReconnect", () => {
  test("undefined and false turn reconnection off", () => {
    expect(resolveReconnect(undefined, CLIENT_TIMEOUT)).toBeUndefined();
    expect(resolveReconnect(false, CLIENT_TIMEOUT)).toBeUndefined();
  });

  test("true and {} take every default; connectTimeoutMs defaults to the client's", () => {
    const defaults = {
      initialDelayMs: 250,
      maxDelayMs: 30_000,
      multiplier: 2,
      jitter: 0.2,
      maxAttempts: Infinity,
      delay: undefined,
      connectTimeoutMs: CLIENT_TIMEOUT,
      retryFirstConnect: false,
    };
    expect(policy(true)).toEqual(defaults);
    expect(policy({})).toEqual(defaults);
    expect(resolveReconnect(true, 1234)?.connectTimeoutMs).toBe(1234);
  });

  test("explicit values are kept", () => {
    const p = policy({ initialDelayMs: 1, maxDelayMs: 1, multiplier: 1, jitter: "full", maxAttempts: 3, connectTimeoutMs: 500, retryFirstConnect: true });
    expect(p).toMatchObject({ initialDelayMs: 1, maxDelayMs: 1, multiplier: 1, jitter: "full", maxAttempts: 3, connectTimeoutMs: 500, retryFirstConnect: true });
    expect(policy({ maxAttempts: Infinity }).maxAttempts).toBe(Infinity);
    expect(policy({ jitter: 1 }).jitter).toBe(1);
    expect(policy({ jitter: "none" }).jitter).toBe("none");
    expect(policy({ maxDelayMs: MAX_TIMER_MS }).maxDelayMs).toBe(MAX_TIMER_MS);
  });

  test("a value that is neither boolean nor object is refused", () => {
    for (const bad of [null, 1, "yes", [], () => 1]) expectInvalid(bad, "reconnect must be true, false or an object");
  });

  test("unknown keys are refused, with a suggestion", () => {
    expectInvalid({ maxAttempt: 3 }, "reconnect", `unknown option "maxAttempt"`, `did you mean "maxAttempts"`);
    expectInvalid({ tls: true }, "reconnect");
  });

  test("each bad value names its option", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ initialDelayMs: -1 }, "reconnect.initialDelayMs"],
      [{ initialDelayMs: 1.5 }, "reconnect.initialDelayMs"],
      [{ initialDelayMs: "250" }, "reconnect.initialDelayMs"],
      [{ maxDelayMs: MAX_TIMER_MS + 1 }, "reconnect.maxDelayMs"],
      [{ maxDelayMs: Infinity }, "reconnect.maxDelayMs"],
      [{ multiplier: 0.5 }, "reconnect.multiplier"],
      [{ multiplier: Infinity }, "reconnect.multiplier"],
      [{ multiplier: Number.NaN }, "reconnect.multiplier"],
      [{ jitter: 0 }, "reconnect.jitter"],
      [{ jitter: 1.5 }, "reconnect.jitter"],
      [{ jitter: -0.1 }, "reconnect.jitter"],
      [{ jitter: "half" }, "reconnect.jitter"],
      [{ jitter: Number.NaN }, "reconnect.jitter"],
      [{ maxAttempts: 0 }, "reconnect.maxAttempts"],
      [{ maxAttempts: 2.5 }, "reconnect.maxAttempts"],
      [{ maxAttempts: -Infinity }, "reconnect.maxAttempts"],
      [{ delay: 100 }, "reconnect.delay"],
      [{ connectTimeoutMs: 0 }, "reconnect.connectTimeoutMs"],
      [{ connectTimeoutMs: MAX_TIMER_MS + 1 }, "reconnect.connectTimeoutMs"],
      [{ retryFirstConnect: 1 }, "reconnect.retryFirstConnect"],
    ];
    for (const [options, name] of cases) expectInvalid(options, name);
  });

  test("initialDelayMs must not exceed maxDelayMs, the default included", () => {
    expectInvalid({ initialDelayMs: 2000, maxDelayMs: 1000 }, "reconnect.initialDelayMs (2000)", "reconnect.maxDelayMs (1000)");
    expectInvalid({ maxDelayMs: 100 }, "reconnect.initialDelayMs (250, the default,)", "reconnect.maxDelayMs (100)");
    expect(policy({ initialDelayMs: 100, maxDelayMs: 100 }).maxDelayMs).toBe(100);
  });

  test("delay cannot be combined with the options of the computed series", () => {
    for (const key of ["initialDelayMs", "maxDelayMs", "multiplier", "jitter"]) {
      expectInvalid({ delay: () => 1, [key]: key === "jitter" ? "none" : 1 }, `reconnect.${key}`, "reconnect.delay");
    }
    expect(policy({ delay: () => 1, maxAttempts: 2, connectTimeoutMs: 10 }).maxAttempts).toBe(2);
  });
});

describe("Backoff series", () => {
  test('jitter "none": exactly initialDelayMs·multiplier^(attempt−1), capped', () => {
    const b = new Backoff(policy({ jitter: "none" }));
    expect(b.attempt).toBe(0);
    expect(delays(b, 10)).toEqual([250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(b.attempt).toBe(10);
  });

  test("non-integer multiplier gives whole milliseconds", () => {
    const b = new Backoff(policy({ jitter: "none", initialDelayMs: 100, multiplier: 1.5, maxDelayMs: 1000 }));
    expect(delays(b, 8)).toEqual([100, 150, 225, 338, 506, 759, 1000, 1000]);
  });

  test("multiplier 1 is a constant delay; initialDelayMs 0 is refused (it would never grow: a busy redial loop)", () => {
    expect(delays(new Backoff(policy({ jitter: "none", initialDelayMs: 700, multiplier: 1 })), 4)).toEqual([700, 700, 700, 700]);
    expect(() => policy({ initialDelayMs: 0 })).toThrow(InvalidOptionError);
    const huge = new Backoff(policy({ jitter: "none", initialDelayMs: 1, maxDelayMs: 5000, multiplier: 1e6 }));
    expect(delays(huge, 100).every((ms) => ms === 1 || ms === 5000)).toBe(true);
  });

  test("maxAttempts: undefined once used up, and it stays so", () => {
    const b = new Backoff(policy({ jitter: "none", maxAttempts: 3 }));
    expect(delays(b, 5)).toEqual([250, 500, 1000, undefined, undefined]);
    expect(b.attempt).toBe(3);
  });

  test("reset() starts the series and the attempt count over", () => {
    const b = new Backoff(policy({ jitter: "none", maxAttempts: 2 }));
    expect(delays(b, 3)).toEqual([250, 500, undefined]);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(delays(b, 3)).toEqual([250, 500, undefined]);
  });

  test("large attempt numbers stay finite and capped, for every jitter", () => {
    for (const jitter of ["none", "full", 0.5, 1] as const) {
      for (const multiplier of [2, 1.0001, 1e6]) {
        const b = new Backoff(policy({ jitter, multiplier, maxDelayMs: MAX_TIMER_MS, initialDelayMs: 1 }), seeded(7));
        for (let i = 0; i < 5000; i++) {
          const ms = b.next() as number;
          expect(Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
          expect(ms).toBeLessThanOrEqual(MAX_TIMER_MS);
        }
        if (jitter === "none" && multiplier >= 2) expect(b.next()).toBe(MAX_TIMER_MS);
      }
    }
  });
});

describe("Backoff jitter", () => {
  const randoms = fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 });
  const options = fc.record({
    initialDelayMs: fc.integer({ min: 1, max: 10_000 }),
    extra: fc.integer({ min: 0, max: 100_000 }),
    multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
    jitter: fc.oneof(fc.constant<"full">("full"), fc.double({ min: Number.MIN_VALUE, max: 1, noNaN: true })),
  });

  test("every delay lies within its bounds, for any random values", () => {
    fc.assert(
      fc.property(options, randoms, ({ initialDelayMs, extra, multiplier, jitter }, values) => {
        const maxDelayMs = initialDelayMs + extra;
        const p = policy({ initialDelayMs, maxDelayMs, multiplier, jitter });
        const plain = new Backoff(policy({ initialDelayMs, maxDelayMs, multiplier, jitter: "none" }));
        let i = 0;
        const b = new Backoff(p, () => values[i++ % values.length] as number);
        for (let n = 0; n < values.length; n++) {
          const ms = b.next() as number;
          // The un-jittered delay, before rounding.
          const d = Math.min(maxDelayMs, initialDelayMs * multiplier ** n);
          const [lo, hi] = jitter === "full" ? [0, d] : [d * (1 - jitter), d * (1 + jitter)];
          expect(Number.isInteger(ms)).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(Math.floor(lo));
          expect(ms).toBeLessThanOrEqual(Math.min(maxDelayMs, Math.ceil(hi)));
          expect(Math.abs((plain.next() as number) - d)).toBeLessThanOrEqual(0.5);
        }
      }),
      { numRuns: 300 },
    );
  });

  test("with a seeded PRNG, proportional jitter stays within [d·(1−j), d·(1+j)] and spreads", () => {
    fc.assert(
      fc.property(fc.integer(), fc.double({ min: 0.01, max: 1, noNaN: true }), (seed, jitter) => {
        const b = new Backoff(policy({ initialDelayMs: 1000, maxDelayMs: 1000, jitter }), seeded(seed));
        const seen = new Set<number>();
        for (let n = 0; n < 50; n++) {
          const ms = b.next() as number;
          expect(ms).toBeGreaterThanOrEqual(Math.floor(1000 * (1 - jitter)));
          expect(ms).toBeLessThanOrEqual(1000); // d(1+j) is clamped to maxDelayMs
          seen.add(ms);
        }
        expect(seen.size).toBeGreaterThan(1);
      }),
      { numRuns: 100 },
    );
  });

  test("the random function's extremes map to the ends of the range", () => {
    const at = (r: number, jitter: "full" | number) => new Backoff(policy({ initialDelayMs: 1000, maxDelayMs: 5000, jitter }), () => r).next();
    expect(at(0, "full")).toBe(0);
    expect(at(0.999999, "full")).toBe(1000);
    expect(at(0, 0.2)).toBe(800);
    expect(at(0.5, 0.2)).toBe(1000);
    expect(at(0.999999, 0.2)).toBe(1200);
  });
});

describe("Backoff with a user delay", () => {
  test("replaces the series, attempt counted from 1, no jitter; rounded and capped", () => {
    const seen: number[] = [];
    const b = new Backoff(policy({ delay: (attempt: number) => (seen.push(attempt), attempt * 10.4), maxAttempts: 3 }), () => 0);
    expect(delays(b, 4)).toEqual([10, 21, 31, undefined]);
    expect(seen).toEqual([1, 2, 3]);
    b.reset();
    expect(b.next()).toBe(10);
    expect(seen).toEqual([1, 2, 3, 1]);
    expect(new Backoff(policy({ delay: () => 1e12 })).next()).toBe(MAX_TIMER_MS);
    expect(new Backoff(policy({ delay: () => 0 })).next()).toBe(0);
  });

  test("a bad return value fails with a clear error naming reconnect.delay", () => {
    for (const bad of [Number.NaN, Infinity, -1, "100", undefined, null]) {
      const b = new Backoff(policy({ delay: () => bad as unknown as number }));
      expect(() => b.next()).toThrow(InvalidOptionError);
      expect(() => b.next()).toThrow(/reconnect\.delay\(\d+\) must return a finite number >= 0/);
    }
  });

  test("a delay function that throws becomes a HandlerError with the cause", () => {
    const cause = new Error("boom");
    let caught: unknown;
    try {
      checkedDelay(() => {
        throw cause;
      }, 1);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HandlerError);
    expect((caught as HandlerError).cause).toBe(cause);
    expect((caught as HandlerError).message).toContain("reconnect.delay");
  });
});
