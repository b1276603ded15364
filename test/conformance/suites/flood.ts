/**
 * A flooding peer must not starve the process: timers keep firing and other connections keep
 * being answered while one connection is flooded (a separate process, so the attacker does not
 * share the victim's event loop).
 */
import type { CloseInfo, Connection } from "../../../src/index.ts";
import { equal, HOST, need, ok, type Scenario, sleep, until, within, withServer } from "../kit.ts";

export const floodScenarios: Scenario[] = [
  {
    name: "a peer flooding PINGs or DATA does not starve timers or other connections",
    timeoutMs: 60_000,
    async run(ctx) {
      const { transport } = ctx;
      const spawn = need(ctx, "spawn");
      for (const [kind, reading] of [
        ["ping", "noread"],
        ["ping", "read"],
        ["data", "read"],
      ] as const) {
        const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0 });
        await withServer(server, async () => {
          const closes: CloseInfo[] = [];
          const connections: Connection<Uint8Array>[] = [];
          server.on("connection", (conn) => {
            connections.push(conn);
            conn.on("message", (m) => conn.send(m));
            conn.on("close", (info) => closes.push(info));
          });
          const bystander = await transport.connect({ host: HOST, port: server.port });
          const flooder = await spawn("python", "flood", [String(server.port), "2", kind, reading]);
          equal(await flooder.readLine(5000), "READY", `${kind}/${reading}: the flooder's handshake`);
          // Timers and the bystander's round trips, measured while the flood runs.
          let last = performance.now();
          const gaps: number[] = [];
          let maxQueued = 0; // what the server queued for the flooder
          const ticker = setInterval(() => {
            const now = performance.now();
            gaps.push(now - last);
            last = now;
            maxQueued = Math.max(maxQueued, connections[1]?.bufferedAmount ?? 0);
          }, 10);
          let echoes = 0;
          let maxRtt = 0;
          const started = performance.now();
          try {
            while (performance.now() - started < 1800) {
              const t0 = performance.now();
              const reply = new Promise<void>((resolve) => bystander.once("message", () => resolve()));
              bystander.send(Uint8Array.from([1, 2, 3]));
              await within(reply, 2000, `${kind}/${reading}: a bystander echo during the flood`);
              maxRtt = Math.max(maxRtt, performance.now() - t0);
              echoes++;
              await sleep(20);
            }
          } finally {
            clearInterval(ticker);
          }
          const done = await flooder.readLine(10_000);
          ok(done.startsWith("DONE "), `${kind}/${reading}: the flooder finished (${done})`);
          const flooded = Number(done.slice(5));
          ok(flooded > 1024 * 1024, `${kind}/${reading}: the flood sent ${flooded} bytes`);
          // The median says whether timers get their turn (a connection yields after READ_TURN_MS of
          // reading); the maximum only catches a stall, with room for a GC or a busy machine.
          gaps.sort((a, b) => a - b);
          const medianGap = gaps[gaps.length >> 1] ?? Number.POSITIVE_INFINITY;
          const maxGap = gaps[gaps.length - 1] ?? Number.POSITIVE_INFINITY;
          ok(medianGap < 60, `${kind}/${reading}: a 10 ms timer fired every ${Math.round(medianGap)} ms (median) under the flood (expected < 60)`);
          ok(maxGap < 400, `${kind}/${reading}: a 10 ms timer was late by up to ${Math.round(maxGap)} ms under the flood (expected < 400)`);
          ok(maxRtt < 500, `${kind}/${reading}: the bystander's slowest round trip took ${Math.round(maxRtt)} ms (expected < 500)`);
          // PINGs get at most one unwritten PONG: a flooder that does not read pins no queue.
          if (kind === "ping") ok(maxQueued < 256 * 1024, `${kind}/${reading}: the server queued up to ${maxQueued} bytes of PONGs (expected < 256 KiB)`);
          ok(echoes >= 5, `${kind}/${reading}: the bystander got ${echoes} echoes in 1.8 s`);
          equal(bystander.state, "open", "the bystander is open");
          await bystander.close();
          await until(() => closes.length >= 1, 10_000, "the flooder's connection closed");
        });
      }
    },
  },
];
