/**
 * Unit tests of the outbound queue's pure logic. The "socket" below only implements `write` with a
 * configurable acceptance per call: it is a stand-in for the RawSocket contract's return value
 * (bytes accepted, -1 closed), not a model of any runtime's socket.
 */
import { describe, expect, test } from "bun:test";
import type { RawSocket } from "../../src/adapter.ts";
import { QueueFullError } from "../../src/errors.ts";
import { OutboundQueue, type OutboundQueueOptions } from "../../src/flow/outbound-queue.ts";
import { arr, concat, expectThrows, pattern, u8 } from "./helpers.ts";

class AcceptingWriter {
  /** Bytes accepted per write call (Infinity: everything). */
  accept = Number.POSITIVE_INFINITY;
  closed = false;
  /** The exact arrays handed to write, in order. */
  readonly offered: Uint8Array[] = [];
  /** Copies of the offered bytes at the time of the call. */
  readonly offeredSnapshots: Uint8Array[] = [];
  readonly #acceptedChunks: Uint8Array[] = [];

  write(bytes: Uint8Array): number {
    this.offered.push(bytes);
    this.offeredSnapshots.push(bytes.slice());
    if (this.closed) return -1;
    const n = Math.min(this.accept, bytes.length);
    this.#acceptedChunks.push(bytes.slice(0, n));
    return n;
  }

  /** Copies of the offered bytes at the time of each call, as number arrays. */
  get offeredCopies(): number[][] {
    return this.offeredSnapshots.map(arr);
  }

  /** Concatenation of all accepted bytes (copied when accepted). */
  get accepted(): number[] {
    return arr(concat(this.#acceptedChunks));
  }

  asSocket(): RawSocket {
    return this as unknown as RawSocket;
  }
}

function queue(options: Partial<OutboundQueueOptions> = {}): OutboundQueue {
  return new OutboundQueue({ maxBufferedBytes: 1 << 20, overflow: "error", reuseBuffers: true, ...options });
}

/** Queues `frame` the way the connection does: reserve, write at the offset, commit. */
function send(q: OutboundQueue, frame: Uint8Array, force = false): number {
  const at = q.reserve(frame.length, force);
  if (at < 0) return at;
  q.buffer.set(frame, at);
  q.commit(at + frame.length);
  return at;
}

const A = u8(0xa1, 0xa2, 0xa3, 0xa4);
const B = u8(0xb1, 0xb2, 0xb3);
const C = u8(0xc1, 0xc2, 0xc3);
const D = u8(0xd1, 0xd2, 0xd3, 0xd4);

describe("OutboundQueue batching", () => {
  test("several commits leave in one write, in order", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    expect(send(q, A)).toBe(0);
    expect(send(q, B)).toBe(4);
    expect(send(q, C)).toBe(7);
    expect(q.bufferedAmount).toBe(10);
    expect(q.flush(socket.asSocket())).toBe(true);
    expect(socket.offered.length).toBe(1);
    expect(socket.offeredCopies[0]).toEqual(arr(concat([A, B, C])));
    expect(q.bufferedAmount).toBe(0);
    expect(q.bytesWritten).toBe(10);
  });

  test("flush with nothing queued does not write", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    expect(q.flush(socket.asSocket())).toBe(true);
    expect(socket.offered.length).toBe(0);
    q.reserve(5); // reserved but never committed: still nothing to send
    expect(q.bufferedAmount).toBe(0);
    expect(q.flush(socket.asSocket())).toBe(true);
    expect(socket.offered.length).toBe(0);
  });

  test("a frame larger than the initial batch is kept intact after growth", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    const small = Array.from({ length: 10 }, (_, i) => pattern(100, i));
    for (const f of small) send(q, f);
    const big = pattern(40_000, 99);
    send(q, big);
    expect(q.bufferedAmount).toBe(41_000);
    q.flush(socket.asSocket());
    expect(socket.offered.length).toBe(1);
    expect(socket.accepted).toEqual(arr(concat([...small, big])));
  });
});

