// Interop client for resumable sessions: sends `count` numbered messages through a proxy that
// cuts the connection now and then, and checks that the server's echoes come back each exactly
// once, in order. Prints one JSON line: { adapter, received, reconnects, problems }.
import { args, entry, exit, print } from "./runtime.mjs";

const { connect } = await import(entry);
const port = Number(args[0]);
const count = Number(args[1] ?? 20000);
const problems = [];
const deadline = setTimeout(() => finish(`timed out with ${received} of ${count} echoes`), 60_000);
let received = 0;

const client = await connect({
  host: "127.0.0.1",
  port,
  resume: true,
  heartbeatIntervalMs: 0,
  reconnect: { initialDelayMs: 5, maxDelayMs: 50, jitter: "none", retryFirstConnect: true },
});
client.on("unacknowledged", (u) => problems.push(`handed back ${u.messages.length}: ${u.error.code}`));
client.on("message", (m) => {
  const n = new DataView(m.buffer, m.byteOffset, m.length).getUint32(0);
  if (n !== received && problems.length < 5) problems.push(`echo ${n} where ${received} was due`);
  received++;
  if (received === count) finish();
});

for (let i = 0; i < count; ) {
  const m = new Uint8Array(12);
  new DataView(m.buffer).setUint32(0, i);
  const status = client.send(m);
  if (status === "queued" || status === "backpressure") i++;
  if (status !== "queued") await client.drained().catch(() => new Promise((r) => setTimeout(r, 5)));
}

function finish(problem) {
  clearTimeout(deadline);
  if (problem) problems.push(problem);
  print(JSON.stringify({ adapter: client.adapter.name, received, reconnects: client.stats().reconnects, problems }));
  client.destroy();
  exit(0);
}
