/**
 * What the e2e benchmark runs: the scenario table (traffic, metrics, targets), the runtimes, and
 * which implementations run where by default.
 */
import type { Impl, Kind } from "./common.ts";
import { IDLE_PAUSE_MS, idleConnections } from "./memory.ts";

export type Runtime = "bun" | "node" | "deno";
export const RUNTIMES: Runtime[] = ["bun", "node", "deno"];
export const RUNTIME_NAME: Record<Runtime, string> = { bun: "Bun", node: "Node", deno: "Deno" };
/** Column order of the report. */
export const IMPLS: Impl[] = ["raw", "rawblock", "fw", "fwraw", "fwresume", "fwrate", "fwnative", "zmq", "rawtls", "fwtls"];
/** Implementations of a scenario that sets no `defaultImpls`. */
const RUNTIME_IMPLS: Record<Runtime, Impl[]> = { bun: ["raw", "fw", "fwraw"], node: ["raw", "fw"], deno: ["raw", "fw"] };
/** Window of the scenarios that set none (shorter on Node and Deno so a default run stays short). */
export const RUNTIME_DURATION_S: Record<Runtime, number> = { bun: 3, node: 2, deno: 2 };

/** A process's last JSON line (`result`). */
export type Result = Record<string, unknown> & { event: string };

/** A goal for framewire (impl "fw"), judged on medians. */
export type Target =
  /** fw / vs ≥ limit (or ≤ for lower-is-better metrics); `impl` replaces fw on the left. */
  | { kind: "ratio"; vs: Impl; limit: number; runtimes?: Runtime[]; impl?: Impl }
  /** fw − vs ≤ limit, in the metric's unit (lower is better). */
  | { kind: "difference"; vs: Impl; limit: number }
  /** fw ≥ limit on that runtime. */
  | { kind: "absolute"; limit: Record<Runtime, number> };

export interface Metric {
  key: string;
  label: string;
  unit: string;
  better: "higher" | "lower";
  targets?: Target[];
  value: (client: Result, server: Result) => number;
}

export interface Scenario {
  name: string;
  kind: Kind;
  size: number;
  title: string;
  /** Pin both processes to CPU 0 (no cross-CPU wake-ups: the software path's latency). */
  sameCpu?: boolean;
  /** Connections (conns, idle, broadcast); unset: --conns. */
  conns?: number;
  /** Window and warm-up of this scenario unless --duration / --warmup are given; unset: the runtime's. */
  durationMs?: number;
  warmupMs?: number;
  /** Extra time the processes may take to set up (1,000 connections take a few seconds). */
  setupMs?: number;
  /** Implementations run by default, per runtime; unset: the runtime's default. */
  defaultImpls?: Record<Runtime, Impl[]>;
  /** CPU per message over the window: which process sends, and how many messages the window counted. */
  perMessage?: { sender: "client" | "server"; count: (client: Result, server: Result) => number };
  metrics: Metric[];
}

const num = (r: Result, key: string): number => r[key] as number;
const serverCount = (_c: Result, s: Result): number => num(s, "windowCount");
const clientCount = (c: Result): number => num(c, "windowCount");
const KiB = 1024;
const CONNS_MANY = 1000;
/** The 1,000-connection scenarios: short windows (aggregate rates over 1,000 connections settle fast) and no fwraw, to keep a full run short. */
const MANY = { conns: CONNS_MANY, warmupMs: 500, durationMs: 1000, setupMs: 20_000 } as const;

const PINGPONG_METRICS: Metric[] = [
  { key: "p50", label: "RTT p50 µs", unit: "µs", better: "lower", targets: [{ kind: "ratio", vs: "raw", limit: 1.15 }], value: (c) => num(c, "p50us") },
  { key: "p99", label: "RTT p99 µs", unit: "µs", better: "lower", value: (c) => num(c, "p99us") },
];
/** The pinned row is the one the latency targets judge (no cross-CPU wake-ups): p99 too. */
const PINNED_PINGPONG_METRICS: Metric[] = [
  PINGPONG_METRICS[0] as Metric,
  { ...(PINGPONG_METRICS[1] as Metric), targets: [{ kind: "ratio", vs: "raw", limit: 1.3 }] },
];

