import { describe, expect, test } from "bun:test";
import { InboundQueue } from "../../src/flow/inbound-queue.ts";

function make(capacity: number): { q: InboundQueue<number>; lows: () => number } {
  let lows = 0;
  const q = new InboundQueue<number>(capacity, () => {
    lows++;
  });
  return { q, lows: () => lows };
}

/** Settles `p` (or reports it pending) after the microtask queue has run. */
async function state<T>(p: Promise<T>): Promise<{ status: "fulfilled"; value: T } | { status: "rejected"; reason: unknown } | { status: "pending" }> {
  const pending = Symbol("pending");
  const result = await Promise.race([
    p.then(
      (value) => ({ status: "fulfilled" as const, value }),
      (reason: unknown) => ({ status: "rejected" as const, reason }),
    ),
    new Promise<typeof pending>((resolve) => setTimeout(() => resolve(pending), 0)),
  ]);
  return result === pending ? { status: "pending" } : result;
}

describe("InboundQueue bounds", () => {
  test("push returns true below capacity and false once at capacity", () => {
    const { q } = make(4);
    expect(q.capacity).toBe(4);
    expect([q.push(1), q.push(2), q.push(3)]).toEqual([true, true, true]);
    expect(q.length).toBe(3);
    expect(q.push(4)).toBe(false);
    expect(q.length).toBe(4);
    // Over capacity it keeps everything (the owner pauses reading) and keeps saying false.
    expect(q.push(5)).toBe(false);
    expect(q.length).toBe(5);
  });

  test("capacity 1: the first push fills it", () => {
    const { q, lows } = make(1);
    expect(q.push(1)).toBe(false);
    expect(lows()).toBe(0);
    return q.next().then((r) => {
      expect(r).toEqual({ value: 1, done: false });
      expect(lows()).toBe(1);
    });
  });

  test("onLow fires once when next() takes a full queue down to half", async () => {
    const { q, lows } = make(4);
    for (let i = 1; i <= 4; i++) q.push(i);
    expect(await q.next()).toEqual({ value: 1, done: false }); // 3 left
    expect(lows()).toBe(0);
    expect(await q.next()).toEqual({ value: 2, done: false }); // 2 left = half
    expect(lows()).toBe(1);
    expect(await q.next()).toEqual({ value: 3, done: false });
    expect(await q.next()).toEqual({ value: 4, done: false });
    expect(lows()).toBe(1);
    // Filling up again arms it again.
    for (let i = 5; i <= 8; i++) q.push(i);
    await q.next();
    await q.next();
    expect(lows()).toBe(2);
  });

  test("onLow does not fire for a queue that never filled", async () => {
    const { q, lows } = make(4);
    q.push(1);
    q.push(2);
    q.push(3);
    await q.next();
    await q.next();
    await q.next();
    expect(lows()).toBe(0);
  });

  test("odd capacity: half rounds down", async () => {
    const { q, lows } = make(5);
    for (let i = 0; i < 5; i++) q.push(i);
    await q.next(); // 4
    await q.next(); // 3
    expect(lows()).toBe(0);
    await q.next(); // 2 = 5 >> 1
    expect(lows()).toBe(1);
  });

  test("take() never calls onLow; clearFull() disarms it", async () => {
    const { q, lows } = make(4);
    for (let i = 1; i <= 4; i++) q.push(i);
    expect(q.take()).toBe(1);
    expect(q.take()).toBe(2);
    expect(q.take()).toBe(3);
    expect(lows()).toBe(0);
    expect(q.length).toBe(1);
    expect(q.take()).toBe(4);
    expect(q.take()).toBeUndefined();

    const other = make(4);
    for (let i = 1; i <= 4; i++) other.q.push(i);
    other.q.clearFull();
    for (let i = 0; i < 4; i++) await other.q.next();
    expect(other.lows()).toBe(0);
  });

  test("FIFO order survives internal compaction", async () => {
    const { q } = make(100_000);
    const got: number[] = [];
    let next = 0;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 1500; i++) q.push(next++);
      for (let i = 0; i < 1200; i++) got.push((await q.next()).value as number);
    }
    while (q.length > 0) got.push(q.take() as number);
    expect(got).toEqual(Array.from({ length: next }, (_, i) => i));
  });
});

describe("InboundQueue consumers", () => {
  test("a pending next() is resolved directly by push, which then reports room", async () => {
    const { q } = make(1);
    const p = q.next();
    expect((await state(p)).status).toBe("pending");
    expect(q.push(42)).toBe(true);
    expect(q.length).toBe(0);
    expect(await p).toEqual({ value: 42, done: false });
  });

  test("several pending next() calls are served in order", async () => {
    const { q } = make(4);
    const ps = [q.next(), q.next(), q.next()];
    q.push(1);
    q.push(2);
    q.push(3);
    expect(await Promise.all(ps)).toEqual([
      { value: 1, done: false },
      { value: 2, done: false },
      { value: 3, done: false },
    ]);
  });

  test("end() resolves every pending next() with done", async () => {
    const { q } = make(4);
    const a = q.next();
    const b = q.next();
    q.end();
    expect(await a).toEqual({ value: undefined, done: true });
    expect(await b).toEqual({ value: undefined, done: true });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test("end() lets queued messages drain first", async () => {
    const { q } = make(4);
    q.push(1);
    q.push(2);
    q.end();
    expect(await q.next()).toEqual({ value: 1, done: false });
    expect(await q.next()).toEqual({ value: 2, done: false });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test("end(error) rejects the pending next() once; later calls are done", async () => {
    const { q } = make(4);
    const error = new Error("boom");
    const p = q.next();
    q.end(error);
    const s = await state(p);
    expect(s.status).toBe("rejected");
    expect((s as { reason: unknown }).reason).toBe(error);
    expect(await q.next()).toEqual({ value: undefined, done: true });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test("end(error) with two pending next(): one rejects, the other is done", async () => {
    const { q } = make(4);
    const error = new Error("boom");
    const a = q.next();
    const b = q.next();
    expect([(await state(a)).status, (await state(b)).status]).toEqual(["pending", "pending"]);
    q.end(error);
    const [sa, sb] = await Promise.all([state(a), state(b)]);
    expect(sa).toEqual({ status: "rejected", reason: error });
    expect(sb).toEqual({ status: "fulfilled", value: { value: undefined, done: true } });
  });

  test("end(error) after queued messages: messages, then one rejection, then done", async () => {
    const { q } = make(4);
    const error = new Error("late");
    q.push(7);
    q.end(error);
    expect(await q.next()).toEqual({ value: 7, done: false });
    const s = await state(q.next());
    expect(s).toEqual({ status: "rejected", reason: error });
    expect(await q.next()).toEqual({ value: undefined, done: true });
  });

  test("a second end() is ignored", async () => {
    const { q } = make(4);
    q.end();
    q.end(new Error("ignored"));
    expect(await state(q.next())).toEqual({ status: "fulfilled", value: { value: undefined, done: true } });
    const { q: q2 } = make(4);
    const first = new Error("first");
    q2.end(first);
    q2.end(new Error("second"));
    expect(await state(q2.next())).toEqual({ status: "rejected", reason: first });
  });
});
