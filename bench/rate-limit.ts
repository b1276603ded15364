/**
 * Rate-limiter accuracy, end to end: for each runtime, a receiver process and a sender process on
 * 127.0.0.1 (bench/rate-limit-peer.ts). The sender has `rateLimit: { bytesPerSecond: R,
 * burstBytes: B }` and sends N frame bytes (a 1-byte start message, then `count` messages, with
 * the natural `await drained()` loop); the receiver times from the start message's arrival to
 * the last message's on its own clock. Expected: (N − B) / R (N counts the 5-byte frame headers:
 * the limit counts frame bytes). Reported per runtime, message size and rate: the median measured
 * time and error over the repetitions, with the range.
 *
 *   ./node_modules/.bin/bun bench/rate-limit.ts [--runtimes=bun,node,deno] [--reps=5] [--seconds=1.5] [--plans=0,3] [--no-write]
 *
 * Node runs framewire from dist/ (`npm run build` first) with the `node` in PATH (Node 24: `bash
 * test/node-lines/run.sh exec ./node_modules/.bin/bun bench/rate-limit.ts`). Writes
 * bench/results/rate-limit.md (git-ignored) and prints the same table.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Runtime = "bun" | "node" | "deno";
const NAME: Record<Runtime, string> = { bun: "Bun", node: "Node", deno: "Deno" };
const FRAME_OVERHEAD = 5;
const START_FRAME = 1 + FRAME_OVERHEAD;
const KiB = 1024;
const MiB = 1024 * KiB;

interface Plan {
  size: number;
  bytesPerSecond: number;
  burstBytes: number;
}

/** 64 B messages at three rates with a 64 KiB burst; 1 MiB messages at three rates, bursts of one message and of a quarter. */
const PLANS: Plan[] = [
  { size: 64, bytesPerSecond: 500_000, burstBytes: 64 * KiB },
  { size: 64, bytesPerSecond: 2_000_000, burstBytes: 64 * KiB },
  { size: 64, bytesPerSecond: 8_000_000, burstBytes: 64 * KiB },
  { size: MiB, bytesPerSecond: 4 * MiB, burstBytes: MiB + FRAME_OVERHEAD },
  { size: MiB, bytesPerSecond: 16 * MiB, burstBytes: MiB + FRAME_OVERHEAD },
  { size: MiB, bytesPerSecond: 64 * MiB, burstBytes: MiB + FRAME_OVERHEAD },
  { size: MiB, bytesPerSecond: 16 * MiB, burstBytes: 256 * KiB },
];

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}
const runtimes = option("runtimes", "bun,node,deno").split(",") as Runtime[];
const reps = Number(option("reps", "5"));
const seconds = Number(option("seconds", "1.5"));
const write = !process.argv.includes("--no-write");
/** `--plans=0,2`: only these rows of PLANS (0-based). */
const only = option("plans", "");
const plans = only === "" ? PLANS : only.split(",").map((i) => PLANS[Number(i)] as Plan);
for (const r of runtimes) if (!(r in NAME)) throw new Error(`unknown runtime ${r}`);

const root = join(import.meta.dir, "..");
const peer = join(import.meta.dir, "rate-limit-peer.ts");

function command(runtime: Runtime, role: string, cfg: object): string[] {
  const json = JSON.stringify(cfg);
  if (runtime === "bun") return [process.execPath, peer, role, json];
  if (runtime === "node") return ["node", "--no-warnings", peer, role, json];
  return [join(root, "node_modules/.bin/deno"), "run", "-A", peer, role, json];
}

