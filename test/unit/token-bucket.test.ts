/**
 * The token bucket, the rate limiter's bookkeeping and the priority lanes, with an injected clock
 * (no timers fire here: waits are checked by the delay they ask for). The lanes' "socket" is a
 * stand-in for the RawSocket contract's `write` return value, not a model of any runtime.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import type { RawSocket } from "../../src/adapter.ts";
import { InvalidOptionError, InvalidUseError, QueueFullError } from "../../src/errors.ts";
import { OutboundQueue } from "../../src/flow/outbound-queue.ts";
import { resolveRateLimit } from "../../src/flow/rate-limit-options.ts";
import { RateLimiter } from "../../src/flow/rate-limiter.ts";
import { SendLanes, sendLevel } from "../../src/flow/send-lanes.ts";
import { TokenBucket } from "../../src/flow/token-bucket.ts";

class ManualClock {
  t = 1000;
  readonly now = (): number => this.t;
}

describe("TokenBucket", () => {
  test("starts full, refuses past the burst, refills at the rate, never above the burst", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1000, 100, clock.now); // 1 token per ms
    expect(bucket.tryTake(60)).toBe(true);
    expect(bucket.tryTake(40)).toBe(true);
    expect(bucket.tryTake(1)).toBe(false);
    expect(bucket.delayFor(10)).toBeCloseTo(10, 9);
    clock.t += 10;
    expect(bucket.tryTake(10)).toBe(true);
    expect(bucket.tryTake(1)).toBe(false);
    clock.t += 1_000_000; // a long quiet spell fills it to the burst only
    expect(bucket.available()).toBe(100);
    expect(bucket.tryTake(101)).toBe(false);
  });

  test("reads the clock only when the credit is short, or once per half burst taken", () => {
    let reads = 0;
    const bucket = new TokenBucket(1000, 100, () => {
      reads++;
      return 0;
    });
    const before = reads;
    for (let i = 0; i < 50; i++) expect(bucket.tryTake(1)).toBe(true);
    expect(reads).toBe(before);
    for (let i = 0; i < 50; i++) expect(bucket.tryTake(1)).toBe(true);
    expect(reads).toBe(before + 1); // the 51st
    expect(bucket.tryTake(1)).toBe(false);
    expect(reads).toBe(before + 2);
  });

  test("a limit far above the traffic never refuses: a full bucket does not seem empty after each burst's worth of takes", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1_000_000, 1000, clock.now); // 1000 tokens per ms
    let refused = 0;
    // 10 tokens every 0.1 ms: a tenth of the rate, for 10,000 takes (10 burst's worth).
    for (let i = 0; i < 10_000; i++) {
      clock.t += 0.1;
      if (!bucket.tryTake(10)) refused++;
    }
    expect(refused).toBe(0);
  });

  test("an item larger than the burst goes after (size - burst) / rate from a full bucket, and is paid in full", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1000, 100, clock.now);
    expect(bucket.tryTake(250)).toBe(false);
    expect(bucket.delayFor(250)).toBeCloseTo(150, 9);
    clock.t += 149;
    expect(bucket.tryTake(250)).toBe(false);
    clock.t += 1;
    expect(bucket.tryTake(250)).toBe(true);
    // Empty now, and back to the normal cap: the next 100 take 100 ms.
    expect(bucket.available()).toBeCloseTo(0, 9);
    clock.t += 10_000;
    expect(bucket.available()).toBe(100);
  });

  test("held (a sender waits), it keeps what accrues past the burst, up to 100 ms of the rate more; released, it holds at most the burst", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1000, 10, clock.now);
    expect(bucket.tryTake(10)).toBe(true);
    bucket.hold();
    clock.t += 40;
    expect(bucket.available()).toBeCloseTo(40, 9);
    for (let i = 0; i < 30; i++) expect(bucket.tryTake(1)).toBe(true); // on credit
    clock.t += 500;
    // Capped at the burst + 100 ms of the rate (the takes were booked by refills every half burst, before the 500 ms).
    expect(bucket.available()).toBeCloseTo(110, 9);
    bucket.release();
    expect(bucket.available()).toBe(10);
    clock.t += 500;
    expect(bucket.available()).toBe(10);
  });

  test("forced takes go into debt, paid back at the rate", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1000, 100, clock.now);
    bucket.take(300);
    expect(bucket.available()).toBe(-200);
    expect(bucket.delayFor(1)).toBeCloseTo(201, 9);
    clock.t += 200;
    expect(bucket.available()).toBeCloseTo(0, 9);
  });

  test("takeUpTo grants what it can spare between n and most (0 when n is not there); giveBack returns the rest, never past the burst", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(1000, 1000, clock.now); // 1 token per ms
    expect(bucket.takeUpTo(10, 300)).toBe(300);
    expect(bucket.takeUpTo(10, 300)).toBe(200); // the half-burst stride: 500 on credit, then it reads the clock
    expect(bucket.takeUpTo(10, 1000)).toBe(500); // refilled: the rest of the bucket
    expect(bucket.takeUpTo(1, 10)).toBe(0);
    expect(bucket.available()).toBe(0);
    bucket.giveBack(250);
    expect(bucket.available()).toBe(250);
    clock.t += 2000; // full again: a refund on top of it is not kept
    bucket.giveBack(250);
    expect(bucket.available()).toBe(1000);
    // A grant taken from a full bucket and given back after time passed: still the burst, not burst + grant.
    expect(bucket.takeUpTo(1, 400)).toBe(400);
    clock.t += 1000;
    bucket.giveBack(400);
    expect(bucket.available()).toBe(1000);
    // A frame larger than `most` still gets its own size.
    expect(bucket.takeUpTo(450, 100)).toBe(450);
  });

  test("property: over any schedule of takes and grants (held or not), what was granted never exceeds burst + rate × elapsed (plus one item larger than the burst)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 50_000 }),
        fc.array(
          fc.record({ dt: fc.double({ min: 0, max: 50, noNaN: true }), n: fc.integer({ min: 1, max: 80_000 }), hold: fc.integer({ min: 0, max: 2 }), grant: fc.integer({ min: 0, max: 3 }), unused: fc.double({ min: 0, max: 1, noNaN: true }) }),
          { maxLength: 200 },
        ),
        (rate, burst, steps) => {
          const clock = new ManualClock();
          const start = clock.t;
          const bucket = new TokenBucket(rate, burst, clock.now);
          let granted = 0;
          let largest = 0;
          for (const step of steps) {
            clock.t += step.dt;
            if (step.hold === 1) bucket.hold();
            if (step.hold === 2) bucket.release();
            if (step.grant === 0) {
              // A run of sends: a grant of up to 64 KiB, part of it given back unused.
              const got = bucket.takeUpTo(step.n, 65_536);
              if (got !== 0 && got < step.n) return false;
              if (got > 0) {
                const back = Math.floor((got - step.n) * step.unused);
                bucket.giveBack(back);
                granted += got - back;
                largest = Math.max(largest, step.n);
              }
            } else if (bucket.tryTake(step.n)) {
              granted += step.n;
              largest = Math.max(largest, step.n);
            }
            const bound = Math.max(burst, largest) + (rate / 1000) * (clock.t - start);
            if (granted > bound + 1e-6) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("rate limit options", () => {
  test("defaults, bounds and unknown keys", () => {
    expect(resolveRateLimit("rateLimit", { bytesPerSecond: 1000 })).toEqual({ bytesPerSecond: 1000, burstBytes: 100, messagesPerSecond: undefined, burstMessages: undefined });
    expect(resolveRateLimit("rateLimit", { bytesPerSecond: 5, messagesPerSecond: 3 })).toEqual({ bytesPerSecond: 5, burstBytes: 1, messagesPerSecond: 3, burstMessages: 1 });
    for (const bad of [{}, { bytesPerSecond: 0 }, { bytesPerSecond: 1.5 }, { bytesPerSecond: 10, burstBytes: 0 }, { bytesPerSecond: 10, burst: 5 }, { bytesPerSecond: 10, burstMessages: 2 }, null, 5]) {
      expect(() => resolveRateLimit("rateLimit", bad)).toThrow(InvalidOptionError);
    }
    expect(() => resolveRateLimit("inboundRateLimit", { bytesPerSecond: 10, messagesPerSecond: 1 }, true)).toThrow(InvalidOptionError);
  });

  test("send options: priorities, refused with resume", () => {
    expect(sendLevel({}, false)).toBe(1);
    expect(sendLevel({ priority: "high" }, false)).toBe(0);
    expect(sendLevel({ priority: "low" }, false)).toBe(2);
    expect(sendLevel({ priority: "normal" }, true)).toBe(1);
    expect(() => sendLevel({ priority: "urgent" as "high" }, false)).toThrow(InvalidOptionError);
    expect(() => sendLevel({ priorty: "high" } as never, false)).toThrow(InvalidOptionError);
    expect(() => sendLevel({ priority: "high" }, true)).toThrow(InvalidUseError);
  });
});

describe("RateLimiter", () => {
  test("takes from both buckets or neither; the message bucket limits small frames", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 1000, messagesPerSecond: 10, burstMessages: 2 }, clock.now);
    expect(limiter.tryTake(10)).toBe(true);
    expect(limiter.tryTake(10)).toBe(true);
    expect(limiter.tryTake(10)).toBe(false); // out of messages, bytes untouched
    expect(limiter.bytes.available()).toBe(980);
    clock.t += 100;
    expect(limiter.tryTake(10)).toBe(true);
  });

  test("a message limit far above the traffic never refuses either", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1_000_000_000, burstBytes: 100_000_000, messagesPerSecond: 1_000_000, burstMessages: 100 }, clock.now);
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      clock.t += 0.01; // 100,000 messages/s: a tenth of the limit
      if (!limiter.tryTake(10)) refused++;
    }
    expect(refused).toBe(0);
  });
});

/** Accepts every byte offered and keeps them (the RawSocket contract's `write` returning the length). */
function sink(): { socket: RawSocket; bytes: () => number[] } {
  const chunks: number[][] = [];
  const socket = { write: (b: Uint8Array) => (chunks.push([...b]), b.length) } as unknown as RawSocket;
  return { socket, bytes: () => chunks.flat() };
}

