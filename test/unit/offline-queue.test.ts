import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ErrorCode, InvalidOptionError, QueueFullError } from "../../src/errors.ts";
import { OfflineQueue, type OfflineQueueOptions } from "../../src/flow/offline-queue.ts";
import type { OverflowPolicy } from "../../src/flow/outbound-queue.ts";

function make(options: Partial<OfflineQueueOptions> = {}): OfflineQueue {
  return new OfflineQueue({ maxMessages: 100, maxBytes: 1000, ttlMs: 0, overflow: "error", ...options });
}

/** A payload of `size` bytes whose first byte tags it. */
function msg(tag: number, size = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  if (size > 0) bytes[0] = tag;
  return bytes;
}

function drain(q: OfflineQueue): number[] {
  const tags: number[] = [];
  for (let m = q.shift(); m !== undefined; m = q.shift()) tags.push(m[0] ?? -1);
  return tags;
}

describe("OfflineQueue basics", () => {
  test("FIFO with length, bytes and peek", () => {
    const q = make();
    expect(q.length).toBe(0);
    expect(q.peek()).toBeUndefined();
    expect(q.shift()).toBeUndefined();
    expect(q.push(msg(1, 10), 0)).toBe("queued");
    expect(q.push(msg(2, 20), 0)).toBe("queued");
    expect([q.length, q.bytes]).toEqual([2, 30]);
    expect(q.peek()?.[0]).toBe(1);
    expect(q.length).toBe(2);
    const first = q.shift();
    expect(first?.[0]).toBe(1);
    expect([q.length, q.bytes]).toEqual([1, 20]);
    expect(drain(q)).toEqual([2]);
    expect([q.length, q.bytes]).toEqual([0, 0]);
  });

  test("keeps the payload it was given (no copy)", () => {
    const q = make();
    const payload = msg(7, 4);
    q.push(payload, 0);
    expect(q.shift()).toBe(payload);
  });

  test("clear() returns everything still held and empties the queue", () => {
    const q = make();
    q.push(msg(1, 5), 0);
    q.push(msg(2, 7), 0);
    q.push(msg(3, 9), 0);
    q.shift();
    expect(q.clear()).toEqual({ messages: 2, bytes: 16 });
    expect([q.length, q.bytes]).toEqual([0, 0]);
    expect(q.clear()).toEqual({ messages: 0, bytes: 0 });
    expect(q.push(msg(4), 0)).toBe("queued");
    expect(drain(q)).toEqual([4]);
  });

  test("bad options are refused", () => {
    expect(() => make({ maxMessages: -1 })).toThrow(InvalidOptionError);
    expect(() => make({ maxBytes: 1.5 })).toThrow(InvalidOptionError);
    expect(() => make({ ttlMs: Number.NaN })).toThrow(InvalidOptionError);
    expect(() => make({ overflow: "drop" as OverflowPolicy })).toThrow(InvalidOptionError);
  });
});

