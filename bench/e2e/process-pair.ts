/**
 * One run: spawn the server process, then the client once the server printed its port, both on
 * the runtime under test and bounded in time; read their JSON lines; sample CPU at the window
 * markers; verify the results. Returns everything as a RunRecord.
 */
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type Impl, isTls, type RunConfig, type TlsMaterial } from "./common.ts";
import { between, type CpuSample, sample, waitQuiet } from "./cpu-sampling.ts";
import type { Options } from "./options.ts";
import type { Result, Runtime, Scenario } from "./scenarios.ts";
import { verify } from "./verification.ts";

declare const Bun: {
  spawn(cmd: string[], options: { stdout: "pipe"; stderr: "pipe"; cwd?: string }): Subprocess;
};
interface Subprocess {
  readonly pid: number;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
  readonly exited: Promise<number>;
  kill(signal?: number): void;
}

export const here = dirname(new URL(import.meta.url).pathname);
export const root = resolve(here, "../..");
export const denoPath = join(root, "node_modules/.bin/deno");
export const nodeBundle = join(here, ".build/node.mjs");

export interface RunRecord {
  runtime: Runtime;
  scenario: string;
  impl: Impl;
  rep: number;
  attempt: number;
  ok: boolean;
  /** A process said it cannot run this impl on this runtime (FW_UNSUPPORTED, e.g. `tls` on an adapter without TLS): its message. Not a failure. */
  unsupported?: string;
  /** Other processes used more than --noise during the window. */
  noisy: boolean;
  /** Noisy and retried: not used in the medians. */
  discarded: boolean;
  problems: string[];
  values: Record<string, number>;
  serverCpuPct: number;
  clientCpuPct: number;
  /** CPU µs per message counted in the window, of the sending and the receiving process (scenarios with `perMessage`). */
  senderUsPerMsg: number;
  receiverUsPerMsg: number;
  /** Other processes' CPU during the window, % of one core (with stealPct, what decides "noisy"). */
  otherCpuPct: number;
  stealPct: number;
  idleBeforePct: number;
  windowMs: number;
  server: Result | undefined;
  client: Result | undefined;
  stderr: string;
}

/** Time spent on reruns and on waiting for quiet, which --budget bounds. */
export class Budget {
  extraMs = 0;
  constructor(readonly limitMs: number) {}
  get left(): boolean {
    return this.extraMs < this.limitMs;
  }
}

async function readLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let i: number;
    while ((i = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  }
  if (buffered.length > 0) onLine(buffered);
}

/** The command that runs one side of a run on `runtime`; `v8` are V8 flags (Node: plain flags, Deno: --v8-flags). */
function command(runtime: Runtime, role: "server" | "client", flags: string[], v8: string[], cfg: RunConfig): string[] {
  const json = JSON.stringify(cfg);
  switch (runtime) {
    case "bun":
      return [process.execPath, ...flags, join(here, `${role}.ts`), json];
    case "node":
      return ["node", ...v8, ...flags, nodeBundle, role, json];
    case "deno":
      return [denoPath, "run", "-A", ...(v8.length > 0 ? [`--v8-flags=${v8.join(",")}`] : []), ...flags, join(here, "deno.ts"), role, json];
  }
}

