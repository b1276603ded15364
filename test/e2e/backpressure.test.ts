import { afterEach, describe, expect, test } from "bun:test";
import { type Connection, connect, listen, QueueFullError, type Server } from "../../adapters/bun/index.ts";
import { HOST, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

/** A server whose connections stop reading until `resume` is called. */
async function stalledServer(): Promise<{ server: Server<Uint8Array>; conn: Promise<Connection<Uint8Array>>; received: () => number }> {
  const server = await listen({ host: HOST, port: 0 });
  servers.push(server as Server<unknown>);
  let count = 0;
  const conn = new Promise<Connection<Uint8Array>>((resolve) =>
    server.on("connection", (c) => {
      c.pause();
      c.on("message", () => count++);
      resolve(c);
    }),
  );
  return { server, conn, received: () => count };
}

const KiB = 1024;

describe("backpressure", () => {
  test("a peer that never reads: send() reports backpressure, the queue stays bounded, nothing is lost", async () => {
    const { server, conn, received } = await stalledServer();
    const limit = 2 * 1024 * KiB;
    const client = await connect({ host: HOST, port: server.port, highWaterMark: 256 * KiB, maxBufferedBytes: limit });
    const payload = new Uint8Array(16 * KiB).fill(7);
    let queued = 0;
    let sawBackpressure = false;
    let full: unknown;
    // Keep sending across ticks until the queue refuses: the kernel buffers fill first.
    for (let round = 0; round < 2000 && full === undefined; round++) {
      for (let i = 0; i < 16; i++) {
        try {
          const status = client.send(payload);
          if (status === "backpressure") sawBackpressure = true;
          queued++;
        } catch (error) {
          full = error;
          break;
        }
        expect(client.bufferedAmount).toBeLessThanOrEqual(limit);
      }
      await Bun.sleep(0);
    }
    expect(sawBackpressure).toBe(true);
    expect(full).toBeInstanceOf(QueueFullError);
    expect((full as QueueFullError).code).toBe("FW_QUEUE_FULL");
    expect(client.bufferedAmount).toBeGreaterThan(limit - payload.length - 64);
    expect(client.bufferedAmount).toBeLessThanOrEqual(limit);
    expect(client.stats().drops).toBe(0);

    // The reader resumes: drain fires and every queued message arrives.
    const drained = new Promise<void>((resolve) => client.once("drain", resolve));
    (await conn).resume();
    await within(drained, 5000, "drain event");
    await within((async () => { while (received() < queued) await Bun.sleep(5); })(), 10_000, "all delivered");
    expect(received()).toBe(queued);
    await client.close();
  });

  test("drop-newest returns \"dropped\" and counts it; drop-oldest evicts and emits drop", async () => {
    const { server, conn } = await stalledServer();
    const newest = await connect({ host: HOST, port: server.port, highWaterMark: 64 * KiB, maxBufferedBytes: 256 * KiB, overflow: "drop-newest" });
    const payload = new Uint8Array(8 * KiB);
    let dropped = 0;
    for (let round = 0; round < 2000 && dropped === 0; round++) {
      for (let i = 0; i < 32; i++) if (newest.send(payload) === "dropped") dropped++;
      await Bun.sleep(0);
    }
    expect(dropped).toBeGreaterThan(0);
    expect(newest.stats().drops).toBe(dropped);
    expect(newest.bufferedAmount).toBeLessThanOrEqual(256 * KiB);
    await conn;

    const { server: s2 } = await stalledServer();
    const oldest = await connect({ host: HOST, port: s2.port, highWaterMark: 64 * KiB, maxBufferedBytes: 256 * KiB, overflow: "drop-oldest" });
    let evicted = 0;
    oldest.on("drop", (info) => {
      evicted += info.messages;
      expect(info.bytes).toBeGreaterThan(0);
    });
    for (let round = 0; round < 2000 && evicted === 0; round++) {
      for (let i = 0; i < 32; i++) expect(oldest.send(payload)).not.toBe("dropped");
      await Bun.sleep(0);
    }
    expect(evicted).toBeGreaterThan(0);
    expect(oldest.stats().drops).toBe(evicted);
    expect(oldest.bufferedAmount).toBeLessThanOrEqual(256 * KiB);
    newest.destroy();
    oldest.destroy();
  });

  test("drained() resolves once below the high-water mark", async () => {
    const { server, conn, received } = await stalledServer();
    const client = await connect({ host: HOST, port: server.port, highWaterMark: 64 * KiB });
    const payload = new Uint8Array(32 * KiB);
    // Sends go out in batches as they are made; with the reader stalled the kernel buffers fill
    // and the queue reaches the mark.
    let sent = 0;
    let status = client.send(payload);
    for (sent = 1; status !== "backpressure" && sent < 10_000; sent++) {
      expect(status).toBe("queued");
      status = client.send(payload);
      if (sent % 16 === 0) await Bun.sleep(1);
    }
    expect(status).toBe("backpressure");
    expect(client.bufferedAmount).toBeGreaterThanOrEqual(64 * KiB);
    let resolved = false;
    const drained = client.drained().then(() => (resolved = true));
    await Bun.sleep(50);
    expect(resolved).toBe(false); // the reader is still stalled
    (await conn).resume();
    await within(drained, 5000, "drained");
    expect(client.bufferedAmount).toBeLessThan(64 * KiB);
    await within((async () => { while (received() < sent) await Bun.sleep(2); })(), 5000, "delivery");
    expect(received()).toBe(sent);
    await client.close();
  });
});
