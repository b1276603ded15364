/**
 * A telemetry agent: connects with a token, reports once every 100 ms and streams a burst of
 * batched values, then closes in order. Run by examples/demo.ts; also runnable alone:
 *   bun examples/agent.ts <port>
 */
import { connect, HandshakeRejectedError } from "framewire";
import type { Wire } from "./collector.ts";

const port = Number(process.argv[2]);
/** Values streamed after the reports, 50 per message. */
export const BURST = 2_000_000;
const PER_MESSAGE = 50;

// A wrong token first, to show what a refused handshake looks like.
try {
  await connect<Wire>({ host: "127.0.0.1", port, codec: "json", tags: { agent: "intruder", token: "nope" } });
} catch (error) {
  if (!(error instanceof HandshakeRejectedError)) throw error;
  console.log(`refused as expected: ${error.reasonCode} (${error.reason})`);
}

// A small high-water mark: send() says "backpressure" once 64 KiB wait, and the stream waits for drain.
const client = await connect<Wire>({
  host: "127.0.0.1",
  port,
  codec: "json",
  tags: { agent: "edge-1", token: "demo-token" },
  highWaterMark: 64 * 1024,
});
console.log(`connected to ${client.peerTags.service} via ${client.adapter.name}, session ${client.sessionId}`);

let acked = 0;
client.on("message", (msg) => {
  if ("ack" in msg) acked = msg.ack + 1;
});

for (let seq = 0; seq < 20; seq++) {
  client.send({ seq, cpu: 20 + 10 * Math.sin(seq / 3), memMiB: 512 + seq, sentAt: Date.now() });
  await new Promise((r) => setTimeout(r, 100));
}

// A stream to a collector that is slower than we are: send() says when to wait, nothing is dropped.
const t0 = performance.now();
let waits = 0;
let waitedMs = 0;
let peakQueued = 0;
for (let i = 0; i < BURST; i += PER_MESSAGE) {
  const batch = Array.from({ length: PER_MESSAGE }, (_, k) => i + k);
  const status = client.send({ batch });
  peakQueued = Math.max(peakQueued, client.bufferedAmount);
  if (status === "backpressure") {
    waits++;
    const before = performance.now();
    await client.drained();
    waitedMs += performance.now() - before;
  }
}
const ms = performance.now() - t0;
console.log(
  `streamed ${BURST} values in ${BURST / PER_MESSAGE} messages in ${ms.toFixed(0)} ms: ` +
    `send() said "backpressure" ${waits}x and the agent waited ${waitedMs.toFixed(0)} ms for drain; its queue peaked at ${(peakQueued / 1024).toFixed(0)} KiB`,
);

await new Promise((r) => setTimeout(r, 200));
const s = client.stats();
console.log(`BACKPRESSURE ${waits}`);
console.log(`acks received: ${acked}/20, rtt ${s.rttMs?.toFixed(2) ?? "-"} ms, ${s.framesOut} frames out, ${s.drops} drops`);
const info = await client.close();
console.log(`agent closed (${info.code})`);
