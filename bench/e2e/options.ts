/**
 * End-to-end benchmark driver: raw runtime sockets (the ceiling) vs framewire, two processes per
 * run, on Bun, Node and Deno (both processes of a run use the same runtime).
 *
 *   ./node_modules/.bin/bun bench/e2e/run.ts [options]      (Node needs `npm run build` first)
 *
 * Options (defaults in brackets):
 *   --runtimes=a,b     bun,node,deno [all]; each runtime runs every scenario against its own raw
 *                      sockets: Bun.listen/connect (raw.ts), node:net (raw-node.ts), Deno.listen/
 *                      connect (raw-deno.ts); framewire through that runtime's public entry
 *   --scenarios=a,b    oneway64,oneway64k,oneway1m,pingpong,pingpong1cpu,conns64,conns1000,
 *                      idle1000,broadcast1000 [all]
 *   --impls=a,b        raw,rawblock,fw,fwraw,fwresume,fwrate,fwnative,zmq,rawtls,fwtls; raw = hand-written framing on the runtime's
 *                      sockets, rawblock = raw with one pre-encoded block written over and over
 *                      (one-way only), fw = framewire protocol "framewire", fwraw = framewire
 *                      protocol "raw", fwresume = framewire with resume on (oneway64 by default), fwrate = framewire with a rateLimit that never binds, fwnative = fw through framewire/native (npm run build:native first), zmq = ZeroMQ.js (Node only, one-way and conns; installed on demand
 *                      into bench/zeromq/). Default: raw,fw (+fwraw on Bun) for the original
 *                      scenarios; + rawblock for oneway64; + zmq on Node for oneway64 and
 *                      conns1000; raw,fw for the 1000-connection ones. An explicit list applies
 *                      to every runtime and scenario that implementation supports.
 *                      TLS (explicit only; one-way, ping-pong, conns): rawtls = raw over the
 *                      runtime's TLS sockets (Bun.listen/connect tls, node:tls, Deno.listenTls /
 *                      startTls), fwtls = fw with framewire's `tls` option; the PKI is generated at
 *                      start (python3 test/fixtures/tls_material.py). Where the adapter has no TLS,
 *                      fwtls is reported "unsupported" (FW_UNSUPPORTED), not failed
 *   --reps=N           runs per scenario and implementation [3]; the median is reported
 *   --duration=S       measurement window of the throughput scenarios, seconds [3 on Bun, 2 on
 *                      Node and Deno; 1 for the 1000-connection scenarios]; an explicit value
 *                      applies to every runtime and scenario
 *   --warmup=S         time before the window opens, seconds [1; 0.5 for the 1000-connection
 *                      scenarios]; an explicit value applies to every scenario
 *   --rounds=N         measured ping-pong round trips [20000], after --warmup-rounds=N [2000]
 *   --conns=N          connections of the conns64 scenario [64]
 *   --noise=PCT        discard (and retry) a run when other processes plus stolen time (VM steal)
 *                      took more than PCT% of one core during its window [25]
 *   --retries=N        retries per discarded run [2]; after that, or once --budget is spent, a
 *                      noisy run is kept and flagged (counted under the table)
 *   --budget=S         extra time allowed for reruns and for waiting for quiet, seconds [120]
 *   --quiet-wait=S     before each run, wait up to S seconds for the machine to be idle [10]
 *   --out=DIR          where latest.md / latest.json go [bench/results]; --no-write to skip
 *   --pin              pin the server process to CPU 0 and the client to CPU 1 (taskset); less
 *                      run-to-run variance from scheduling, but not how processes usually run
 *   --cpu-prof         profile both processes of every run into DIR/profiles/ (Bun: --cpu-prof
 *                      --cpu-prof-md; Node: --cpu-prof; Deno: --v8-flags=--prof, an isolate log for
 *                      `node --prof-process`); profiling slows the processes: numbers are relative
 *   --help             this text
 */
import { readFileSync } from "node:fs";
import type { Impl } from "./common.ts";
import { IMPLS, implsFor, RUNTIME_DURATION_S, RUNTIMES, type Runtime, type Scenario, SCENARIOS } from "./scenarios.ts";

const KNOWN = new Set(["runtimes", "scenarios", "impls", "reps", "duration", "warmup", "rounds", "warmup-rounds", "conns", "noise", "retries", "quiet-wait", "out", "no-write", "help", "cpu-prof", "pin", "budget"]);

export function parseArgs(argv: string[]) {
  const o: Record<string, string> = {};
  for (const a of argv) {
    if (!a.startsWith("--")) throw new Error(`unknown argument ${a}`);
    const [k, v] = a.slice(2).split("=", 2) as [string, string | undefined];
    o[k] = v ?? "true";
  }
  const num = (k: string, d: number) => {
    const v = o[k] === undefined ? d : Number(o[k]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${k} must be a non-negative number`);
    return v;
  };
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new Error(`unknown option --${k} (see --help)`);
  const scenarios = (o.scenarios ?? SCENARIOS.map((s) => s.name).join(",")).split(",").map((name) => {
    const s = SCENARIOS.find((x) => x.name === name);
    if (!s) throw new Error(`unknown scenario ${name}; known: ${SCENARIOS.map((x) => x.name).join(", ")}`);
    return s;
  });
  const impls = o.impls?.split(",").map((i) => {
    if (!IMPLS.includes(i as Impl)) throw new Error(`unknown impl ${i}; known: ${IMPLS.join(", ")}`);
    return i as Impl;
  });
  const runtimes = (o.runtimes ?? RUNTIMES.join(",")).split(",").map((r) => {
    if (!RUNTIMES.includes(r as Runtime)) throw new Error(`unknown runtime ${r}; known: ${RUNTIMES.join(", ")}`);
    return r as Runtime;
  });
  const duration = o.duration === undefined ? undefined : num("duration", 3) * 1000;
  const warmup = o.warmup === undefined ? undefined : num("warmup", 1) * 1000;
  const conns = Math.max(1, Math.round(num("conns", 64)));
  return {
    help: o.help !== undefined,
    runtimes,
    scenarios,
    /** The explicit --impls list, if any. */
    impls,
    /** Implementations of a scenario on a runtime (an explicit --impls applies to all that support it). */
    implsOf: (r: Runtime, s: Scenario): Impl[] => implsFor(r, s, impls),
    reps: Math.max(1, Math.round(num("reps", 3))),
    /** Measurement window of a scenario on a runtime. */
    durationOf: (r: Runtime, s: Scenario): number => duration ?? s.durationMs ?? RUNTIME_DURATION_S[r] * 1000,
    warmupOf: (s: Scenario): number => warmup ?? s.warmupMs ?? 1000,
    connsOf: (s: Scenario): number => s.conns ?? conns,
    conns,
    rounds: Math.max(1, Math.round(num("rounds", 20000))),
    warmupRounds: Math.round(num("warmup-rounds", 2000)),
    noisePct: num("noise", 25),
    retries: Math.round(num("retries", 2)),
    budgetMs: num("budget", 120) * 1000,
    quietWaitMs: num("quiet-wait", 10) * 1000,
    out: o.out ?? "bench/results",
    write: o["no-write"] === undefined,
    cpuProf: o["cpu-prof"] !== undefined,
    pin: o.pin !== undefined,
  };
}

export type Options = ReturnType<typeof parseArgs>;

/** The comment at the top of this file. */
export function helpText(): string {
  const src = readFileSync(new URL(import.meta.url).pathname, "utf8");
  return src.slice(src.indexOf("/**") + 3, src.indexOf("*/")).replace(/^ \* ?/gm, "");
}
