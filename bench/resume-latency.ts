/**
 * How long a resumable session takes to come back: from the moment a proxy resets its connection
 * (test/fixtures/cut_proxy.py, in its own process) to the first message that arrives on the
 * resumed one, p50/p99 over many cuts. The server streams small messages; the client redials
 * after 1 ms. Loopback only; bounded by the cut count and a 120 s cap.
 *
 *   bun bench/resume-latency.ts [cuts=100]
 */
import { connect, type Connection, listen } from "../adapters/bun/index.ts";

const cuts = Number(process.argv[2] ?? 100);
const server = await listen({ host: "127.0.0.1", port: 0, resume: true, heartbeatIntervalMs: 0 });
let current: Connection<Uint8Array> | undefined;
server.on("connection", (conn) => {
  current = conn;
});
// A message every millisecond or so, on whichever connection carries the session now.
const pump = setInterval(() => {
  if (current?.state === "open") for (let k = 0; k < 8; k++) current.send(Uint8Array.of(k));
}, 1);

const proxy = Bun.spawn(["python3", `${import.meta.dir}/../test/fixtures/cut_proxy.py`, String(server.port), "--cuts", String(cuts), "--min-bytes", "2000", "--max-bytes", "8000", "--lifetime", "120"], {
  stdin: "pipe",
  stdout: "pipe",
});
const reader = proxy.stdout.getReader();
let first = "";
while (!first.includes("\n")) {
  const { value, done } = await reader.read();
  if (done) throw new Error("the cut proxy exited before printing its port");
  first += new TextDecoder().decode(value);
}
const proxyPort = Number(first.split("\n")[0]?.replace("PORT ", ""));

const samples: number[] = [];
let cutAt = 0;
const client = await connect({ host: "127.0.0.1", port: proxyPort, resume: true, heartbeatIntervalMs: 0, reconnect: { initialDelayMs: 1, maxDelayMs: 1, jitter: "none", retryFirstConnect: true } });
client.on("disconnected", () => {
  cutAt = performance.now();
});
client.on("message", () => {
  if (cutAt === 0) return;
  samples.push(performance.now() - cutAt);
  cutAt = 0;
});
const deadline = performance.now() + 110_000;
while (samples.length < cuts && performance.now() < deadline) await Bun.sleep(10);
clearInterval(pump);
client.destroy();
proxy.kill();
await server.close(0);
samples.sort((a, b) => a - b);
const at = (q: number): string => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN).toFixed(2);
console.log(`| cut → first resumed message (Bun, ${samples.length} cuts) | p50 ${at(0.5)} ms | p99 ${at(0.99)} ms | max ${at(1)} ms |`);
process.exit(0);
