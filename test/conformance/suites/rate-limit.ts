/**
 * Rate limits and priorities on real sockets: the outbound bucket's accuracy on the receiver's
 * clock (64 B and 1 MiB messages), priority lanes, control frames that are not throttled, closing
 * a throttled connection, the inbound limit (the sender sees backpressure), a bucket shared by a
 * server's connections, resume with a rate limit, and option checks.
 *
 * Tolerances are 10% here (the CI machine is shared); `bench/rate-limit.ts` reports the error
 * on a quiet machine.
 */
import type { Client, Connection, FramewireError, Transport } from "../../../src/index.ts";
import { describe, equal, HOST, ok, rejectsWith, type Scenario, sleep, until, within, withServer } from "../kit.ts";

/** Bytes a framewire DATA frame adds to its payload (u32 length, type byte): the rate counts them. */
const FRAME_OVERHEAD = 5;

export interface TransferPlan {
  messageBytes: number;
  count: number;
  bytesPerSecond: number;
  burstBytes: number;
  /** How the client sends its `count` messages on "go"; by default all in one loop, as fast as `send` takes them. */
  sendAll?: (send: () => void, count: number) => void;
}

export interface TransferResult {
  /** Frame bytes sent (payloads plus framing). */
  wireBytes: number;
  /** (N − B) / R. */
  expectedMs: number;
  /** From the receiver's "go" to the last message's arrival, on the receiver's clock. */
  measuredMs: number;
}

/**
 * A client with `rateLimit` sends `count` messages as fast as `send` takes them, starting when the
 * server says "go"; the server times from its "go" to the last arrival. The bucket is full at the
 * start (the client was idle), so the first `burstBytes` go at once.
 */
export async function throttledTransfer(transport: Transport, plan: TransferPlan): Promise<TransferResult> {
  const wireBytes = plan.count * (plan.messageBytes + FRAME_OVERHEAD);
  const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0 });
  try {
    let start = 0;
    let last = 0;
    let received = 0;
    let wrong = "";
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    server.on("connection", (conn) => {
      conn.on("message", (m) => {
        last = performance.now();
        if (m.length !== plan.messageBytes && wrong === "") wrong = `message ${received} has ${m.length} bytes`;
        if (++received === plan.count) finished();
      });
      start = performance.now();
      conn.send(Uint8Array.of(1));
    });
    const client = await transport.connect({
      host: HOST,
      port: server.port,
      heartbeatIntervalMs: 0,
      maxBufferedBytes: Math.max(64 * 1024 * 1024, wireBytes + 1024 * 1024),
      rateLimit: { bytesPerSecond: plan.bytesPerSecond, burstBytes: plan.burstBytes },
    });
    const payload = new Uint8Array(plan.messageBytes).fill(7);
    const sendAll = plan.sendAll ?? ((send, count) => {
      for (let i = 0; i < count; i++) send();
    });
    client.once("message", () => sendAll(() => void client.send(payload), plan.count));
    const expectedMs = ((wireBytes - plan.burstBytes) / plan.bytesPerSecond) * 1000;
    await within(done, expectedMs * 3 + 10_000, `${plan.count} throttled messages of ${plan.messageBytes} B`);
    if (wrong !== "") throw new Error(wrong);
    await client.close();
    return { wireBytes, expectedMs, measuredMs: last - start };
  } finally {
    await server.close(500);
  }
}

/** The payload's first byte says which level sent it, the next two its number in that level. */
function tagged(level: number, i: number, size = 100): Uint8Array {
  const m = new Uint8Array(size);
  m[0] = level;
  m[1] = i >> 8;
  m[2] = i & 0xff;
  return m;
}

/** Checks every level's messages arrived in order and returns the arrival order as "level:index". */
function checkLevels(got: Uint8Array[]): string[] {
  const next = [0, 0, 0];
  return got.map((m) => {
    const level = m[0] as number;
    const i = ((m[1] as number) << 8) | (m[2] as number);
    equal(i, next[level], `level ${level} keeps its order`);
    next[level] = i + 1;
    return `${level}:${i}`;
  });
}

const withinTolerance = (measured: number, expected: number, tolerance: number): boolean => Math.abs(measured - expected) <= expected * tolerance;

