/**
 * The limits against hostile peers (docs/security.md), attack by attack, on real sockets with
 * raw framewire peers. In each, a well-behaved client keeps echoing throughout, and its round
 * trips must all succeed.
 */
import type { Client, CloseInfo, Server, Transport } from "../../../src/index.ts";
import { deepEqual, equal, HELLO, helloWith, HOST, jsonFields, need, ok, RawPeer, rejectsWith, type Scenario, settledMemory, sleep, typed, u32, until, within, withServer } from "../kit.ts";

const KiB = 1024;
const MiB = 1024 * 1024;

/** The server echoes every message back. */
function echoing<T>(server: Server<T>): Server<T> {
  server.on("connection", (conn) => conn.on("message", (m) => void conn.send(m)));
  return server;
}

/** A well-behaved client that echoes a small message every 50 ms until stopped; every round trip must succeed. */
async function bystander(transport: Transport, port: number, raw = false): Promise<{ client: Client<Uint8Array>; stop(): Promise<{ echoes: number; maxRttMs: number }> }> {
  const client = await transport.connect(raw ? { host: HOST, port, protocol: "raw" } : { host: HOST, port });
  let running = true;
  let failure: unknown;
  let echoes = 0;
  let maxRttMs = 0;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const body = Uint8Array.from([...u32(i), 7, 7, 7]);
      const t0 = performance.now();
      const back = new Promise<Uint8Array>((resolve) => client.once("message", resolve));
      client.send(body);
      const got = await within(back, 3000, `bystander echo ${i}`);
      if (got.length !== body.length || got[3] !== body[3]) throw new Error(`bystander echo ${i} came back wrong`);
      maxRttMs = Math.max(maxRttMs, performance.now() - t0);
      echoes++;
      await sleep(50);
    }
  })().catch((error: unknown) => (failure = error));
  return {
    client,
    async stop() {
      running = false;
      await loop;
      if (failure !== undefined) throw failure;
      equal(client.state, "open", "the bystander is still open");
      ok(echoes >= 3, `the bystander got ${echoes} echoes`);
      await client.close();
      return { echoes, maxRttMs };
    },
  };
}

/** A raw peer that has completed the handshake (WELCOME received). */
async function handshaken(transport: Transport, port: number, allowHalfOpen = false): Promise<RawPeer> {
  const peer = await RawPeer.connect(transport, port, allowHalfOpen);
  peer.write(HELLO);
  await until(() => peer.frames().length >= 1, 5000, "WELCOME");
  return peer;
}

/** The code of the GOAWAY (0x07) or REJECT (0x03) a raw peer received, if any. */
function goodbyeCode(peer: RawPeer): unknown {
  const frame = peer.frames().find((f) => f[0] === 0x07 || f[0] === 0x03);
  return frame === undefined ? undefined : jsonFields(frame).fields.code;
}

/** Largest gap between ticks of a 5 ms interval, while it runs. */
function loopWatch(): { stop(): number } {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
  }, 5);
  return {
    stop() {
      clearInterval(timer);
      return worst;
    },
  };
}

