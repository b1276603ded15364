/**
 * A telemetry agent: connects with a token, reports once every 100 ms and streams a burst of
 * batched values, then closes in order. Run by examples/demo.ts; also runnable alone:
 *   bun examples/agent.ts <port>
 */
import { connect, HandshakeRejectedError } from "framewire";
import type { Wire } from "./collector.ts";

const port = Number(process.argv[2]);
const BURST = 200_000;

// A wrong token first, to show what a refused handshake looks like.
try {
  await connect<Wire>({ host: "127.0.0.1", port, codec: "json", tags: { agent: "intruder", token: "nope" } });
} catch (error) {
  if (!(error instanceof HandshakeRejectedError)) throw error;
  console.log(`refused as expected: ${error.reasonCode} (${error.reason})`);
}

const client = await connect<Wire>({ host: "127.0.0.1", port, codec: "json", tags: { agent: "edge-1", token: "demo-token" } });
console.log(`connected to ${client.peerTags.service} via ${client.adapter.name}, session ${client.sessionId}`);

let acked = 0;
client.on("message", (msg) => {
  if ("ack" in msg) acked = msg.ack + 1;
});

for (let seq = 0; seq < 20; seq++) {
  client.send({ seq, cpu: 20 + 10 * Math.sin(seq / 3), memMiB: 512 + seq, sentAt: Date.now() });
  await new Promise((r) => setTimeout(r, 100));
}

// Throughput: many small messages; send() says when to wait.
const t0 = performance.now();
let waits = 0;
for (let i = 0; i < BURST; i += 10) {
  if (client.send({ batch: [i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7, i + 8, i + 9] }) === "backpressure") {
    waits++;
    await client.drained();
  }
}
const ms = performance.now() - t0;
console.log(`streamed ${BURST} values in ${BURST / 10} messages: ${((BURST / 10 / ms) * 1000).toFixed(0)} msg/s, waited for drain ${waits}x`);

await new Promise((r) => setTimeout(r, 200));
const s = client.stats();
console.log(`acks received: ${acked}/20, rtt ${s.rttMs?.toFixed(2) ?? "-"} ms, ${s.framesOut} frames out, ${s.drops} drops`);
const info = await client.close();
console.log(`agent closed (${info.code})`);