describe("OfflineQueue overflow at the bounds", () => {
  test('"error": the message bound throws QueueFullError and changes nothing', () => {
    const q = make({ maxMessages: 2 });
    q.push(msg(1), 0);
    q.push(msg(2), 0);
    let caught: unknown;
    try {
      q.push(msg(3), 0);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(QueueFullError);
    expect((caught as QueueFullError).code).toBe(ErrorCode.QUEUE_FULL);
    expect((caught as QueueFullError).message).toContain("2 messages queued, limit 2");
    expect([q.length, q.bytes, q.evictedMessages, q.evictedBytes]).toEqual([2, 2, 0, 0]);
    expect(drain(q)).toEqual([1, 2]);
  });

  test('"error": the byte bound, exactly full fits, one byte more throws', () => {
    const q = make({ maxBytes: 10 });
    expect(q.push(msg(1, 6), 0)).toBe("queued");
    expect(q.push(msg(2, 4), 0)).toBe("queued"); // exactly 10
    expect(() => q.push(msg(3, 1), 0)).toThrow(QueueFullError);
    expect(() => q.push(msg(3, 1), 0)).toThrow(/offline queue full: 10 bytes queued, 1 more would pass the limit of 10/);
    expect(q.push(msg(4, 0), 0)).toBe("queued"); // an empty payload still fits
    expect([q.length, q.bytes]).toEqual([3, 10]);
  });

  test('"drop-newest" refuses the new message and keeps the old ones', () => {
    const q = make({ maxMessages: 2, maxBytes: 10, overflow: "drop-newest" });
    q.push(msg(1, 5), 0);
    q.push(msg(2, 5), 0);
    expect(q.push(msg(3, 1), 0)).toBe("dropped");
    expect([q.evictedMessages, q.evictedBytes]).toEqual([0, 0]);
    q.shift();
    expect(q.push(msg(4, 6), 0)).toBe("dropped"); // room for a message, not for 6 bytes
    expect(q.push(msg(5, 5), 0)).toBe("queued");
    expect(drain(q)).toEqual([2, 5]);
  });

  test('"drop-oldest" evicts from the head until the new message fits (message bound)', () => {
    const q = make({ maxMessages: 3, overflow: "drop-oldest" });
    for (let i = 1; i <= 3; i++) q.push(msg(i, 2), 0);
    expect(q.push(msg(4, 2), 0)).toBe("queued");
    expect([q.evictedMessages, q.evictedBytes]).toEqual([1, 2]);
    expect(drain(q)).toEqual([2, 3, 4]);
  });

  test('"drop-oldest" evicts as many as the byte bound needs; counts reset on the next push', () => {
    const q = make({ maxBytes: 10, overflow: "drop-oldest" });
    q.push(msg(1, 3), 0);
    q.push(msg(2, 3), 0);
    q.push(msg(3, 3), 0);
    expect(q.push(msg(4, 7), 0)).toBe("queued"); // 9 + 7 > 10: evict 1 and 2 (6 bytes), 3 + 7 = 10
    expect([q.evictedMessages, q.evictedBytes]).toEqual([2, 6]);
    expect([q.length, q.bytes]).toEqual([2, 10]);
    expect(q.push(msg(5, 0), 0)).toBe("queued");
    expect([q.evictedMessages, q.evictedBytes]).toEqual([0, 0]);
    expect(drain(q)).toEqual([3, 4, -1]); // the empty payload has no tag byte
  });

  test("an oversized payload (alone larger than maxBytes) is dropped without evicting", () => {
    const policies: OverflowPolicy[] = ["drop-oldest", "drop-newest"];
    for (const overflow of policies) {
      const q = make({ maxBytes: 10, overflow });
      q.push(msg(1, 4), 0);
      expect(q.push(msg(2, 11), 0)).toBe("dropped");
      expect([q.length, q.bytes, q.evictedMessages, q.evictedBytes]).toEqual([1, 4, 0, 0]);
      expect(q.push(msg(3, 10), 0)).toBe(overflow === "drop-oldest" ? "queued" : "dropped");
    }
    const strict = make({ maxBytes: 10 });
    expect(() => strict.push(msg(1, 11), 0)).toThrow(QueueFullError);
    expect(strict.length).toBe(0);
  });

  test("maxMessages 0 holds nothing", () => {
    expect(make({ maxMessages: 0, overflow: "drop-oldest" }).push(msg(1), 0)).toBe("dropped");
    expect(make({ maxMessages: 0, overflow: "drop-newest" }).push(msg(1), 0)).toBe("dropped");
    expect(() => make({ maxMessages: 0 }).push(msg(1), 0)).toThrow(QueueFullError);
  });
});

describe("OfflineQueue TTL", () => {
  test("expire removes, from the head, the messages at least ttlMs old", () => {
    const q = make({ ttlMs: 100 });
    q.push(msg(1, 1), 0);
    q.push(msg(2, 2), 50);
    q.push(msg(3, 3), 50);
    q.push(msg(4, 4), 120);
    expect(q.nextExpiry()).toBe(100);
    expect(q.expire(99)).toEqual({ messages: 0, bytes: 0 });
    expect(q.expire(100)).toEqual({ messages: 1, bytes: 1 });
    expect(q.nextExpiry()).toBe(150);
    expect(q.expire(219)).toEqual({ messages: 2, bytes: 5 });
    expect(q.nextExpiry()).toBe(220);
    expect(drain(q)).toEqual([4]);
    expect(q.nextExpiry()).toBeUndefined();
  });

  test("ttlMs 0: nothing expires", () => {
    const q = make({ ttlMs: 0 });
    q.push(msg(1), 0);
    expect(q.nextExpiry()).toBeUndefined();
    expect(q.expire(Number.MAX_SAFE_INTEGER)).toEqual({ messages: 0, bytes: 0 });
    expect(q.length).toBe(1);
  });

  test("a clock that goes backwards does not let an older message hide behind a newer one", () => {
    const q = make({ ttlMs: 100 });
    q.push(msg(1), 500);
    q.push(msg(2), 400); // counted as queued at 500
    expect(q.expire(599)).toEqual({ messages: 0, bytes: 0 });
    q.push(msg(3), 450);
    expect(q.shift()?.[0]).toBe(1);
    expect(q.nextExpiry()).toBe(600);
    expect(q.expire(600)).toEqual({ messages: 2, bytes: 2 });
  });

  test("after the queue empties, times start fresh", () => {
    const q = make({ ttlMs: 100 });
    q.push(msg(1), 1000);
    q.shift();
    q.push(msg(2), 10);
    expect(q.nextExpiry()).toBe(110);
  });
});

describe("OfflineQueue at scale", () => {
  test("a long stream through a bounded queue stays FIFO; pushed = taken + evicted + held", () => {
    const q = make({ maxMessages: 3000, maxBytes: 1 << 20, overflow: "drop-oldest" });
    const ids = new WeakMap<Uint8Array, number>();
    let pushed = 0;
    let taken = 0;
    let evicted = 0;
    let last = -1;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 2500; i++) {
        const payload = msg(0, 4);
        ids.set(payload, pushed++);
        expect(q.push(payload, 0)).toBe("queued");
        evicted += q.evictedMessages;
      }
      for (let i = 0; i < 2000; i++) {
        const payload = q.shift();
        if (payload === undefined) break;
        const id = ids.get(payload) as number;
        expect(id).toBeGreaterThan(last);
        last = id;
        taken++;
      }
    }
    expect(evicted).toBeGreaterThan(0);
    expect(pushed).toBe(taken + evicted + q.length);
    expect(q.bytes).toBe(4 * q.length);
  });
});