describe("OutboundQueue partial writes", () => {
  test("the unaccepted remainder goes first, then frames queued after it", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    socket.accept = 3;
    send(q, A);
    send(q, B);
    q.flush(socket.asSocket()); // offers A+B (7), 3 accepted
    expect(socket.offeredCopies).toEqual([arr(concat([A, B]))]);
    expect(q.bufferedAmount).toBe(4);
    expect(q.bytesWritten).toBe(3);

    send(q, C);
    expect(q.bufferedAmount).toBe(7);
    q.flush(socket.asSocket()); // remainder (4): 3 accepted; the new batch must wait
    expect(socket.offeredCopies.slice(1)).toEqual([[0xa4, 0xb1, 0xb2, 0xb3]]);
    expect(q.bufferedAmount).toBe(4);

    send(q, D);
    socket.accept = Number.POSITIVE_INFINITY;
    q.flush(socket.asSocket()); // last remainder byte, then C+D in one write
    expect(socket.offeredCopies.slice(2)).toEqual([[0xb3], arr(concat([C, D]))]);
    expect(socket.accepted).toEqual(arr(concat([A, B, C, D])));
    expect(q.bufferedAmount).toBe(0);
    expect(q.bytesWritten).toBe(14);
  });

  test("a socket that accepts nothing loses nothing", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    socket.accept = 0;
    send(q, A);
    for (let i = 0; i < 3; i++) expect(q.flush(socket.asSocket())).toBe(true);
    expect(q.bufferedAmount).toBe(4);
    expect(q.bytesWritten).toBe(0);
    socket.accept = 1;
    send(q, B);
    for (let i = 0; i < 20 && q.bufferedAmount > 0; i++) q.flush(socket.asSocket());
    expect(socket.accepted).toEqual(arr(concat([A, B])));
    expect(q.bytesWritten).toBe(7);
  });

  test("a closed socket (-1) makes flush return false and keeps the bytes queued", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    send(q, A);
    socket.closed = true;
    expect(q.flush(socket.asSocket())).toBe(false);
    expect(q.bufferedAmount).toBe(4);
    expect(q.bytesWritten).toBe(0);
    // Also with a remainder in flight.
    const q2 = queue();
    const s2 = new AcceptingWriter();
    s2.accept = 1;
    send(q2, A);
    q2.flush(s2.asSocket());
    s2.closed = true;
    expect(q2.flush(s2.asSocket())).toBe(false);
    expect(q2.bufferedAmount).toBe(3);
    expect(q2.bytesWritten).toBe(1);
  });

  test("bufferedAmount accounting through reserve, commit, partial and full flushes", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    expect(q.bufferedAmount).toBe(0);
    const at = q.reserve(4);
    expect(q.bufferedAmount).toBe(0);
    q.buffer.set(A, at);
    q.commit(at + 4);
    expect(q.bufferedAmount).toBe(4);
    send(q, B);
    expect(q.bufferedAmount).toBe(7);
    socket.accept = 5;
    q.flush(socket.asSocket());
    expect(q.bufferedAmount).toBe(2);
    send(q, C);
    expect(q.bufferedAmount).toBe(5);
    socket.accept = 2; // the 2 in flight go, then 2 of C's 3
    q.flush(socket.asSocket());
    expect(q.bufferedAmount).toBe(1);
    expect(q.bytesWritten).toBe(9);
    q.flush(socket.asSocket());
    expect(q.bufferedAmount).toBe(0);
    expect(q.bytesWritten).toBe(10);
    expect(socket.accepted).toEqual([...A, ...B, ...C]);
  });

  test("clear() drops everything", () => {
    const q = queue();
    const socket = new AcceptingWriter();
    socket.accept = 1;
    send(q, A);
    q.flush(socket.asSocket());
    send(q, B);
    q.clear();
    expect(q.bufferedAmount).toBe(0);
    socket.accept = Number.POSITIVE_INFINITY;
    q.flush(socket.asSocket());
    expect(socket.offered.length).toBe(1);
    send(q, C);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([0xa1, ...C]);
  });
});