describe("SendLanes", () => {
  const frame = (tag: number, n = 3): Uint8Array => new Uint8Array(n).fill(tag);
  function lanes(maxBufferedBytes = 1000, overflow: "error" | "drop-newest" | "drop-oldest" = "error", limiter?: RateLimiter) {
    const queue = new OutboundQueue({ maxBufferedBytes, overflow, reuseBuffers: true });
    const out = sink();
    const l = new SendLanes({ queue, host: { write: () => queue.flush(out.socket), flush: () => {} }, own: limiter, shared: undefined, maxBufferedBytes, overflow });
    return { queue, out, l };
  }

  test("most urgent first, each level in order", () => {
    const { queue, out, l } = lanes();
    l.enqueue(frame(1), 2);
    l.enqueue(frame(2), 1);
    l.enqueue(frame(3), 2);
    l.enqueue(frame(4), 0);
    l.enqueue(frame(5), 1);
    l.enqueue(frame(6), 0);
    expect(l.bytes).toBe(18);
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes()).toEqual([4, 4, 4, 6, 6, 6, 2, 2, 2, 5, 5, 5, 1, 1, 1, 3, 3, 3]);
    expect(l.empty).toBe(true);
  });

  test("the bound counts the lanes and the batch; drop-oldest evicts the least urgent oldest first, never a more urgent lane", () => {
    const { l } = lanes(10, "drop-oldest");
    expect(l.enqueue(frame(1), 2)).toBe(true);
    expect(l.enqueue(frame(2), 0)).toBe(true);
    expect(l.enqueue(frame(3), 2)).toBe(true);
    expect(l.enqueue(frame(4), 1)).toBe(true); // 1 evicted
    expect([l.evictedFrames, l.evictedBytes]).toEqual([1, 3]);
    expect(l.enqueue(frame(5, 9), 2)).toBe(false); // only lane 2 is below it: not enough
    expect(l.count).toBe(3);
    const strict = lanes(5, "error").l;
    strict.enqueue(frame(1), 1);
    expect(() => strict.enqueue(frame(2), 1)).toThrow(QueueFullError);
  });

  test("a GOAWAY trailer goes after every waiting frame", () => {
    const { queue, out, l } = lanes();
    l.enqueue(frame(1), 1);
    l.setTrailer(frame(9, 2));
    l.enqueue(frame(2), 2);
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes()).toEqual([1, 1, 1, 2, 2, 2, 9, 9]);
  });

  test("with a limiter, frames leave as tokens allow and the lane waits for the rest", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 6, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const { queue, out, l } = lanes(1000, "error", limiter);
    for (let i = 1; i <= 4; i++) l.enqueue(frame(i), 1);
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes()).toEqual([1, 1, 1, 2, 2, 2]);
    expect(limiter.isWaiting(l)).toBe(true);
    clock.t += 3;
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(9);
    l.clear();
    expect(limiter.isWaiting(l)).toBe(false);
  });

  test("grant: a lone byte limit grants a run's tokens at once (up to 64 KiB), refunded unused; nothing while a frame waits; only the frame's own once priorities are in use", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 200_000, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const { l } = lanes(1_000_000, "error", limiter);
    expect(l.grant(69)).toBe(65_536);
    l.refund(65_536 - 69);
    expect(limiter.bytes.available()).toBe(200_000 - 69);
    expect(l.grant(300_000)).toBe(0); // more than there is (and larger than the burst): it must wait
    l.enqueue(frame(1, 300_000), 1);
    expect(l.grant(10)).toBe(0); // a frame waits: nothing may overtake it
    l.clear();
    const { l: prioritized } = lanes(1_000_000, "error", new RateLimiter({ bytesPerSecond: 1000, burstBytes: 200_000, messagesPerSecond: undefined, burstMessages: undefined }, clock.now));
    prioritized.prioritize();
    expect(prioritized.grant(69)).toBe(69);
    // With a message limit too, each frame asks for itself.
    const both = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 200_000, messagesPerSecond: 10, burstMessages: 2 }, clock.now);
    const { l: counted } = lanes(1_000_000, "error", both);
    expect([counted.grant(69), counted.grant(69), counted.grant(69)]).toEqual([69, 69, 0]);
  });

  test("a late timer: what accrued while the lane waited is kept (up to 100 ms of the rate past the burst), and the bucket is back to its burst once the lane is empty", () => {
    const clock = new ManualClock();
    // 1 byte per ms, a 10-byte burst (10 ms of the rate), 5-byte frames.
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 10, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const { queue, out, l } = lanes(1000, "error", limiter);
    for (let i = 0; i < 40; i++) l.enqueue(frame(i, 5), 1);
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(10); // the burst
    expect(limiter.isWaiting(l)).toBe(true);
    clock.t += 50; // the wake asked for 1 ms comes 49 ms late: 50 tokens accrued, not 10
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(60);
    clock.t += 1000; // very late: at most the burst + 100 ms of the rate is kept
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(170);
    clock.t += 40;
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(200);
    expect(l.empty).toBe(true);
    expect(limiter.isWaiting(l)).toBe(false);
    clock.t += 10_000; // idle: only the burst again
    expect(limiter.bytes.available()).toBe(10);
    l.clear();
  });

  test("the buckets are held from the first frame that waits (before any pump or timer, e.g. behind a busy socket) until the lanes are empty", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 10, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const { queue, out, l } = lanes(1000, "error", limiter);
    expect(limiter.tryTake(10)).toBe(true); // the burst went straight into the batch
    for (let i = 0; i < 20; i++) l.enqueue(frame(i, 5), 1); // the rest waits
    clock.t += 50; // no pump for 50 ms (the socket was busy)
    l.pump();
    queue.flush(out.socket);
    expect(out.bytes().length).toBe(50);
    clock.t += 50;
    l.pump();
    expect(l.empty).toBe(true);
    clock.t += 10_000;
    expect(limiter.bytes.available()).toBe(10);
    l.clear();
  });

  test("the buckets stay held while frames wait behind a busy socket, even when the limiter's timer finds nobody waiting for tokens", async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 10, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const queue = new OutboundQueue({ maxBufferedBytes: 1000, overflow: "error", reuseBuffers: true });
    let busy = false;
    let written = 0;
    // The RawSocket contract's `write`: 0 while the kernel's buffer is full, else everything.
    const socket = { write: (b: Uint8Array) => (busy ? 0 : ((written += b.length), b.length)) } as unknown as RawSocket;
    const l: SendLanes = new SendLanes({ queue, host: { write: () => queue.flush(socket), flush: () => (queue.flush(socket), l.pump()) }, own: limiter, shared: undefined, maxBufferedBytes: 1000, overflow: "error" });
    busy = true; // the socket takes nothing for now
    for (let i = 0; i < 20; i++) l.enqueue(frame(i, 5), 1);
    l.pump(); // the burst: 2 frames into the batch, then a wait for tokens (a real 1 ms timer)
    queue.flush(socket); // the batch is in flight
    expect(queue.holding).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 30)); // the timer fires: the lanes cannot move, so nobody waits for tokens
    expect(limiter.isWaiting(l)).toBe(false);
    clock.t += 50;
    busy = false;
    queue.flush(socket);
    l.pump();
    queue.flush(socket);
    expect(written).toBe(10 + 50); // the 50 ms of tokens were kept, not capped at the 10-byte burst
    l.clear();
  });

  test("during a long run of sends, frames take their tokens on time even while the socket holds (writes that complete only once the caller yields)", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 10, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const queue = new OutboundQueue({ maxBufferedBytes: 10_000, overflow: "error", reuseBuffers: true });
    let busy = true;
    let written = 0;
    const socket = { write: (b: Uint8Array) => (busy ? 0 : ((written += b.length), b.length)) } as unknown as RawSocket;
    const l = new SendLanes({ queue, host: { write: () => queue.flush(socket), flush: () => {} }, own: limiter, shared: undefined, maxBufferedBytes: 10_000, overflow: "error" });
    for (let i = 0; i < 200; i++) {
      l.enqueue(frame(i & 0xff, 5), 1);
      clock.t += 1;
    }
    expect(queue.holding).toBe(true);
    busy = false; // the caller yields: the writes go
    queue.flush(socket);
    // ~10 + 200 tokens came during the run: what they allowed left the lanes on time, not only the burst + 100 ms after it.
    expect(written).toBeGreaterThanOrEqual(150);
    expect(written).toBeLessThanOrEqual(210);
    l.clear();
  });

  test("a long run of sends without yielding still releases what the tokens allow as it goes", () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ bytesPerSecond: 1000, burstBytes: 10, messagesPerSecond: undefined, burstMessages: undefined }, clock.now);
    const { out, l } = lanes(10_000, "error", limiter);
    // 200 frames of 5 B queued while 200 ms pass and nothing yields (no pump from a flush, no timer).
    for (let i = 0; i < 200; i++) {
      l.enqueue(frame(i & 0xff, 5), 1);
      clock.t += 1;
    }
    // 10 + ~200 tokens came meanwhile; what they allowed went out without waiting for a flush.
    expect(out.bytes().length).toBeGreaterThanOrEqual(150);
    expect(out.bytes().length).toBeLessThanOrEqual(210);
    l.clear();
  });
});