export async function runOnce(
  opts: Options,
  budget: Budget,
  runtime: Runtime,
  scenario: Scenario,
  impl: Impl,
  rep: number,
  attempt: number,
  tls?: TlsMaterial,
): Promise<RunRecord> {
  const waitStart = performance.now();
  const idleBeforePct = await waitQuiet(budget.left ? opts.quietWaitMs : 0, opts.noisePct);
  budget.extraMs += Math.max(0, performance.now() - waitStart - 300);
  const warmupMs = opts.warmupOf(scenario);
  const durationMs = opts.durationOf(runtime, scenario);
  const hardTimeoutMs =
    scenario.kind === "pingpong" ? 30_000 : warmupMs + durationMs + Math.max(750, durationMs / 4) + 10_000 + (scenario.setupMs ?? 0);
  const cfg: RunConfig = {
    impl,
    kind: scenario.kind,
    size: scenario.size,
    host: "127.0.0.1",
    port: 0,
    warmupMs,
    durationMs,
    conns: opts.connsOf(scenario),
    rounds: opts.rounds,
    warmupRounds: opts.warmupRounds,
    hardTimeoutMs,
  };
  if (isTls(impl)) {
    if (!tls) throw new Error(`${impl} needs the TLS material (generateTlsMaterial)`);
    cfg.tls = tls;
  }
  const problems: string[] = [];
  let unsupported: string | undefined;
  let stderr = "";
  const results: { server?: Result; client?: Result } = {};
  const samples: { start?: CpuSample; end?: CpuSample } = {};
  let serverPid = 0;
  let clientPid = 0;

  const onEvent = (role: "server" | "client", line: string, onListening?: (port: number) => void): void => {
    let event: Result;
    try {
      event = JSON.parse(line) as Result;
    } catch {
      stderr += `[${role} stdout] ${line}\n`;
      return;
    }
    switch (event.event) {
      case "listening":
        onListening?.(event.port as number);
        break;
      case "window-start":
        samples.start = sample(serverPid, clientPid);
        break;
      case "window-end":
        samples.end = sample(serverPid, clientPid);
        break;
      case "result":
        results[role] = event;
        break;
      case "error":
        problems.push(`${role}: ${String(event.message)}`);
        break;
      case "unsupported":
        unsupported ??= `${role}: ${String(event.message)}`;
        break;
    }
  };

  // The idle scenario forces GC before measuring memory: Node and Deno need it exposed.
  const v8 = scenario.kind === "idle" && runtime !== "bun" ? ["--expose-gc"] : [];
  const profile = (role: string): { flags: string[]; v8: string[] } => {
    if (!opts.cpuProf) return { flags: [], v8 };
    const dir = resolve(root, opts.out, "profiles");
    mkdirSync(dir, { recursive: true });
    const name = `${runtime}-${scenario.name}-${impl}-rep${rep}-${role}`;
    if (runtime === "node") return { flags: ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`], v8 };
    if (runtime === "deno") return { flags: [], v8: [...v8, "--prof", `--logfile=${join(dir, `${name}.v8.log`)}`, "--no-logfile-per-isolate"] };
    return { flags: ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.md`], v8 };
  };
  const spawn = (role: "server" | "client", cpu: number, c: RunConfig): Subprocess => {
    const pin = scenario.sameCpu ? ["taskset", "-c", "0"] : opts.pin ? ["taskset", "-c", String(cpu)] : [];
    const p = profile(role);
    return Bun.spawn([...pin, ...command(runtime, role, p.flags, p.v8, c)], { stdout: "pipe", stderr: "pipe", cwd: root });
  };
  const server = spawn("server", 0, cfg);
  serverPid = server.pid;
  let client: Subprocess | undefined;
  const killer = setTimeout(() => {
    problems.push(`killed after ${hardTimeoutMs + 5000} ms`);
    server.kill(9);
    client?.kill(9);
  }, hardTimeoutMs + 5000);

  const port = await new Promise<number>((resolvePort) => {
    const serverOut = readLines(server.stdout, (line) => onEvent("server", line, resolvePort));
    void serverOut.then(() => resolvePort(0));
  });
  const serverErr = new Response(server.stderr).text().then((t) => (stderr += t ? `[server stderr] ${t}` : ""));
  if (port === 0) {
    problems.push("server did not start");
  } else {
    client = spawn("client", 1, { ...cfg, port });
    clientPid = client.pid;
    const clientOut = readLines(client.stdout, (line) => onEvent("client", line));
    const clientErr = new Response(client.stderr).text().then((t) => (stderr += t ? `[client stderr] ${t}` : ""));
    const code = await client.exited;
    await Promise.all([clientOut, clientErr]);
    if (code !== 0) problems.push(`client exited with ${code}`);
    // The server finishes once its connections close; give it a moment, then make sure.
    const grace = setTimeout(() => server.kill(9), 3000);
    await server.exited;
    clearTimeout(grace);
  }
  const serverCode = await server.exited;
  await serverErr;
  clearTimeout(killer);
  if (serverCode !== 0) problems.push(`server exited with ${serverCode}`);

  const s = results.server;
  const c = results.client;
  if (unsupported !== undefined) {
    // A process refused before any traffic (its exit code and the missing results follow from it): nothing to measure.
    problems.length = 0;
    problems.push(`unsupported: ${unsupported}`);
  } else {
    if (!s) problems.push("no server result");
    if (!c) problems.push("no client result");
  }
  const values: Record<string, number> = {};
  if (s && c) {
    problems.push(...verify(cfg, c, s));
    for (const m of scenario.metrics) values[m.key] = m.value(c, s);
  }
  const cpu = samples.start && samples.end ? between(samples.start, samples.end) : undefined;
  if (!cpu && unsupported === undefined) problems.push("no CPU samples (window markers missing)");
  let senderUsPerMsg = Number.NaN;
  let receiverUsPerMsg = Number.NaN;
  if (cpu && s && c && scenario.perMessage) {
    const n = scenario.perMessage.count(c, s);
    const [sender, receiver] = scenario.perMessage.sender === "client" ? [cpu.clientMs, cpu.serverMs] : [cpu.serverMs, cpu.clientMs];
    senderUsPerMsg = (sender * 1000) / n;
    receiverUsPerMsg = (receiver * 1000) / n;
  }
  const ok = problems.length === 0;
  const otherCpuPct = cpu?.otherCpuPct ?? Number.NaN;
  const stealPct = cpu?.stealPct ?? Number.NaN;
  return {
    runtime,
    scenario: scenario.name,
    impl,
    rep,
    attempt,
    ok,
    ...(unsupported !== undefined ? { unsupported } : {}),
    // Stolen time (the hypervisor running someone else on our vCPUs) disturbs a run like a busy neighbour process.
    noisy: ok && !(otherCpuPct + stealPct <= opts.noisePct),
    discarded: false,
    problems,
    values,
    serverCpuPct: cpu?.serverCpuPct ?? Number.NaN,
    clientCpuPct: cpu?.clientCpuPct ?? Number.NaN,
    senderUsPerMsg,
    receiverUsPerMsg,
    otherCpuPct,
    stealPct,
    idleBeforePct,
    windowMs: cpu?.windowMs ?? Number.NaN,
    server: s,
    client: c,
    stderr: stderr.slice(0, 4000),
  };
}