export const rateLimitScenarios: Scenario[] = [
  {
    name: "rate limit: N bytes at rate R with burst B take (N - B) / R on the receiver's clock, 64 B and 1 MiB messages (within 10%)",
    timeoutMs: 60_000,
    async run({ transport }) {
      const plans: TransferPlan[] = [
        { messageBytes: 64, count: 12_000, bytesPerSecond: 600_000, burstBytes: 16 * 1024 },
        { messageBytes: 1024 * 1024, count: 6, bytesPerSecond: 6 * 1024 * 1024, burstBytes: 1024 * 1024 + FRAME_OVERHEAD },
        // Messages larger than the burst: each goes whole once the bucket has gathered its size.
        { messageBytes: 1024 * 1024, count: 5, bytesPerSecond: 6 * 1024 * 1024, burstBytes: 256 * 1024 },
      ];
      const report: string[] = [];
      for (const plan of plans) {
        const r = await throttledTransfer(transport, plan);
        const line = `${plan.messageBytes} B x ${plan.count} at ${plan.bytesPerSecond} B/s, burst ${plan.burstBytes}: expected ${r.expectedMs.toFixed(0)} ms, measured ${r.measuredMs.toFixed(0)} ms`;
        report.push(line);
        ok(withinTolerance(r.measuredMs, r.expectedMs, 0.1), `within 10%: ${report.join("; ")}`);
      }
    },
  },
  {
    name: "rate limit: a run of sends takes its tokens at once, and what it leaves goes back: mixed sizes never overtake a frame that waits; after an idle spell the burst is still B",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0 });
      await withServer(server, async () => {
        const got: { at: number; m: Uint8Array }[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => got.push({ at: performance.now(), m: m.slice() })));
        // Order: with a burst of 150, the first frame's grant leaves 10 bytes of tokens; the
        // second must wait, and so must the third and the 10-byte fourth, which those 10 would cover.
        const tight = await transport.connect({ host: HOST, port: server.port, heartbeatIntervalMs: 0, rateLimit: { bytesPerSecond: 20_000, burstBytes: 150 } });
        const sizes = [60, 100, 10, 5, 1, 200, 3, 40, 5, 120, 1, 1, 70, 5];
        for (let round = 0; round < 3; round++) {
          for (const [i, size] of sizes.entries()) {
            const m = new Uint8Array(Math.max(size, 2));
            m[0] = round;
            m[1] = i;
            tight.send(m);
          }
          await sleep(5); // a new tick: a new run of sends
        }
        await until(() => got.length === sizes.length * 3, 10_000, "every mixed-size message");
        const order = got.map(({ m }) => `${m[0]}:${m[1]}`);
        const expected = [0, 1, 2].flatMap((round) => sizes.map((_, i) => `${round}:${i}`));
        equal(order.join(" "), expected.join(" "), "mixed sizes arrive in the order sent");
        await tight.close();

        // Burst: one small send takes a grant; its unspent tokens must not add to the next burst.
        got.length = 0;
        const rate = 1_000_000;
        const burst = 100_000;
        const client = await transport.connect({ host: HOST, port: server.port, heartbeatIntervalMs: 0, maxBufferedBytes: 1024 * 1024, rateLimit: { bytesPerSecond: rate, burstBytes: burst } });
        client.send(new Uint8Array(64));
        await until(() => got.length === 1, 5000, "the first message");
        await sleep(300); // the bucket is full again
        got.length = 0;
        const count = 200;
        const wire = count * (1024 + FRAME_OVERHEAD);
        for (let i = 0; i < count; i++) client.send(new Uint8Array(1024));
        await until(() => got.length === count, 10_000, "the burst and the rest");
        const tookMs = (got[count - 1] as { at: number }).at - (got[0] as { at: number }).at;
        const leastMs = ((wire - burst - (1024 + FRAME_OVERHEAD)) / rate) * 1000;
        ok(tookMs >= leastMs * 0.85, `${wire} B with a ${burst} B burst at ${rate} B/s arrived over ${tookMs.toFixed(0)} ms (at least ${leastMs.toFixed(0)} ms: more than the burst went at once)`);
        await client.close();
      });
    },
  },
  {
    name: "priorities: a high message overtakes throttled low ones, each level keeps its order",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const got: Uint8Array[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => got.push(m.slice())));
        // 105 B frames at 10 frames per ~50 ms: 60 low ones take ~0.3 s after the burst.
        const client = await transport.connect({ host: HOST, port: server.port, rateLimit: { bytesPerSecond: 21_000, burstBytes: 420 } });
        for (let i = 0; i < 60; i++) client.send(tagged(2, i), { priority: "low" });
        for (let i = 0; i < 5; i++) client.send(tagged(1, i));
        for (let i = 0; i < 5; i++) equal(client.send(tagged(0, i), { priority: "high" }), "queued", "a high send");
        await until(() => got.length === 70, 10_000, "every message arrived");
        const order = checkLevels(got);
        const firstHigh = order.indexOf("0:0");
        const lastHigh = order.indexOf("0:4");
        const firstNormal = order.indexOf("1:0");
        ok(firstHigh >= 0 && firstHigh <= 6, `the highs came right after the burst (${order.slice(0, 16).join(" ")})`);
        ok(lastHigh < firstNormal, `high before normal (${order.slice(0, 16).join(" ")})`);
        ok(order.indexOf("1:4") < order.indexOf("2:59") && order.indexOf("1:4") < 20, `normal before the rest of low (${order.slice(0, 20).join(" ")})`);
        await client.close();
      });
    },
  },
  {
    name: "priorities without a rate limit: a high message overtakes low ones waiting behind a peer that does not read",
    timeoutMs: 30_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0 });
      await withServer(server, async () => {
        const got: Uint8Array[] = [];
        let peer: Connection<Uint8Array> | undefined;
        server.on("connection", (conn) => {
          peer = conn;
          conn.pause();
          conn.on("message", (m) => got.push(m.slice(0, 3)));
        });
        const client = await transport.connect({ host: HOST, port: server.port, heartbeatIntervalMs: 0, highWaterMark: 1024 * 1024, maxBufferedBytes: 64 * 1024 * 1024 });
        await until(() => peer !== undefined, 5000, "the server's connection");
        let low = 0;
        // Fill the kernel's buffers and the socket's, until a few MiB wait on our side.
        for (let round = 0; round < 2000 && client.bufferedAmount < 3 * 1024 * 1024; round++) {
          for (let k = 0; k < 64; k++) client.send(tagged(2, low++ & 0xffff, 1024), { priority: "low" });
          await sleep(1);
        }
        ok(client.bufferedAmount >= 3 * 1024 * 1024, `the queue filled (${client.bufferedAmount} B waiting)`);
        for (let i = 0; i < 3; i++) client.send(tagged(0, i, 1024), { priority: "high" });
        (peer as Connection<Uint8Array>).resume();
        await until(() => got.length === low + 3, 20_000, `all ${low + 3} messages arrived (${got.length})`);
        const at = got.findIndex((m) => m[0] === 0);
        ok(at > 0 && at < low - 1000, `the highs arrived at ${at} of ${low + 3}: after what the kernel held, before the low ones still waiting`);
        ok(got[at + 1]?.[0] === 0 && got[at + 2]?.[0] === 0, "the three highs together, in order");
        await client.close();
      });
    },
  },
  {
    name: "rate limit: control frames are not throttled (heartbeats keep a throttled connection alive), and close destroys after closeTimeoutMs",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 });
      await withServer(server, async () => {
        let bytes = 0;
        let serverSide: Connection<Uint8Array> | undefined;
        server.on("connection", (conn) => {
          serverSide = conn;
          conn.on("message", (m) => (bytes += m.length));
        });
        // 2 KB/s: the 40 KB queued below would take 20 s.
        const client = await transport.connect({ host: HOST, port: server.port, closeTimeoutMs: 300, rateLimit: { bytesPerSecond: 2000, burstBytes: 1000 } });
        let undelivered = 0;
        client.on("undelivered", (u) => (undelivered = u.messages));
        for (let i = 0; i < 40; i++) client.send(new Uint8Array(1000));
        await sleep(1500);
        equal(client.state, "open", "the client is still open after 3x the heartbeat timeout");
        equal(serverSide?.state, "open", "the server side is still open");
        ok(client.stats().rttMs !== undefined, "PONGs came back past the throttled data");
        ok(bytes >= 1000 && bytes <= 6000, `the data went at the rate meanwhile (${bytes} B in 1.5 s at 2000 B/s + 1000 burst)`);
        ok(client.bufferedAmount > 30_000, `the throttled bytes count in bufferedAmount (${client.bufferedAmount})`);
        const t0 = performance.now();
        const info = await within(client.close(), 3000, "close of a throttled connection");
        const took = performance.now() - t0;
        ok(took >= 250 && took < 1500, `destroyed after closeTimeoutMs (${took.toFixed(0)} ms)`);
        ok(undelivered >= 30, `the throttled messages are reported undelivered (${undelivered})`);
        equal(info.remote, false, "closed by us");
      });
    },
  },
  {
    name: "rate limit: closing a throttled connection sends what is queued first, then GOAWAY",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        let received = 0;
        let atGoaway = -1;
        server.on("connection", (conn) => {
          conn.on("message", () => received++);
          conn.on("goaway", () => (atGoaway = received));
        });
        const client = await transport.connect({ host: HOST, port: server.port, rateLimit: { bytesPerSecond: 20_000, burstBytes: 2000 } });
        for (let i = 0; i < 50; i++) client.send(new Uint8Array(200)); // ~0.5 s of it throttled
        const info = await within(client.close(), 5000, "orderly close");
        equal(info.code, "FW_NORMAL", "an orderly close");
        await until(() => atGoaway >= 0, 3000, "the server saw GOAWAY");
        equal(atGoaway, 50, "GOAWAY came after all 50 messages");
      });
    },
  },
  {
    name: "inbound rate limit: reading pauses, the sender sees backpressure, the received rate stays within 10%",
    timeoutMs: 40_000,
    async run({ transport }) {
      const R = 3 * 1024 * 1024;
      const B = 64 * 1024;
      const server = await transport.listen({ host: HOST, port: 0, inboundRateLimit: { bytesPerSecond: R, burstBytes: B } });
      await withServer(server, async () => {
        let bytes = 0;
        let first = 0;
        let last = 0;
        server.on("connection", (conn) =>
          conn.on("message", (m) => {
            if (first === 0) first = performance.now();
            last = performance.now();
            bytes += m.length + FRAME_OVERHEAD;
          }),
        );
        const client = await transport.connect({ host: HOST, port: server.port, highWaterMark: 256 * 1024 });
        const total = 12 * 1024 * 1024;
        const chunk = new Uint8Array(16 * 1024);
        let backpressure = 0;
        let sent = 0;
        while (sent < total) {
          const status = client.send(chunk);
          sent += chunk.length + FRAME_OVERHEAD;
          if (status === "backpressure") {
            backpressure++;
            await within(client.drained(), 20_000, "drain");
          }
        }
        await until(() => bytes >= sent, 20_000, `everything arrived (${bytes} of ${sent})`);
        ok(backpressure > 0, "the sender was told to wait");
        // From the first arrival: the first read takes the burst (and at most one read of debt).
        const expectedMs = ((sent - B) / R) * 1000;
        const measuredMs = last - first;
        ok(withinTolerance(measuredMs, expectedMs, 0.1), `received at the rate: expected ${expectedMs.toFixed(0)} ms, measured ${measuredMs.toFixed(0)} ms`);
        await client.close();
      });
    },
  },
  {
    name: "serverRateLimit: one bucket for all connections, which take turns",
    timeoutMs: 30_000,
    async run({ transport }) {
      const R = 400_000;
      const B = 8 * 1024;
      const server = await transport.listen({ host: HOST, port: 0, serverRateLimit: { bytesPerSecond: R, burstBytes: B } });
      await withServer(server, async () => {
        const conns: Connection<Uint8Array>[] = [];
        server.on("connection", (conn) => conns.push(conn));
        const clients: Client<Uint8Array>[] = [];
        const finishedAt = [0, 0];
        const counts = [0, 0];
        const perClient = 200;
        for (let c = 0; c < 2; c++) {
          const client = await transport.connect({ host: HOST, port: server.port });
          client.on("message", () => {
            if (++counts[c]! === perClient) finishedAt[c] = performance.now();
          });
          clients.push(client);
        }
        await until(() => conns.length === 2, 5000, "two connections");
        const payload = new Uint8Array(1019); // 1 KiB frames
        const start = performance.now();
        for (let i = 0; i < perClient; i++) for (const conn of conns) conn.send(payload);
        await until(() => finishedAt[0]! > 0 && finishedAt[1]! > 0, 15_000, `both clients got everything (${counts.join(", ")})`);
        const expectedMs = ((2 * perClient * 1024 - B) / R) * 1000;
        const slowest = Math.max(...finishedAt) - start;
        const fastest = Math.min(...finishedAt) - start;
        ok(withinTolerance(slowest, expectedMs, 0.1), `together at the shared rate: expected ${expectedMs.toFixed(0)} ms, measured ${slowest.toFixed(0)} ms`);
        ok(fastest > expectedMs * 0.8, `they took turns: the first finished at ${fastest.toFixed(0)} ms of ${slowest.toFixed(0)} ms`);
        for (const client of clients) await client.close();
      });
    },
  },
  {
    name: "rate limit with resume: throttled messages arrive once, in order; a priority is refused (FW_INVALID_USE)",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, resume: true });
      await withServer(server, async () => {
        const got: number[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => got.push(m[0] as number)));
        const client = await transport.connect({ host: HOST, port: server.port, resume: true, rateLimit: { bytesPerSecond: 20_000, burstBytes: 500 } });
        for (let i = 0; i < 100; i++) client.send(Uint8Array.of(i, 0, 0, 0, 0, 0, 0, 0, 0, 0));
        let thrown: unknown;
        try {
          client.send(Uint8Array.of(255), { priority: "high" });
        } catch (error) {
          thrown = error;
        }
        equal((thrown as FramewireError | undefined)?.code, "FW_INVALID_USE", `a priority with resume (${describe(thrown)})`);
        equal(client.send(Uint8Array.of(100), { priority: "normal" }), "queued", "normal is fine");
        await until(() => got.length === 101, 8000, `all arrived (${got.length})`);
        ok(got.every((v, i) => v === i), "in order");
        let broadcastError: unknown;
        try {
          server.broadcast(Uint8Array.of(1), undefined, { priority: "low" });
        } catch (error) {
          broadcastError = error;
        }
        equal((broadcastError as FramewireError | undefined)?.code, "FW_INVALID_USE", "broadcast with a priority and resume");
        await client.close();
      });
    },
  },
  {
    name: "rate limit options are checked at listen and connect (FW_INVALID_OPTION); send options too",
    timeoutMs: 10_000,
    async run({ transport }) {
      const bad: Record<string, unknown>[] = [
        { rateLimit: {} },
        { rateLimit: { bytesPerSecond: 0 } },
        { rateLimit: { bytesPerSecond: 1000, burstBytes: -1 } },
        { rateLimit: { bytesPerSecond: 1000, bytesPerSec: 1 } },
        { rateLimit: { bytesPerSecond: 1000, burstMessages: 3 } },
        { rateLimit: 1000 },
        { inboundRateLimit: { bytesPerSecond: 1000, messagesPerSecond: 10 } },
        { serverRateLimit: { bytesPerSecond: "fast" } },
      ];
      for (const options of bad) {
        const error = await rejectsWith(transport.listen({ host: HOST, port: 0, ...options }), `listen ${JSON.stringify(options)}`);
        equal(error.code, "FW_INVALID_OPTION", `listen ${JSON.stringify(options)}: ${error.message}`);
      }
      const onConnect = await rejectsWith(transport.connect({ host: HOST, port: 1, serverRateLimit: { bytesPerSecond: 1000 } } as never), "serverRateLimit on connect");
      equal(onConnect.code, "FW_INVALID_OPTION", "serverRateLimit is a listen option");
      const server = await transport.listen({ host: HOST, port: 0, serverRateLimit: { bytesPerSecond: 1_000_000 }, rateLimit: { bytesPerSecond: 1_000_000, burstBytes: 1 } });
      await withServer(server, async () => {
        server.on("connection", (conn) => conn.on("message", (m) => conn.send(m, { priority: "high" })));
        const client = await transport.connect({ host: HOST, port: server.port, rateLimit: { bytesPerSecond: 1_000_000, messagesPerSecond: 1000 } });
        for (const options of [{ priority: "urgent" }, { priorty: "high" }, null, "high"]) {
          let thrown: unknown;
          try {
            client.send(Uint8Array.of(1), options as never);
          } catch (error) {
            thrown = error;
          }
          equal((thrown as FramewireError | undefined)?.code, "FW_INVALID_OPTION", `send options ${JSON.stringify(options)} (${describe(thrown)})`);
        }
        const echoed = new Promise<Uint8Array>((resolve) => client.once("message", resolve));
        client.send(Uint8Array.of(42), { priority: "low" });
        const m = await within(echoed, 5000, "an echo through both limiters");
        equal(m[0], 42, "the echo");
        await client.close();
      });
    },
  },
];