export const SCENARIOS: Scenario[] = [
  {
    name: "oneway64",
    kind: "oneway",
    size: 64,
    title: "one-way 64 B",
    defaultImpls: { bun: ["raw", "rawblock", "fw", "fwraw", "fwresume"], node: ["raw", "rawblock", "fw", "fwresume", "zmq"], deno: ["raw", "rawblock", "fw", "fwresume"] },
    perMessage: { sender: "client", count: serverCount },
    metrics: [
      {
        key: "msgs",
        label: "msg/s",
        unit: "msg/s",
        better: "higher",
        targets: [
          { kind: "ratio", vs: "raw", limit: 0.85 },
          { kind: "ratio", vs: "rawblock", limit: 0.8, runtimes: ["bun", "deno"] },
          { kind: "ratio", vs: "zmq", limit: 1 },
          { kind: "ratio", vs: "fw", limit: 0.85, impl: "fwresume" },
          // A rate limit that does not bind costs at most 5% (issue 9).
          { kind: "ratio", vs: "fw", limit: 0.95, impl: "fwrate" },
        ],
        value: (_c, s) => num(s, "rate"),
      },
    ],
  },
  {
    name: "oneway64k",
    kind: "oneway",
    size: 64 * KiB,
    title: "one-way 64 KiB",
    perMessage: { sender: "client", count: serverCount },
    metrics: [{ key: "mbps", label: "MB/s", unit: "MB/s", better: "higher", targets: [{ kind: "ratio", vs: "raw", limit: 0.9 }], value: (_c, s) => (num(s, "rate") * 64 * KiB) / 1e6 }],
  },
  {
    name: "oneway1m",
    kind: "oneway",
    size: KiB * KiB,
    title: "one-way 1 MiB",
    perMessage: { sender: "client", count: serverCount },
    metrics: [{ key: "mbps", label: "MB/s", unit: "MB/s", better: "higher", targets: [{ kind: "ratio", vs: "raw", limit: 0.9 }], value: (_c, s) => (num(s, "rate") * KiB * KiB) / 1e6 }],
  },
  {
    name: "pingpong",
    kind: "pingpong",
    size: 64,
    title: "ping-pong 64 B",
    metrics: PINGPONG_METRICS,
  },
  {
    name: "pingpong1cpu",
    kind: "pingpong",
    size: 64,
    title: "ping-pong 64 B, both on CPU 0",
    sameCpu: true,
    metrics: PINNED_PINGPONG_METRICS,
  },
  {
    name: "conns64",
    kind: "conns",
    size: 64,
    title: "N conns × 1 in flight, 64 B",
    perMessage: { sender: "client", count: clientCount },
    metrics: [{ key: "msgs", label: "msg/s", unit: "msg/s", better: "higher", targets: [{ kind: "ratio", vs: "raw", limit: 0.85 }], value: (c) => num(c, "rate") }],
  },
  {
    name: "conns1000",
    kind: "conns",
    size: 64,
    title: "1000 conns × 1 in flight, 64 B",
    ...MANY,
    defaultImpls: { bun: ["raw", "fw"], node: ["raw", "fw", "zmq"], deno: ["raw", "fw"] },
    perMessage: { sender: "client", count: clientCount },
    metrics: [
      {
        key: "msgs",
        label: "msg/s",
        unit: "msg/s",
        better: "higher",
        targets: [
          { kind: "ratio", vs: "raw", limit: 0.85 },
          { kind: "ratio", vs: "zmq", limit: 1 },
        ],
        value: (c) => num(c, "rate"),
      },
    ],
  },
  {
    name: "idle1000",
    kind: "idle",
    size: 64,
    title: `${CONNS_MANY} then ${idleConnections(CONNS_MANY)} idle conns, server memory`,
    ...MANY,
    // Twice the connections, and the clients' pause between the two batches.
    setupMs: 2 * MANY.setupMs + IDLE_PAUSE_MS,
    defaultImpls: { bun: ["raw", "fw"], node: ["raw", "fw"], deno: ["raw", "fw"] },
    metrics: [
      {
        key: "rssPerConn",
        label: `RSS KiB/conn at ${CONNS_MANY} (0→${CONNS_MANY}, incl. one-off heap growth)`,
        unit: "KiB",
        better: "lower",
        targets: [{ kind: "difference", vs: "raw", limit: 4 }],
        value: (_c, s) => (num(s, "rssAfter") - num(s, "rssBefore")) / KiB / num(s, "firstAt"),
      },
      {
        key: "heapPerConn",
        label: `heap KiB/conn at ${CONNS_MANY} (0→${CONNS_MANY})`,
        unit: "KiB",
        better: "lower",
        value: (_c, s) => (num(s, "heapAfter") - num(s, "heapBefore")) / KiB / num(s, "firstAt"),
      },
      {
        key: "rssMarginal",
        label: `marginal RSS KiB/conn (${CONNS_MANY}→${idleConnections(CONNS_MANY)})`,
        unit: "KiB",
        better: "lower",
        targets: [{ kind: "difference", vs: "raw", limit: 4 }],
        value: (_c, s) => (num(s, "rssAfter2") - num(s, "rssAfter")) / KiB / (num(s, "secondAt") - num(s, "firstAt")),
      },
      {
        key: "heapMarginal",
        label: `marginal heap KiB/conn (${CONNS_MANY}→${idleConnections(CONNS_MANY)})`,
        unit: "KiB",
        better: "lower",
        value: (_c, s) => (num(s, "heapAfter2") - num(s, "heapAfter")) / KiB / (num(s, "secondAt") - num(s, "firstAt")),
      },
    ],
  },
  {
    name: "broadcast1000",
    kind: "broadcast",
    size: 64,
    title: "broadcast 64 B to 1000 conns",
    ...MANY,
    defaultImpls: { bun: ["raw", "fw"], node: ["raw", "fw"], deno: ["raw", "fw"] },
    perMessage: { sender: "server", count: clientCount },
    metrics: [
      {
        key: "deliveries",
        label: "deliveries/s",
        unit: "msg/s",
        better: "higher",
        targets: [{ kind: "absolute", limit: { bun: 2.5e6, node: 1.5e6, deno: 1.5e6 } }],
        value: (c) => num(c, "rate"),
      },
    ],
  },
];