/** Reads JSON lines from a child's stdout until `want` arrives. */
async function lineOf(reader: { read(): Promise<{ value?: Uint8Array | undefined; done: boolean }> }, buffered: { text: string }, want: string): Promise<Record<string, unknown>> {
  const decoder = new TextDecoder();
  for (;;) {
    const nl = buffered.text.indexOf("\n");
    if (nl >= 0) {
      const line = buffered.text.slice(0, nl);
      buffered.text = buffered.text.slice(nl + 1);
      if (!line.startsWith("{")) continue;
      const event = JSON.parse(line) as Record<string, unknown>;
      if (event.event === want) return event;
      if (event.event === "error") throw new Error(String(event.message));
      continue;
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`the process exited before "${want}"`);
    buffered.text += decoder.decode(value, { stream: true });
  }
}

/** One transfer: the receiver's measured time, ms. */
async function once(runtime: Runtime, plan: Plan, count: number, expectedMs: number): Promise<number> {
  const hardTimeoutMs = Math.ceil(expectedMs * 3 + 15_000);
  const base = { host: "127.0.0.1", port: 0, size: plan.size, count, bytesPerSecond: plan.bytesPerSecond, burstBytes: plan.burstBytes, hardTimeoutMs };
  const receiver = Bun.spawn(command(runtime, "receiver", base), { cwd: root, stdout: "pipe", stderr: "inherit" });
  let sender: ReturnType<typeof Bun.spawn> | undefined;
  const killer = setTimeout(() => {
    receiver.kill();
    sender?.kill();
  }, hardTimeoutMs + 5000);
  try {
    const reader = receiver.stdout.getReader();
    const buffered = { text: "" };
    const listening = await lineOf(reader, buffered, "listening");
    sender = Bun.spawn(command(runtime, "sender", { ...base, port: listening.port }), { cwd: root, stdout: "ignore", stderr: "inherit" });
    const result = await lineOf(reader, buffered, "result");
    if (result.received !== count || result.wrong !== 0) throw new Error(`bad transfer: ${JSON.stringify(result)}`);
    await Promise.all([receiver.exited, sender.exited]);
    return result.measuredMs as number;
  } finally {
    clearTimeout(killer);
    receiver.kill();
    sender?.kill();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const pct = (x: number): string => `${x >= 0 ? "+" : ""}${(x * 100).toFixed(2)}%`;
const rate = (r: number): string => (r >= MiB && r % MiB === 0 ? `${r / MiB} MiB/s` : `${r / 1e6} MB/s`);
const bytes = (b: number): string => (b === MiB + FRAME_OVERHEAD ? "1 frame of 1 MiB" : b >= MiB ? `${b / MiB} MiB` : `${b / KiB} KiB`);

const lines = [
  `Rate-limiter accuracy, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, ${reps} reps, ~${seconds} s per transfer; error = (measured − expected) / expected`,
  "",
  "| runtime | message | rate R | burst B | N | expected (N−B)/R | measured (median) | error median | error range |",
  "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
];
console.log(lines.join("\n"));
for (const runtime of runtimes) {
  for (const plan of plans) {
    const frame = plan.size + FRAME_OVERHEAD;
    const count = Math.max(2, Math.round((plan.bytesPerSecond * seconds + plan.burstBytes - START_FRAME) / frame));
    const wireBytes = START_FRAME + count * frame;
    const expectedMs = ((wireBytes - plan.burstBytes) / plan.bytesPerSecond) * 1000;
    const measured: number[] = [];
    for (let i = 0; i < reps; i++) measured.push(await once(runtime, plan, count, expectedMs));
    const errors = measured.map((m) => (m - expectedMs) / expectedMs);
    const line = `| ${NAME[runtime]} | ${plan.size === 64 ? "64 B" : "1 MiB"} | ${rate(plan.bytesPerSecond)} | ${bytes(plan.burstBytes)} | ${(wireBytes / 1e6).toFixed(2)} MB | ${expectedMs.toFixed(0)} ms | ${median(measured).toFixed(0)} ms | **${pct(median(errors))}** | ${pct(Math.min(...errors))} … ${pct(Math.max(...errors))} |`;
    lines.push(line);
    console.log(line);
  }
}
if (write) {
  const dir = join(root, "bench/results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "rate-limit.md"), `${lines.join("\n")}\n`);
}