describe("OutboundQueue overflow policies", () => {
  test("\"error\": QueueFullError (FW_QUEUE_FULL) and nothing queued", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "error" });
    const socket = new AcceptingWriter();
    send(q, A);
    send(q, D); // 8 bytes
    const e = expectThrows(() => send(q, C), QueueFullError, "FW_QUEUE_FULL");
    expect(e.bufferedAmount).toBe(8);
    expect(e.limit).toBe(10);
    expect(q.bufferedAmount).toBe(8);
    expect(send(q, u8(0xee, 0xef))).toBe(8); // exactly at the limit is fine
    expect(q.bufferedAmount).toBe(10);
    expectThrows(() => q.reserve(1), QueueFullError, "FW_QUEUE_FULL");
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...A, ...D, 0xee, 0xef]);
  });

  test("\"error\": bytes in flight count towards the limit", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "error" });
    const socket = new AcceptingWriter();
    socket.accept = 1;
    send(q, pattern(8));
    q.flush(socket.asSocket()); // 7 in flight
    expect(q.bufferedAmount).toBe(7);
    expectThrows(() => q.reserve(4), QueueFullError, "FW_QUEUE_FULL");
    expect(send(q, B)).toBe(0);
    expect(q.bufferedAmount).toBe(10);
  });

  test("force bypasses the bound", () => {
    const q = queue({ maxBufferedBytes: 4, overflow: "error" });
    const socket = new AcceptingWriter();
    send(q, A);
    expect(send(q, B, true)).toBe(4);
    expect(q.bufferedAmount).toBe(7);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...A, ...B]);
  });

  test("\"drop-newest\": reserve returns -1 and the queue is unchanged", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-newest" });
    const socket = new AcceptingWriter();
    send(q, A);
    send(q, C);
    expect(send(q, D)).toBe(-1);
    expect(q.evictedFrames).toBe(0);
    expect(q.bufferedAmount).toBe(7);
    expect(send(q, B)).toBe(7);
    expect(send(q, u8(1))).toBe(-1);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...A, ...C, ...B]);
  });

  test("\"drop-oldest\": evicts the oldest whole frames; the survivors are written in order", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    send(q, A); // 4
    send(q, B); // 3
    send(q, C); // 3 -> 10, full
    expect(send(q, u8(0xe1, 0xe2))).toBe(6); // evicts A only
    expect(q.evictedFrames).toBe(1);
    expect(q.evictedBytes).toBe(4);
    expect(q.bufferedAmount).toBe(8);
    expect(send(q, D)).toBe(5); // 8 + 4 > 10: evicts B (3), lands after C + E
    expect(q.evictedFrames).toBe(1);
    expect(q.evictedBytes).toBe(3);
    expect(q.bufferedAmount).toBe(9);
    // A reserve that fits resets the counters.
    expect(send(q, u8(0xf1))).toBe(9);
    expect(q.evictedFrames).toBe(0);
    expect(q.evictedBytes).toBe(0);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...C, 0xe1, 0xe2, ...D, 0xf1]);
  });

  test("\"drop-oldest\": evicts no more than needed when the survivors fit exactly", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    send(q, A); // 4
    send(q, B); // 3
    send(q, C); // 3 -> 10
    expect(send(q, D)).toBe(6); // 4 more: dropping A (4) leaves exactly 6 + 4 = 10
    expect(q.evictedFrames).toBe(1);
    expect(q.evictedBytes).toBe(4);
    expect(q.bufferedAmount).toBe(10);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...B, ...C, ...D]);
  });

  test("\"drop-oldest\": several frames evicted at once", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    send(q, u8(1, 1));
    send(q, u8(2, 2));
    send(q, u8(3, 3));
    send(q, u8(4, 4));
    expect(send(q, pattern(7, 50))).toBe(2);
    expect(q.evictedFrames).toBe(3);
    expect(q.evictedBytes).toBe(6);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([4, 4, ...pattern(7, 50)]);
  });

  test("\"drop-oldest\": a frame larger than the bound is dropped and nothing is evicted", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    send(q, A);
    send(q, B);
    expect(send(q, pattern(11))).toBe(-1);
    expect(q.evictedFrames).toBe(0);
    expect(q.evictedBytes).toBe(0);
    expect(q.bufferedAmount).toBe(7);
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...A, ...B]);
  });

  test("\"drop-oldest\": bytes already in flight are never evicted", () => {
    const q = queue({ maxBufferedBytes: 10, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    socket.accept = 2;
    send(q, pattern(8, 1));
    q.flush(socket.asSocket()); // 6 in flight
    send(q, u8(0xb1, 0xb2)); // 8 total
    // 5 more: only the 2-byte batch frame can go, leaving 6 + 5 = 11 > 10 -> dropped, nothing evicted.
    expect(send(q, pattern(5, 9))).toBe(-1);
    expect(q.evictedFrames).toBe(0);
    expect(q.bufferedAmount).toBe(8);
    // 4 more: evicting the 2-byte frame makes room (6 + 4 = 10).
    expect(send(q, u8(0xc1, 0xc2, 0xc3, 0xc4))).toBe(0);
    expect(q.evictedFrames).toBe(1);
    expect(q.evictedBytes).toBe(2);
    socket.accept = Number.POSITIVE_INFINITY;
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...pattern(8, 1), 0xc1, 0xc2, 0xc3, 0xc4]);
  });

  test("\"drop-oldest\" after a partial flush: survivors after the remainder, in order", () => {
    const q = queue({ maxBufferedBytes: 12, overflow: "drop-oldest" });
    const socket = new AcceptingWriter();
    socket.accept = 3;
    send(q, A);
    send(q, B);
    q.flush(socket.asSocket()); // A+B offered, 3 accepted, 4 in flight
    send(q, u8(1, 1, 1));
    send(q, u8(2, 2, 2)); // 10
    expect(send(q, u8(3, 3, 3))).toBe(3); // evicts [1,1,1]
    expect(q.evictedFrames).toBe(1);
    socket.accept = Number.POSITIVE_INFINITY;
    q.flush(socket.asSocket());
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...A, ...B, 2, 2, 2, 3, 3, 3]);
  });
});

