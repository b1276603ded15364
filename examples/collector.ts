/**
 * A telemetry collector: accepts agents that present a token, acknowledges each report, and
 * prints what it sees. Run by examples/demo.ts; also runnable alone:
 *   bun examples/collector.ts [port]
 */
import { listen } from "framewire";

export type Report = { seq: number; cpu: number; memMiB: number; sentAt: number };
export type Ack = { ack: number };
export type Wire = Report | Ack | { batch: number[] };

const server = await listen<Wire>({
  host: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  codec: "json",
  heartbeatIntervalMs: 500,
  tags: { service: "collector" },
  verifyHandshake: (hello) => (hello.tags.token === "demo-token" ? true : { code: "BAD_TOKEN", reason: "unknown agent" }),
});
console.log(`collector listening on 127.0.0.1:${server.port} (adapter: ${server.adapter.name})`);
console.log(`PORT ${server.port}`);

server.on("reject", (error) => console.log(`refused a peer: ${error.message}`));
server.on("connection", (conn) => {
  console.log(`agent ${conn.peerTags.agent} connected, session ${conn.sessionId}`);
  let batchValues = 0;
  let batches = 0;
  let pauses = 0;
  conn.on("message", (msg) => {
    if ("batch" in msg) {
      batchValues += msg.batch.length;
      // A slow sink (think: a disk flush every 200 batches): stop reading for 20 ms. The agent
      // sees the backpressure through send() instead of the collector buffering without bound.
      if (++batches % 200 === 0) {
        pauses++;
        conn.pause();
        setTimeout(() => conn.resume(), 20);
      }
      return;
    }
    if ("seq" in msg) {
      if (msg.seq % 5 === 0) console.log(`  report #${msg.seq}: cpu ${msg.cpu.toFixed(1)}%  mem ${msg.memMiB} MiB`);
      conn.send({ ack: msg.seq });
    }
  });
  conn.on("close", (info) => {
    const s = conn.stats();
    console.log(
      `agent ${conn.peerTags.agent} left (${info.code}): ${s.framesIn} frames / ${(s.bytesIn / 1024).toFixed(0)} KiB in, ` +
        `${batchValues} batched values (paused reading ${pauses}x), rtt ${s.srttMs?.toFixed(2) ?? "-"} ms`,
    );
    console.log(`RECEIVED ${batchValues}`);
  });
});

// The demo stops us with SIGTERM: close in order (GOAWAY to every agent) and exit.
process.on("SIGTERM", async () => {
  await server.close(1000);
  console.log("collector closed");
  process.exit(0);
});
