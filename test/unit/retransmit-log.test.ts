import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { RetransmitLog } from "../../src/session/retransmit-log.ts";

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

describe("RetransmitLog", () => {
  test("numbers payloads from 1, keeps copies, and sends again exactly what comes after the peer's count", () => {
    const log = new RetransmitLog();
    const mine = bytes(3, 7);
    expect(log.append(mine)).toBe(1);
    mine.fill(0); // the caller reuses its array: the log kept a copy
    expect(log.append(bytes(2, 8))).toBe(2);
    expect(log.append(bytes(1, 9))).toBe(3);
    expect([...log.after(1)].map((p) => [...p])).toEqual([[8, 8], [9]]);
    expect([...log.after(0)][0]).toEqual(bytes(3, 7));
    expect(log.bytes).toBe(6);
    expect(log.ack(2)).toBe(true);
    expect(log.bytes).toBe(1);
    expect(log.unacked).toBe(1);
    expect([...log.after(2)].map((p) => [...p])).toEqual([[9]]);
  });

  test("refuses acknowledgements that go backwards or past what was sent", () => {
    const log = new RetransmitLog();
    log.append(bytes(1, 1));
    log.append(bytes(1, 2));
    expect(log.ack(3)).toBe(false);
    expect(log.ack(2)).toBe(true);
    expect(log.ack(1)).toBe(false);
    expect(log.ack(2)).toBe(true);
    expect(log.ack(1.5)).toBe(false);
    expect(log.bytes).toBe(0);
  });

  test("payloads larger than a block, and blocks let go once acknowledged", () => {
    const log = new RetransmitLog();
    log.append(bytes(200_000, 1));
    for (let i = 0; i < 100; i++) log.append(bytes(1000, i));
    expect(log.bytes).toBe(300_000);
    log.ack(51);
    expect(log.bytes).toBe(50_000);
    expect([...log.after(51)].length).toBe(50);
    const rest = log.drain();
    expect(rest.length).toBe(50);
    expect(rest[0]).toEqual(bytes(1000, 50));
    expect(log.bytes).toBe(0);
    expect(log.acked).toBe(log.sent);
  });

  test("property: after any appends and acks, after(k) is exactly the model's payloads past k", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ append: fc.integer({ min: 0, max: 70_000 }) }), fc.record({ ack: fc.nat() })), { maxLength: 60 }),
        (ops) => {
          const log = new RetransmitLog();
          const model: Uint8Array[] = [];
          let acked = 0;
          for (const op of ops) {
            if ("append" in op) {
              const p = bytes(op.append % 5 === 0 ? op.append : op.append % 300, model.length % 251);
              model.push(p);
              expect(log.append(p)).toBe(model.length);
            } else {
              const target = acked + (op.ack % (model.length - acked + 1));
              expect(log.ack(target)).toBe(true);
              acked = target;
            }
            const held = model.slice(acked);
            expect(log.bytes).toBe(held.reduce((a, p) => a + p.length, 0));
            const k = acked + Math.floor((model.length - acked) / 2);
            expect([...log.after(k)]).toEqual(model.slice(k));
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
