/**
 * The demo: a collector and an agent in two processes on 127.0.0.1, real traffic, printed.
 *   npm run demo            (or: bun examples/demo.ts)
 * Exits 0 when the collector received every value the agent streamed and the agent saw backpressure; bounded to 30 s.
 */
const here = new URL(".", import.meta.url).pathname;
const runtime = process.execPath;

function prefixed(stream: ReadableStream<Uint8Array>, tag: string, onLine: (line: string) => void): Promise<void> {
  return (async () => {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of stream) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        onLine(line);
        if (!/^(PORT|RECEIVED|BACKPRESSURE) /.test(line)) console.log(`${tag} ${line}`);
      }
    }
  })();
}

const deadline = setTimeout(() => {
  console.error("demo: timed out after 30 s");
  process.exit(1);
}, 30_000);

const collector = Bun.spawn([runtime, `${here}collector.ts`, "0"], { stdout: "pipe", stderr: "inherit" });
let port = 0;
let received = -1;
const portKnown = Promise.withResolvers<void>();
const collectorDone = prefixed(collector.stdout, "[collector]", (line) => {
  if (line.startsWith("PORT ")) {
    port = Number(line.slice(5));
    portKnown.resolve();
  }
  if (line.startsWith("RECEIVED ")) received = Number(line.slice(9));
});
await portKnown.promise;

const agent = Bun.spawn([runtime, `${here}agent.ts`, String(port)], { stdout: "pipe", stderr: "inherit" });
let backpressure = 0;
await prefixed(agent.stdout, "[agent]    ", (line) => {
  if (line.startsWith("BACKPRESSURE ")) backpressure = Number(line.slice(13));
});
const agentExit = await agent.exited;
await new Promise((r) => setTimeout(r, 200));
collector.kill("SIGTERM");
await collector.exited;
await collectorDone;
clearTimeout(deadline);

// The stream is far larger than the kernel's socket buffers, so a slow collector must push back.
const ok = agentExit === 0 && received === 2_000_000 && backpressure > 0;
console.log(
  ok
    ? "demo: OK — every value arrived, and the slow collector pushed back on the agent"
    : `demo: FAILED (agent exit ${agentExit}, collector received ${received}, backpressure ${backpressure}x)`,
);
process.exit(ok ? 0 : 1);
