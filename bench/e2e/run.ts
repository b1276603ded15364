/**
 * End-to-end benchmark driver (options: bench/e2e/options.ts, or --help): for each runtime,
 * scenario and repetition, runs every implementation once (process-pair.ts), in an order rotated
 * by repetition, reruns noisy runs within the budget, and writes the report (report.ts).
 *
 *   ./node_modules/.bin/bun bench/e2e/run.ts [options]      (Node needs `npm run build` first)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join, resolve } from "node:path";
import { type Impl, isTls } from "./common.ts";
import { helpText, parseArgs } from "./options.ts";
import { Budget, denoPath, here, type RunRecord, root, runOnce } from "./process-pair.ts";
import { buildReport, fmt, type Meta } from "./report.ts";
import type { Runtime, Scenario } from "./scenarios.ts";
import { generateTlsMaterial } from "./tls-material.ts";
import { ensureZeromq } from "./zeromq-install.ts";
import { IDLE_PAUSE_MS, idleConnections } from "./memory.ts";

declare const Bun: {
  version: string;
  spawnSync(cmd: string[], options: { stdout: "pipe"; stderr: "pipe" }): { stdout: Uint8Array };
  build(options: { entrypoints: string[]; target: string; format: string; naming: string; outdir: string }): Promise<{ success: boolean; logs: unknown[] }>;
};

const opts = parseArgs(process.argv.slice(2));
if (opts.help) {
  console.log(helpText());
  process.exit(0);
}
const started = performance.now();
const run = (cmd: string[]): string => new TextDecoder().decode(Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" }).stdout).trim();
const versions: Record<Runtime, string> = {
  bun: Bun.version,
  node: opts.runtimes.includes("node") ? run(["node", "--version"]).replace(/^v/, "") : "",
  deno: opts.runtimes.includes("deno") ? (run([denoPath, "--version"]).split("\n")[0] ?? "").replace(/^deno /, "") : "",
};
const plan = (r: Runtime, s: Scenario): Impl[] => opts.implsOf(r, s);
const planned = opts.runtimes.flatMap((r) => opts.scenarios.map((s) => ({ r, s })));

if (planned.some(({ r, s }) => plan(r, s).includes("zmq")) && !ensureZeromq(root)) {
  // Explicitly asked for: fail. Part of the defaults: go on without it.
  if (opts.impls?.includes("zmq")) throw new Error("zmq was requested but zeromq could not be installed into bench/zeromq (npm ci failed)");
  console.error("zmq: zeromq could not be installed into bench/zeromq; running without it");
  opts.implsOf = (r, s) => plan(r, s).filter((i) => i !== "zmq");
}

// rawtls / fwtls: one throwaway PKI for the whole run (its temporary directory is already gone).
const tlsMaterial = planned.some(({ r, s }) => plan(r, s).some(isTls)) ? generateTlsMaterial(root) : undefined;

// The limit is per process, and each process of a run holds one end of every connection: a
// 1000-connection scenario 1000 sockets (ZeroMQ: ~3 descriptors per socket, assumed wherever it may
// run), idle 2 × 1000 (its two batches; raw and framewire only, one descriptor per socket).
const connsPerProcess = (s: Scenario): number =>
  s.kind === "pingpong" || s.kind === "oneway" ? 1 : s.kind === "idle" ? idleConnections(opts.connsOf(s)) : opts.connsOf(s);
const descriptorsPerConn = (s: Scenario): number => (s.kind === "idle" ? 1 : 3);
const neededFiles = Math.max(0, ...planned.map(({ s }) => descriptorsPerConn(s) * connsPerProcess(s))) + 64;
const maxConns = Math.max(0, ...planned.map(({ s }) => connsPerProcess(s)));
const nofile = Number(/^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1]?.replace("unlimited", "1e9") ?? Number.NaN);
if (!(nofile >= neededFiles)) {
  throw new Error(`open-file limit ${nofile} is too low for up to ${maxConns} connections per process: raise it (ulimit -n ${neededFiles} or more)`);
}

if (opts.runtimes.includes("node")) {
  // Node runs plain JS: bundle the bench programs (not framewire: node.mjs imports dist/ at run time).
  if (!existsSync(join(root, "dist/adapters/node/index.js"))) throw new Error("dist/adapters/node/index.js is missing: run `npm run build` first");
  const built = await Bun.build({ entrypoints: [join(here, "node.ts")], target: "node", format: "esm", naming: "[name].mjs", outdir: join(here, ".build") });
  if (!built.success) throw new Error(`bundling bench/e2e/node.ts failed: ${built.logs.join("\n")}`);
}

/** Wall time of one run as measured on this machine: start-up, warm-up, window, tail, teardown (+ setting up 1000 connections). */
const perRun = (r: Runtime, s: Scenario): number =>
  s.kind === "pingpong" ? 3000 : s.kind === "idle" ? 3000 + IDLE_PAUSE_MS : opts.warmupOf(s) + opts.durationOf(r, s) + (s.setupMs ? 2000 : 1500);