describe("OutboundQueue buffer reuse", () => {
  test("reuseBuffers false: a buffer handed to write is never written to again", () => {
    const q = queue({ reuseBuffers: false });
    const socket = new AcceptingWriter();
    send(q, pattern(100, 1));
    q.flush(socket.asSocket());
    // Partial write path too.
    socket.accept = 50;
    send(q, pattern(100, 2));
    q.flush(socket.asSocket());
    socket.accept = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 20; i++) {
      send(q, pattern(100, 10 + i));
      q.flush(socket.asSocket());
    }
    expect(socket.offered.length).toBe(23);
    socket.offered.forEach((view, i) => expect(arr(view)).toEqual(socket.offeredCopies[i] as number[]));
    const backings = new Set(socket.offered.slice(0, 2).map((v) => v.buffer));
    for (const view of socket.offered.slice(3)) expect(backings.has(view.buffer)).toBe(false);
  });

  test("reuseBuffers false: a released batch is filled again; one still held never is", () => {
    const q = queue({ reuseBuffers: false });
    const socket = new AcceptingWriter();
    send(q, pattern(100, 1));
    q.flush(socket.asSocket());
    send(q, pattern(100, 2));
    q.flush(socket.asSocket());
    const [first, second] = socket.offered as [Uint8Array, Uint8Array];
    expect(second.buffer).not.toBe(first.buffer);
    q.released(first);
    send(q, pattern(100, 3));
    q.flush(socket.asSocket());
    expect(socket.offered[2]?.buffer).toBe(first.buffer);
    // The second was never released: its bytes are still what was written.
    expect(arr(second)).toEqual(arr(pattern(100, 2)));
    for (let i = 0; i < 10; i++) {
      send(q, pattern(100, 20 + i));
      q.flush(socket.asSocket());
      expect(socket.offered.at(-1)?.buffer).not.toBe(second.buffer);
    }
  });

  test("reuseBuffers false: bytes the socket holds count in bufferedAmount and the bound until released", () => {
    const q = queue({ reuseBuffers: false, maxBufferedBytes: 250 });
    const socket = new AcceptingWriter();
    send(q, pattern(100, 1));
    q.flush(socket.asSocket());
    expect(q.bufferedAmount).toBe(100);
    expect(q.unsentBytes).toBe(0);
    send(q, pattern(100, 2));
    expect(q.bufferedAmount).toBe(200);
    expectThrows(() => send(q, pattern(100, 3)), QueueFullError, "FW_QUEUE_FULL");
    q.released(socket.offered[0] as Uint8Array);
    expect(q.bufferedAmount).toBe(100);
    expect(send(q, pattern(100, 3))).toBeGreaterThanOrEqual(0);
    // A release of something never written (or twice) changes nothing.
    q.released(socket.offered[0] as Uint8Array);
    q.released(new Uint8Array(100));
    expect(q.bufferedAmount).toBe(200);
  });

  test("reuseBuffers true does reuse the batch (the check above can tell)", () => {
    const q = queue({ reuseBuffers: true });
    const socket = new AcceptingWriter();
    send(q, pattern(100, 1));
    q.flush(socket.asSocket());
    send(q, pattern(100, 2));
    q.flush(socket.asSocket());
    expect(socket.offered[1]?.buffer).toBe(socket.offered[0]?.buffer as ArrayBuffer);
    expect(arr(socket.offered[0] as Uint8Array)).not.toEqual(socket.offeredCopies[0] as number[]);
    expect(socket.accepted).toEqual([...pattern(100, 1), ...pattern(100, 2)]);
  });

  test("reuseBuffers true: a partially written batch is not reused while its rest is in flight", () => {
    const q = queue({ reuseBuffers: true });
    const socket = new AcceptingWriter();
    socket.accept = 10;
    send(q, pattern(30, 1));
    q.flush(socket.asSocket());
    const inflight = socket.offered[0] as Uint8Array;
    send(q, pattern(30, 2));
    send(q, pattern(30, 3));
    expect(q.buffer.buffer).not.toBe(inflight.buffer as ArrayBuffer);
    expect(arr(inflight)).toEqual(socket.offeredCopies[0] as number[]);
    socket.accept = Number.POSITIVE_INFINITY;
    q.flush(socket.asSocket());
    expect(socket.accepted).toEqual([...pattern(30, 1), ...pattern(30, 2), ...pattern(30, 3)]);
  });

  test("reuseBuffers true: a stream that writes a big batch and a small tail every tick keeps one buffer", () => {
    const q = queue({ reuseBuffers: true, maxBufferedBytes: 8 << 20 });
    const socket = new AcceptingWriter();
    for (let tick = 0; tick < 10; tick++) {
      send(q, pattern(100 * 1024, tick));
      q.flush(socket.asSocket());
      send(q, pattern(100, tick));
      q.flush(socket.asSocket());
    }
    // After the first batch sized the buffer, no tick allocates (or copies into) a new one.
    const buffers = new Set(socket.offered.slice(1).map((v) => v.buffer));
    expect(buffers.size).toBe(1);
    expect(socket.accepted.length).toBe(10 * (100 * 1024 + 100));
  });

  test("reuseBuffers true: a big buffer is kept while recent batches used it, and let go once they stay small", () => {
    const q = queue({ reuseBuffers: true, maxBufferedBytes: 8 << 20 });
    const socket = new AcceptingWriter();
    const big = new Uint8Array(5 << 20).fill(7);
    send(q, big);
    q.flush(socket.asSocket());
    expect(socket.offered[0]?.length).toBe(5 << 20);
    expect(socket.offered[0]?.every((b) => b === 7)).toBe(true);
    const bigBuffer = socket.offered[0]?.buffer as ArrayBuffer;
    // A small tail after a big batch (a burst, then the rest of the tick) reuses it...
    send(q, u8(1, 2, 3));
    q.flush(socket.asSocket());
    expect(socket.offered[1]?.buffer).toBe(bigBuffer);
    expect(arr(socket.offered[1] as Uint8Array)).toEqual([1, 2, 3]);
    // ...but once batches stay small it goes within a few flushes, and the buffer shrinks on.
    for (let i = 0; i < 40; i++) {
      send(q, u8(4, 5));
      q.flush(socket.asSocket());
      expect(arr(socket.offered.at(-1) as Uint8Array)).toEqual([4, 5]);
    }
    const firstOther = socket.offered.findIndex((v) => v.buffer !== bigBuffer);
    expect(firstOther).toBeGreaterThan(1);
    expect(firstOther).toBeLessThanOrEqual(8);
    expect(socket.offered.slice(firstOther).every((v) => v.buffer !== bigBuffer)).toBe(true);
    expect((socket.offered.at(-1)?.buffer as ArrayBuffer).byteLength).toBeLessThanOrEqual(64 * 1024);
  });
});