export const limitScenarios: Scenario[] = [
  {
    name: "limits: a length header and then silence is closed with FW_SLOW_PEER within the rate window",
    timeoutMs: 20_000,
    async run({ transport }) {
      const windowMs = 500;
      const server = echoing(await transport.listen({ host: HOST, port: 0, minReceiveRate: { bytesPerSecond: 1024, windowMs } }));
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => conn.on("close", (info) => closes.push(info)));
        const watcher = await bystander(transport, server.port);
        const peer = await handshaken(transport, server.port);
        const t0 = performance.now();
        peer.write(Uint8Array.from(u32(15 * MiB + 1))); // a 15 MiB DATA frame announced, then nothing
        await until(() => peer.closeInfo !== undefined, 5000, "the silent peer is closed");
        const took = performance.now() - t0;
        equal(goodbyeCode(peer), "FW_SLOW_PEER", "the peer's GOAWAY code");
        ok(took >= windowMs * 0.8 && took < windowMs * 2 + 1500, `closed after ${Math.round(took)} ms (window ${windowMs} ms: expected one to two windows)`);
        await until(() => closes.length > 0, 5000, "the server's side closed");
        ok(closes.some((c) => c.code === "FW_SLOW_PEER" && c.error?.name === "SlowPeerError"), `the server's close info: ${closes.map((c) => c.code).join(", ")}`);
        equal(server.stats().limits.slowPeer, 1, "stats().limits.slowPeer");
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: a large frame trickled is cut (FW_SLOW_PEER); an honest slow sender above the minimum rate still delivers",
    timeoutMs: 30_000,
    async run({ transport }) {
      const rate = { bytesPerSecond: 64 * KiB, windowMs: 500 };
      const server = await transport.listen({ host: HOST, port: 0, minReceiveRate: rate, maxFrameSize: 2 * MiB });
      await withServer(server, async () => {
        const received: Uint8Array[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => (m.length > 16 ? received.push(m) : void conn.send(m))));
        const watcher = await bystander(transport, server.port);
        // The trickler: 1 MiB announced, 16 bytes every 100 ms (160 B/s).
        const trickler = await handshaken(transport, server.port);
        trickler.write(Uint8Array.from([...u32(MiB + 1), 0x00]));
        // The honest one: 1 MiB at ~256 KiB/s (4x the minimum), 32 KiB every 125 ms.
        const honest = await handshaken(transport, server.port);
        const size = MiB;
        const body = new Uint8Array(size);
        for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >>> 9)) & 0xff;
        honest.write(Uint8Array.from([...u32(size + 1), 0x00]));
        const t0 = performance.now();
        let trickledFor = 0;
        for (let at = 0, tick = 0; at < size; tick++) {
          if (trickler.writeWhileOpen(new Uint8Array(16))) trickledFor = performance.now() - t0;
          if (tick % 5 === 4 || tick === 0) {
            // every 125 ms (5 ticks of 25 ms)
            honest.write(body.subarray(at, at + 32 * KiB));
            at += 32 * KiB;
          }
          await sleep(25);
        }
        await until(() => received.length === 1, 5000, "the honest slow frame arrives");
        const tookMs = performance.now() - t0;
        ok(tookMs > 2500, `the honest frame took ${Math.round(tookMs)} ms (the test must really be slow)`);
        const got = received[0] as Uint8Array;
        equal(got.length, size, "the honest frame's size");
        for (let i = 0; i < size; i += 997) if (got[i] !== body[i]) throw new Error(`the honest frame differs at byte ${i}`);
        equal(honest.closeInfo, undefined, "the honest sender is still open");
        ok(trickler.closeInfo !== undefined, "the trickler was closed");
        equal(goodbyeCode(trickler), "FW_SLOW_PEER", "the trickler's GOAWAY code");
        ok(trickledFor >= rate.windowMs / 2 && trickledFor < rate.windowMs * 2 + 1500, `the trickler was cut after ${Math.round(trickledFor)} ms (window ${rate.windowMs} ms)`);
        honest.client.destroy();
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: hundreds of peers announcing 15 MiB and trickling stay inside maxPendingFrameBytes; memory returns near its baseline",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const externalMemory = need(ctx, "externalMemory");
      const budget = 8 * MiB;
      const server = echoing(
        await transport.listen({ host: HOST, port: 0, maxPendingFrameBytes: budget, connectionRate: false, maxConnectionsPerAddress: 1000, minReceiveRate: { bytesPerSecond: 1, windowMs: 60_000 } }),
      );
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port);
        const peers: RawPeer[] = [];
        for (let i = 0; i < 200; i++) peers.push(await handshaken(transport, server.port));
        const baseline = await settledMemory(externalMemory);
        for (const peer of peers) peer.write(Uint8Array.from([...u32(15 * MiB + 1), 0x00]));
        // Each trickles 16 KiB pieces: 200 x 256 KiB = 50 MiB if nothing bounded it.
        const piece = new Uint8Array(16 * KiB);
        let maxPending = 0;
        for (let round = 0; round < 16; round++) {
          for (const peer of peers) peer.writeWhileOpen(piece);
          await sleep(60);
          maxPending = Math.max(maxPending, server.stats().pendingFrameBytes);
        }
        const during = (await settledMemory(externalMemory)) - baseline;
        maxPending = Math.max(maxPending, server.stats().pendingFrameBytes);
        const cut = peers.filter((p) => goodbyeCode(p) === "FW_PENDING_BUDGET").length;
        ok(maxPending <= budget, `pending frame bytes peaked at ${(maxPending / MiB).toFixed(1)} MiB (budget ${budget / MiB} MiB)`);
        ok(cut >= 100, `${cut} of 200 trickling peers were closed with FW_PENDING_BUDGET (expected >= 100: 50 MiB asked of an 8 MiB budget)`);
        ok(server.stats().limits.pendingBudget === cut, `stats().limits.pendingBudget ${server.stats().limits.pendingBudget} = ${cut}`);
        ok(during < 24 * MiB, `external memory grew by ${(during / MiB).toFixed(1)} MiB while 200 peers trickled 15 MiB frames (expected < 24 MiB: budget 8 MiB; 50 MiB unbounded)`);
        for (const peer of peers) peer.client.destroy();
        await until(() => server.connectionCount === 1, 10_000, "the trickling peers are gone");
        equal(server.stats().pendingFrameBytes, 0, "pending frame bytes after they left");
        await sleep(200);
        const after = (await settledMemory(externalMemory)) - baseline;
        // Deno keeps some read buffers of its own (measured 8 MiB there; 1-2 MiB on Bun and Node).
        ok(after < 12 * MiB, `external memory is ${(after / MiB).toFixed(1)} MiB above its baseline after the peers left (expected < 12 MiB)`);
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: a slowloris HELLO (one byte at a time) is cut by handshakeTimeoutMs",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = echoing(await transport.listen({ host: HOST, port: 0, handshakeTimeoutMs: 800 }));
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port);
        const peer = await RawPeer.connect(transport, server.port);
        const t0 = performance.now();
        const hello = helloWith(JSON.stringify({ app: "slow".repeat(10) }));
        let written = 0;
        for (let i = 0; i < hello.length && peer.closeInfo === undefined; i++) {
          if (!peer.writeWhileOpen(hello.subarray(i, i + 1))) break;
          written++;
          await sleep(100);
        }
        ok(written >= 5, `${written} HELLO bytes went out one by one before the cut (expected ~8 in 800 ms)`);
        await until(() => peer.closeInfo !== undefined, 5000, "the slow HELLO is cut");
        const took = performance.now() - t0;
        equal(goodbyeCode(peer), "FW_HANDSHAKE_TIMEOUT", "the REJECT code");
        ok(took >= 700 && took < 3000, `cut after ${Math.round(took)} ms (handshakeTimeoutMs 800)`);
        equal(server.stats().limits.handshakeTimeout, 1, "stats().limits.handshakeTimeout");
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: refused and failed sockets that never send FIN hold no slot: a well-behaved client still gets in",
    timeoutMs: 30_000,
    async run({ transport }) {
      const server = echoing(await transport.listen({ host: HOST, port: 0, maxConnections: 10, connectionRate: false }));
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port); // 1 of 10
        // 30 peers whose handshake fails (garbage): REJECT, and they never send FIN.
        const failed: RawPeer[] = [];
        for (let i = 0; i < 30; i++) {
          const peer = await RawPeer.connect(transport, server.port, true);
          peer.write(Uint8Array.from([...u32(3), 0x09, 0x09, 0x09]));
          failed.push(peer);
        }
        await until(() => failed.every((p) => p.frames().length >= 1), 5000, "REJECTs for the garbage");
        // Nine well-behaved clients fill the server while those linger.
        const clients: Client<Uint8Array>[] = [];
        for (let i = 0; i < 9; i++) clients.push(await within(transport.connect({ host: HOST, port: server.port }), 5000, `client ${i} while failed sockets linger`));
        // Now it is full: 100 more are refused and never send FIN.
        const refused: RawPeer[] = [];
        for (let i = 0; i < 100; i++) refused.push(await RawPeer.connect(transport, server.port, true));
        await until(() => refused.every((p) => p.frames().length >= 1), 5000, "REJECTs for the flood");
        ok(
          refused.every((p) => goodbyeCode(p) === "FW_SERVER_FULL"),
          `every flood socket was told FW_SERVER_FULL`,
        );
        equal(server.stats().limits.serverFull, 100, "stats().limits.serverFull");
        // One client leaves; a new one gets in at once, while the refused sockets still linger or were destroyed.
        await (clients.shift() as Client<Uint8Array>).close();
        const late = await within(transport.connect({ host: HOST, port: server.port }), 5000, "a client after one left");
        equal(late.state, "open", "the late client is open");
        // The refused sockets did not linger: the server let them go after at most ~1 s (the
        // failed ones, closing, wait up to closeTimeoutMs, holding no slot meanwhile).
        const floodEnd = performance.now();
        await until(() => server.stats().rejected >= 100, 4000, `the server let the refused sockets go (${server.stats().rejected} gone)`);
        ok(performance.now() - floodEnd < 3500, "within the refusal linger");
        await late.close();
        for (const c of clients) await c.close();
        for (const p of [...failed, ...refused]) p.client.destroy();
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: maxConnectionsPerAddress and connectionRate refuse one address's excess with their codes",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = echoing(await transport.listen({ host: HOST, port: 0, maxConnectionsPerAddress: 6, connectionRate: { perAddress: 12, windowMs: 1500 } }));
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port); // 1 of 6 from 127.0.0.1, attempt 1 of 12
        const holders: RawPeer[] = [];
        for (let i = 0; i < 5; i++) holders.push(await handshaken(transport, server.port)); // attempts 2-6
        const over = await RawPeer.connect(transport, server.port, true); // attempt 7
        await until(() => over.frames().length >= 1, 5000, "REJECT at the address limit");
        equal(goodbyeCode(over), "FW_ADDRESS_LIMIT", "the 7th connection from one address");
        for (const holder of holders) holder.client.destroy();
        await until(() => server.connectionCount === 1, 5000, "the holders left");
        // Attempts 8-12 are let in (the address holds only the bystander), 13 and 14 are over the rate.
        const inRate: Client<Uint8Array>[] = [];
        for (let i = 0; i < 5; i++) inRate.push(await within(transport.connect({ host: HOST, port: server.port }), 5000, `attempt ${8 + i}`));
        for (const c of inRate) await c.close();
        for (let i = 0; i < 2; i++) {
          const error = await rejectsWith(transport.connect({ host: HOST, port: server.port }), `attempt ${13 + i}`);
          equal((error as Error & { reasonCode?: string }).reasonCode, "FW_RATE_LIMITED", `attempt ${13 + i}'s reason code`);
        }
        const stats = server.stats().limits;
        deepEqual([stats.addressLimit, stats.rateLimited], [1, 2], "stats().limits address and rate refusals");
        // The window passes: the address may connect again.
        await sleep(1600);
        const again = await within(transport.connect({ host: HOST, port: server.port }), 5000, "a connection after the window");
        equal(again.state, "open", "after the rate window");
        await again.close();
        over.client.destroy();
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: idleTimeoutMs closes a silent connection, raw mode included (FW_IDLE_TIMEOUT); a busy one stays",
    timeoutMs: 20_000,
    async run({ transport }) {
      for (const protocol of ["raw", "framewire"] as const) {
        const idleTimeoutMs = 400;
        const server = echoing(
          await transport.listen(protocol === "raw" ? { host: HOST, port: 0, protocol, idleTimeoutMs } : { host: HOST, port: 0, idleTimeoutMs, heartbeatIntervalMs: 0 }),
        );
        await withServer(server, async () => {
          const closes: CloseInfo[] = [];
          server.on("connection", (conn) => conn.on("close", (info) => closes.push(info)));
          const watcher = await bystander(transport, server.port, protocol === "raw");
          const quiet = await transport.connect(protocol === "raw" ? { host: HOST, port: server.port, protocol } : { host: HOST, port: server.port, heartbeatIntervalMs: 0 });
          const t0 = performance.now();
          const info = await within(quiet.closed(), 5000, `${protocol}: the quiet connection is closed`);
          const took = performance.now() - t0;
          ok(took >= idleTimeoutMs * 0.9 && took < idleTimeoutMs * 1.5 + 1500, `${protocol}: closed after ${Math.round(took)} ms (idleTimeoutMs ${idleTimeoutMs})`);
          if (protocol === "framewire") equal(info.code, "FW_IDLE_TIMEOUT", "framewire: the client is told the code in GOAWAY");
          await until(() => closes.some((c) => c.code === "FW_IDLE_TIMEOUT"), 3000, `${protocol}: the server closed it with FW_IDLE_TIMEOUT`);
          await sleep(idleTimeoutMs * 2); // the bystander, busy, outlives several idle timeouts
          equal(server.stats().limits.idleTimeout, 1, `${protocol}: stats().limits.idleTimeout`);
          await watcher.stop();
        });
      }
    },
  },
  {
    name: "limits: an oversized, deeply nested or tag-stuffed HELLO is refused before it costs the event loop",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = echoing(await transport.listen({ host: HOST, port: 0, connectionRate: false }));
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port);
        const nested = `{"x":${"[".repeat(30_000)}${"]".repeat(30_000)}}`;
        const manyItems = `{"x":[${Array.from({ length: 20_000 }, () => "1").join(",")}]}`;
        const tags = `{"tags":{${Array.from({ length: 2000 }, (_, i) => `"t${i}":"v"`).join(",")}}}`;
        const cases: [string, Uint8Array, string][] = [
          ["a 16 MiB HELLO announced", Uint8Array.from([...u32(16 * MiB), 0x01, 0x46, 0x57, 1, 1]), "FW_FRAME_TOO_LARGE"],
          ["HELLO JSON nested 30,000 deep", helloWith(nested), "FW_PROTOCOL_ERROR"],
          ["HELLO JSON with 20,000 elements", helloWith(manyItems), "FW_PROTOCOL_ERROR"],
          ["HELLO with 2,000 tags", helloWith(tags), "FW_PROTOCOL_ERROR"],
        ];
        for (const [what, frame, code] of cases) {
          ok(frame.length <= 64 * KiB + 5 || code === "FW_FRAME_TOO_LARGE", `${what} fits the handshake's 64 KiB (${frame.length})`);
          // 20 at once, so a cost per HELLO would show in the stall.
          const peers: RawPeer[] = [];
          for (let i = 0; i < 20; i++) peers.push(await RawPeer.connect(transport, server.port));
          await sleep(20);
          const loop = loopWatch();
          const t0 = performance.now();
          for (const peer of peers) peer.write(frame);
          await until(() => peers.every((p) => p.frames().length >= 1), 5000, `${what}: REJECTs`);
          const took = performance.now() - t0;
          const stall = loop.stop();
          for (const peer of peers) equal(goodbyeCode(peer), code, `${what}: the REJECT code`);
          ok(stall < 150, `${what}: the event loop stalled up to ${Math.round(stall)} ms (expected < 150)`);
          ok(took < 2000, `${what}: 20 refused in ${Math.round(took)} ms`);
          for (const peer of peers) peer.client.destroy();
        }
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: a PING flood from a peer that reads gets at most maxPongsPerSecond PONGs",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = echoing(await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0, maxPongsPerSecond: 10 }));
      await withServer(server, async () => {
        const watcher = await bystander(transport, server.port);
        const peer = await handshaken(transport, server.port);
        const ping = typed(0x04, [1, 2, 3, 4, 5, 6, 7, 8]);
        const t0 = performance.now();
        let sent = 0;
        while (performance.now() - t0 < 1000) {
          // 10 PINGs per write, a write every 4 ms: ~2,500 PINGs in a second, in many chunks.
          const burst = new Uint8Array(ping.length * 10);
          for (let i = 0; i < 10; i++) burst.set(ping, i * ping.length);
          peer.write(burst);
          sent += 10;
          await sleep(4);
        }
        await sleep(300);
        const elapsed = (performance.now() - t0) / 1000;
        const pongs = peer.frames().filter((f) => f[0] === 0x05).length;
        ok(sent >= 500, `${sent} PINGs sent`);
        ok(pongs >= 5, `${pongs} PONGs: some PINGs are answered`);
        ok(pongs <= 10 + Math.ceil(10 * elapsed) + 2, `${pongs} PONGs for ${sent} PINGs in ${elapsed.toFixed(2)} s (expected at most ~${10 + Math.ceil(10 * elapsed)}: a burst of 10, then 10/s)`);
        equal(peer.closeInfo, undefined, "the flooder is not closed (excess PINGs are ignored)");
        peer.client.destroy();
        await watcher.stop();
      });
    },
  },
  {
    name: "limits: maxFrameSize holds per direction: each side announces its own and the other refuses to send more",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, maxFrameSize: 1024 });
      await withServer(server, async () => {
        let serverSide: { send(m: Uint8Array): unknown } | undefined;
        server.on("connection", (conn) => (serverSide = conn));
        const client = await transport.connect({ host: HOST, port: server.port, maxFrameSize: 4096 });
        await until(() => serverSide !== undefined, 5000, "server side");
        const toServer = await rejectsWith(Promise.resolve().then(() => client.send(new Uint8Array(1025))), "the client sends 1025 B to a 1 KiB server");
        equal(toServer.code, "FW_FRAME_TOO_LARGE", "client -> server over the server's maxFrameSize");
        client.send(new Uint8Array(1024));
        const back: Uint8Array[] = [];
        client.on("message", (m) => back.push(m));
        (serverSide as { send(m: Uint8Array): unknown }).send(new Uint8Array(4096)); // fits the client's
        const toClient = await rejectsWith(Promise.resolve().then(() => (serverSide as { send(m: Uint8Array): unknown }).send(new Uint8Array(4097))), "the server sends 4097 B");
        equal(toClient.code, "FW_FRAME_TOO_LARGE", "server -> client over the client's maxFrameSize");
        await until(() => back.length === 1, 5000, "the 4 KiB message reaches the client");
        equal((back[0] as Uint8Array).length, 4096, "its size");
        await client.close();
      });
    },
  },
  {
    name: "limits: every limit option is checked at listen/connect (FW_INVALID_OPTION)",
    timeoutMs: 10_000,
    async run({ transport }) {
      const bad: [string, Record<string, unknown>][] = [
        ["a negative idleTimeoutMs", { idleTimeoutMs: -1 }],
        ["a zero minReceiveRate", { minReceiveRate: { bytesPerSecond: 0, windowMs: 1000 } }],
        ["an unknown minReceiveRate key", { minReceiveRate: { bytesPerSec: 10 } }],
        ["minReceiveRate: true", { minReceiveRate: true }],
        ["maxPongsPerSecond 0", { maxPongsPerSecond: 0 }],
        ["maxPongsPerSecond in raw mode", { protocol: "raw", maxPongsPerSecond: 5 }],
        ["129 tags", { tags: Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`t${i}`, "v"])) }],
      ];
      const serverOnly: [string, Record<string, unknown>][] = [
        ["maxConnectionsPerAddress 0", { maxConnectionsPerAddress: 0 }],
        ["connectionRate.perAddress 0", { connectionRate: { perAddress: 0, windowMs: 1000 } }],
        ["an unknown connectionRate key", { connectionRate: { per: 3 } }],
        ["maxPendingFrameBytes 0", { maxPendingFrameBytes: 0 }],
      ];
      for (const [what, options] of [...bad, ...serverOnly]) {
        const error = await rejectsWith(transport.listen({ host: HOST, port: 0, ...options }), `listen with ${what}`);
        equal(error.code, "FW_INVALID_OPTION", `listen with ${what}`);
      }
      for (const [what, options] of bad) {
        const error = await rejectsWith(transport.connect({ host: HOST, port: 1, ...options }), `connect with ${what}`);
        equal(error.code, "FW_INVALID_OPTION", `connect with ${what}`);
      }
      for (const [what, options] of serverOnly) {
        const error = await rejectsWith(transport.connect({ host: HOST, port: 1, ...options }), `connect with ${what}`);
        equal(error.code, "FW_INVALID_OPTION", `connect with the server option ${what}`);
      }
    },
  },
];