const estimate = planned.reduce((t, { r, s }) => t + perRun(r, s) * opts.reps * plan(r, s).length, 0);
console.error(
  `framewire e2e: ${opts.runtimes.join(", ")} × ${opts.scenarios.map((s) => s.name).join(", ")} × ${opts.reps} reps ` +
    `(${planned.reduce((n, { r, s }) => n + plan(r, s).length * opts.reps, 0)} runs, ~${Math.round(estimate / 1000)} s without quiet-waits and retries)`,
);

const budget = new Budget(opts.budgetMs);
const records: RunRecord[] = [];
for (const runtime of opts.runtimes) {
  // An implementation this runtime refused once (FW_UNSUPPORTED) is not tried again on it.
  const unsupported = new Set<Impl>();
  for (const scenario of opts.scenarios) {
    const impls = opts.implsOf(runtime, scenario);
    for (let rep = 1; rep <= opts.reps; rep++) {
      // Rotate the order each repetition so drift over time hits every implementation alike.
      const order = impls.map((_, i) => impls[(i + rep - 1) % impls.length] as Impl);
      for (const impl of order) {
        if (unsupported.has(impl)) continue;
        for (let attempt = 1; ; attempt++) {
          const runStart = performance.now();
          const r = await runOnce(opts, budget, runtime, scenario, impl, rep, attempt, tlsMaterial);
          if (r.unsupported !== undefined) {
            unsupported.add(impl);
            records.push(r);
            console.error(`  ${runtime.padEnd(4)} ${scenario.name.padEnd(13)} ${impl.padEnd(8)} unsupported on ${runtime}: ${r.unsupported}`);
            break;
          }
          r.discarded = r.noisy && attempt <= opts.retries && budget.left;
          if (r.discarded) budget.extraMs += performance.now() - runStart;
          records.push(r);
          const shown = scenario.metrics.map((m) => `${m.label} ${fmt(r.values[m.key] as number, m.unit)}`).join(", ");
          const perMsg = Number.isFinite(r.senderUsPerMsg) ? `  µs/msg snd ${r.senderUsPerMsg.toFixed(3)} rcv ${r.receiverUsPerMsg.toFixed(3)}` : "";
          console.error(
            `  ${runtime.padEnd(4)} ${scenario.name.padEnd(13)} ${impl.padEnd(8)} rep ${rep}${attempt > 1 ? ` try ${attempt}` : ""}: ${shown}` +
              `  cpu srv ${r.serverCpuPct.toFixed(0)}% cli ${r.clientCpuPct.toFixed(0)}% other ${r.otherCpuPct.toFixed(0)}%${perMsg}` +
              `${r.ok ? "" : `  FAILED: ${r.problems.join("; ")}`}${r.stealPct >= 1 ? ` steal ${r.stealPct.toFixed(0)}%` : ""}${r.discarded ? "  (discarded: noisy, retrying)" : r.noisy ? "  (noisy, kept)" : ""}`,
          );
          if (!r.discarded) break;
        }
      }
    }
  }
}

const cpuList = cpus();
const elapsedSeconds = (performance.now() - started) / 1000;
const meta: Meta & Record<string, unknown> = {
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  bun: Bun.version,
  versions,
  cpuModel: cpuList[0]?.model ?? "unknown CPU",
  cpus: cpuList.length,
  kernel: release(),
  loadavg: loadavg(),
  elapsedSeconds,
};
const report = buildReport(opts, records, meta);
console.log(report.md);
if (opts.write) {
  const outDir = resolve(root, opts.out);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "latest.md"), report.md);
  const { scenarios, implsOf, durationOf, warmupOf, connsOf, ...rest } = opts;
  const options = {
    ...rest,
    scenarios: scenarios.map((s) => s.name),
    runs: Object.fromEntries(
      opts.runtimes.map((r) => [r, Object.fromEntries(scenarios.map((s) => [s.name, { impls: implsOf(r, s), durationMs: durationOf(r, s), warmupMs: warmupOf(s), conns: connsOf(s) }]))]),
    ),
  };
  writeFileSync(join(outDir, "latest.json"), `${JSON.stringify({ meta, options, summary: report.rows, runs: records }, null, 2)}\n`);
  console.error(`wrote ${join(opts.out, "latest.md")} and latest.json (${elapsedSeconds.toFixed(0)} s)`);
}