type Op = { kind: "push"; size: number; dt: number } | { kind: "shift" } | { kind: "expire"; dt: number };

describe("OfflineQueue against a model", () => {
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.record({ kind: fc.constant("push" as const), size: fc.integer({ min: 0, max: 12 }), dt: fc.integer({ min: 0, max: 30 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("shift" as const) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("expire" as const), dt: fc.integer({ min: 0, max: 60 }) }) },
  );
  const config = fc.record({
    maxMessages: fc.integer({ min: 0, max: 8 }),
    maxBytes: fc.integer({ min: 0, max: 40 }),
    ttlMs: fc.constantFrom(0, 1, 50, 100),
    overflow: fc.constantFrom<OverflowPolicy>("error", "drop-newest", "drop-oldest"),
  });

  test("contents, lengths, bytes, evictions and expiries agree with a plain array", () => {
    fc.assert(
      fc.property(config, fc.array(op, { maxLength: 300 }), (options, ops) => {
        const q = new OfflineQueue(options);
        // Each payload's model id, by identity (payloads may be empty, so their bytes cannot tag them).
        const payloads = new WeakMap<Uint8Array, number>();
        const model: { id: number; size: number; at: number }[] = [];
        const bytes = () => model.reduce((sum, m) => sum + m.size, 0);
        let now = 0;
        let id = 0;
        for (const o of ops) {
          if (o.kind === "push") {
            now += o.dt;
            const payload = new Uint8Array(o.size);
            const m = { id: id++, size: o.size, at: now };
            const fits = (n: number, b: number) => n + 1 <= options.maxMessages && b + o.size <= options.maxBytes;
            if (fits(model.length, bytes())) {
              expect(q.push(payload, now)).toBe("queued");
              model.push(m);
              expect([q.evictedMessages, q.evictedBytes]).toEqual([0, 0]);
            } else if (options.overflow === "error") {
              expect(() => q.push(payload, now)).toThrow(QueueFullError);
            } else if (options.overflow === "drop-newest" || o.size > options.maxBytes || options.maxMessages === 0) {
              expect(q.push(payload, now)).toBe("dropped");
              expect([q.evictedMessages, q.evictedBytes]).toEqual([0, 0]);
            } else {
              let evicted = 0;
              let evictedBytes = 0;
              while (!fits(model.length, bytes())) {
                evictedBytes += (model.shift() as { size: number }).size;
                evicted++;
              }
              expect(q.push(payload, now)).toBe("queued");
              model.push(m);
              expect([q.evictedMessages, q.evictedBytes]).toEqual([evicted, evictedBytes]);
            }
            payloads.set(payload, m.id);
          } else if (o.kind === "shift") {
            const got = q.shift();
            const want = model.shift();
            expect(got === undefined ? undefined : payloads.get(got)).toBe(want?.id);
          } else {
            now += o.dt;
            let messages = 0;
            let removedBytes = 0;
            while (options.ttlMs > 0 && model.length > 0 && (model[0] as { at: number }).at + options.ttlMs <= now) {
              removedBytes += (model.shift() as { size: number }).size;
              messages++;
            }
            expect(q.expire(now)).toEqual({ messages, bytes: removedBytes });
          }
          expect([q.length, q.bytes]).toEqual([model.length, bytes()]);
          expect(q.peek() === undefined ? undefined : payloads.get(q.peek() as Uint8Array)).toBe(model[0]?.id);
          expect(q.nextExpiry()).toBe(options.ttlMs > 0 && model.length > 0 ? (model[0] as { at: number }).at + options.ttlMs : undefined);
        }
        expect(q.clear()).toEqual({ messages: model.length, bytes: bytes() });
      }),
      { numRuns: 500 },
    );
  });
});
