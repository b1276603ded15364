/**
 * Memory a peer can pin: the inbound queue's byte bound, buffers allocated for announced but
 * unsent frames, and read buffers kept alive by small messages.
 */
import type { Connection } from "../../../src/index.ts";
import { equal, HELLO, HOST, need, ok, RawPeer, type Scenario, sleep, u32, until, withServer } from "../kit.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

export const memoryScenarios: Scenario[] = [
  {
    name: "the inbound queue is bounded in bytes: with no consumer, reading pauses at maxInboundBytes and nothing is lost",
    timeoutMs: 30_000,
    async run({ transport }) {
      const limit = 1 * MiB;
      const message = 64 * KiB;
      const server = await transport.listen({ host: HOST, port: 0, maxInboundBytes: limit, maxFrameSize: 256 * KiB });
      await withServer(server, async () => {
        let conn: Connection<Uint8Array> | undefined;
        server.on("connection", (c) => (conn = c)); // no consumer yet
        const client = await transport.connect({ host: HOST, port: server.port, highWaterMark: 256 * KiB, maxBufferedBytes: 64 * MiB });
        await until(() => conn !== undefined, 5000, "server side");
        const total = 256; // 16 MiB: far more than the bound
        for (let i = 0; i < total; i++) {
          const payload = new Uint8Array(message);
          payload[0] = i & 0xff;
          client.send(payload);
        }
        await sleep(300);
        const stats = (conn as Connection<Uint8Array>).stats();
        const held = stats.inboundQueuedBytes;
        ok(typeof held === "number" && held <= limit + message, `queued inbound bytes ${held} <= ${limit + message}`);
        // Reading paused: the rest of the 16 MiB waits in the kernel and the sender, not here.
        ok(stats.bytesIn < 4 * MiB, `the server read ${(stats.bytesIn / MiB).toFixed(1)} MiB of 16 (expected < 4: reading paused)`);
        // A consumer arrives: every message, in order.
        let next = 0;
        let order = true;
        for await (const m of (conn as Connection<Uint8Array>).messages({ keepOpen: true })) {
          if (m[0] !== (next & 0xff) || m.length !== message) order = false;
          if (++next === total) break;
        }
        equal(next, total, "messages received");
        ok(order, "in order and whole");
        await client.close();
      });
    },
  },
  {
    name: "a header announcing 16 MiB allocates nothing ahead: a partial frame holds only the bytes that arrived",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const externalMemory = need(ctx, "externalMemory");
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const peers: RawPeer[] = [];
        for (let i = 0; i < 16; i++) {
          const peer = await RawPeer.connect(transport, server.port);
          peer.write(HELLO);
          await until(() => peer.frames().length >= 1, 5000, "WELCOME");
          peers.push(peer);
        }
        await sleep(100);
        const before = await externalMemory();
        // Each announces a 16 MiB DATA frame and sends 1 byte of it.
        for (const peer of peers) peer.write(Uint8Array.from([...u32(16 * MiB + 1), 0x00, 0x2a]));
        await sleep(300);
        const grown = (await externalMemory()) - before;
        ok(grown < 8 * MiB, `16 announced 16 MiB frames grew buffers by ${(grown / MiB).toFixed(1)} MiB (expected < 8 MiB; 256 MiB if the full size were allocated)`);
        for (const peer of peers) peer.client.destroy();
      });
    },
  },
  {
    name: "small messages kept by the application pin little more than their own size",
    timeoutMs: 30_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const kept: Uint8Array[] = [];
        let keeping = false;
        server.on("connection", (conn) => conn.on("message", (m) => keeping && kept.push(m)));
        const client = await transport.connect({ host: HOST, port: server.port });
        // A burst first, so read buffers grow to their largest...
        const big = new Uint8Array(64 * KiB);
        for (let i = 0; i < 64; i++) client.send(big);
        await client.drained();
        await sleep(200);
        // ...then small messages, one per read, which the application keeps.
        keeping = true;
        const small = new Uint8Array(9 * KiB);
        const count = 200;
        for (let i = 0; i < count; i++) {
          client.send(small);
          await sleep(2);
        }
        await until(() => kept.length === count, 10_000, `${kept.length}/${count} small messages`);
        // What the kept views hold alive: the buffers behind them, each counted once.
        let pinned = 0;
        for (const buffer of new Set(kept.map((m) => m.buffer))) pinned += buffer.byteLength;
        const payload = count * small.length;
        ok(pinned <= 2 * payload, `${count} kept 9 KiB messages pin ${(pinned / MiB).toFixed(2)} MiB of buffers for ${(payload / MiB).toFixed(2)} MiB of payload (expected <= 2x)`);
        await client.close();
      });
    },
  },
  {
    name: "the inbound byte bound counts what decoded values take: small payloads of many values cannot pin far more",
    timeoutMs: 30_000,
    async run({ transport }) {
      const limit = 1024 * KiB;
      const server = await transport.listen({ host: HOST, port: 0, codec: "json", maxInboundBytes: limit });
      await withServer(server, async () => {
        let conn: Connection<unknown> | undefined;
        server.on("connection", (c) => (conn = c)); // no consumer: messages wait
        const client = await transport.connect({ host: HOST, port: server.port, codec: "json" });
        await until(() => conn !== undefined, 5000, "server side");
        // 50,000 empty objects: ~150 KB of JSON, several MB once decoded.
        const many = Array.from({ length: 50_000 }, () => ({}));
        for (let i = 0; i < 40; i++) client.send(many);
        await sleep(500);
        const queued = (conn as Connection<unknown>).stats().inboundQueued;
        ok(queued <= 2, `${queued} such messages wait decoded (expected at most 2: each weighs ~2.5 MB against a 1 MiB bound; by payload bytes alone ~7 would)`);
        let received = 0;
        for await (const m of (conn as Connection<unknown>).messages({ keepOpen: true })) {
          if ((m as unknown[]).length === 50_000) received++;
          if (received === 40) break;
        }
        equal(received, 40, "every message arrives once consumed");
        await client.close();
      });
    },
  },
  {
    name: "large frames arrive byte-exact while the reader keeps pausing (their second halves are read in place where the runtime allows)",
    timeoutMs: 30_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, maxFrameSize: 4 * MiB });
      await withServer(server, async () => {
        const sizes = [200 * KiB, 256 * KiB, 256 * KiB + 1, 700 * KiB, MiB, 3 * MiB + 17, 64 * KiB, 2 * MiB];
        const byte = (i: number, j: number): number => (i * 13 + j * 31 + (j >>> 10)) & 0xff;
        let received = 0;
        let bad = -1;
        server.on("connection", (c) => {
          c.on("message", (m) => {
            const i = received++;
            if (bad >= 0) return;
            if (m.length !== sizes[i % sizes.length]) bad = i;
            else for (let j = 0; j < m.length; j += 61) if (m[j] !== byte(i, j)) bad = i;
            if (m.length > 0 && m[m.length - 1] !== byte(i, m.length - 1)) bad = i;
          });
          let paused = false;
          const timer = setInterval(() => ((paused = !paused) ? c.pause() : c.resume()), 5);
          void c.closed().then(() => clearInterval(timer));
        });
        const client = await transport.connect({ host: HOST, port: server.port, maxFrameSize: 4 * MiB });
        const count = 40;
        for (let i = 0; i < count; i++) {
          const message = new Uint8Array(sizes[i % sizes.length] as number);
          for (let j = 0; j < message.length; j++) message[j] = byte(i, j);
          if (client.send(message) === "backpressure") await client.drained();
        }
        await until(() => received === count || bad >= 0, 25_000, `${received}/${count} large messages`);
        equal(bad, -1, "first message with wrong bytes");
        await client.close();
      });
    },
  },
];