/**
 * Whether an implementation exists for a kind of traffic on a runtime. ZeroMQ.js is Node only:
 * under Bun 1.4.5 the process aborts (SIGABRT) as soon as it binds, and under Deno 2.9 one-way
 * works but 1000 DEALER sockets hang. The TLS impls cover one or a few connections (one-way,
 * ping-pong, conns), not the 1000-connection idle and broadcast scenarios.
 */
export function supports(impl: Impl, kind: Kind, runtime: Runtime): boolean {
  if (impl === "rawblock") return kind === "oneway";
  if (impl === "rawtls" || impl === "fwtls") return kind === "oneway" || kind === "pingpong" || kind === "conns";
  if (impl === "zmq") return runtime === "node" && (kind === "oneway" || kind === "conns");
  return true;
}

/** The implementations of a scenario on a runtime: an explicit list (where it applies) or the defaults. */
export function implsFor(runtime: Runtime, scenario: Scenario, explicit: Impl[] | undefined): Impl[] {
  if (explicit) return explicit.filter((i) => supports(i, scenario.kind, runtime));
  return scenario.defaultImpls?.[runtime] ?? RUNTIME_IMPLS[runtime];
}

export function implLabel(runtime: Runtime, impl: Impl): string {
  const labels: Record<Impl, string> = {
    raw: `raw ${RUNTIME_NAME[runtime]} (ceiling)`,
    rawblock: `raw ${RUNTIME_NAME[runtime]}, one block repeated`,
    fw: "framewire",
    fwraw: "framewire protocol raw",
    fwresume: "framewire, resume on",
    fwrate: "framewire, rateLimit not binding",
    fwnative: "framewire native",
    zmq: "ZeroMQ.js",
    rawtls: `raw ${RUNTIME_NAME[runtime]} TLS`,
    fwtls: "framewire TLS",
  };
  return labels[impl];
}

/** The scenario's title with its connection count. */
export function titleOf(scenario: Scenario, conns: number): string {
  return scenario.kind === "conns" && scenario.conns === undefined ? `${conns} conns × 1 in flight, 64 B` : scenario.title;
}
