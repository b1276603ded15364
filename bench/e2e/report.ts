/**
 * The report: per runtime, the metrics table (medians, min–max, ratios to raw and the other
 * ceilings, targets), CPU% per process, and CPU µs per message; as Markdown and as JSON rows.
 */
import type { Impl } from "./common.ts";
import type { Options } from "./options.ts";
import type { RunRecord } from "./process-pair.ts";
import { IMPLS, implLabel, type Metric, RUNTIME_NAME, type Runtime, type Scenario, type Target, titleOf } from "./scenarios.ts";

/** framewire's sender may use at most this much more CPU per message than raw's. */
const SENDER_CPU_TARGET = 1.3;

export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const v = [...values].sort((x, y) => x - y);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
}

export function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "–";
  if (unit === "msg/s") return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(0)} k`;
  if (unit === "MB/s") return value.toFixed(0);
  if (unit === "µs" || unit === "KiB") return value.toFixed(1);
  return value.toPrecision(3);
}

interface Cell {
  median: number;
  min: number;
  max: number;
  n: number;
}

function cell(values: number[]): Cell {
  const v = values.filter(Number.isFinite);
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length };
}

const ratioText = (r: number, paired: number[]): string =>
  !Number.isFinite(r) ? "–" : paired.length > 1 ? `${r.toFixed(2)}× (${Math.min(...paired).toFixed(2)}–${Math.max(...paired).toFixed(2)})` : `${r.toFixed(2)}×`;

/** One runtime's section. */
function section(opts: Options, runtime: Runtime, allRecords: RunRecord[], version: string) {
  const records = allRecords.filter((r) => r.runtime === runtime);
  const accepted = (scenario: string, impl: Impl) => records.filter((r) => r.scenario === scenario && r.impl === impl && r.ok && !r.discarded);
  const ranIn = (s: Scenario) => opts.implsOf(runtime, s);
  const impls = IMPLS.filter((i) => opts.scenarios.some((s) => ranIn(s).includes(i)));
  // Ratio columns: every implementation against raw, and framewire against the other ceilings and peers.
  const pairs: [Impl, Impl][] = [
    // (fwtls against plain raw mixes two costs: it gets its own two columns below.)
    ...impls.filter((i) => i !== "raw" && i !== "fwtls" && impls.includes("raw")).map((i): [Impl, Impl] => [i, "raw"]),
    ...(["rawblock", "zmq"] as Impl[]).filter((i) => impls.includes(i) && impls.includes("fw")).map((i): [Impl, Impl] => ["fw", i]),
    // What resumable sessions cost: the same framewire with resume on, against it off.
    ...(impls.includes("fwresume") && impls.includes("fw") ? [["fwresume", "fw"] as [Impl, Impl]] : []),
    // The native path against the runtime's own sockets, both through framewire.
    ...(impls.includes("fwnative") && impls.includes("fw") ? [["fwnative", "fw"] as [Impl, Impl]] : []),
    // What a rate limit that does not bind costs.
    ...(impls.includes("fwrate") && impls.includes("fw") ? [["fwrate", "fw"] as [Impl, Impl]] : []),
    // TLS: framewire over TLS against the raw TLS ceiling, and against itself in plain TCP (what TLS costs it).
    ...(["rawtls", "fw"] as Impl[]).filter((i) => impls.includes("fwtls") && impls.includes(i)).map((i): [Impl, Impl] => ["fwtls", i]),
  ];
  // Implementations the runtime refused (FW_UNSUPPORTED), with the first reason.
  const refused = new Map<Impl, string>();
  for (const r of records) if (r.unsupported !== undefined && !refused.has(r.impl)) refused.set(r.impl, r.unsupported);
  const label = (i: Impl) => implLabel(runtime, i);
  const rows: Record<string, unknown>[] = [];
  const header = ["scenario", "metric", ...impls.map(label), ...pairs.map(([a, b]) => `${a}/${b}`), "targets (framewire)"];
  const lines = [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i < 2 ? "---" : "---:")).join("|")}|`];
  const cpuLines = [`| scenario | ${impls.map((i) => `${label(i)}: server / client CPU%`).join(" | ")} |`, `|---|${impls.map(() => "---:").join("|")}|`];
  const perMsgLines = [
    `| scenario | ${impls.map((i) => `${label(i)}: sender / receiver µs`).join(" | ")} | fw/raw sender | target |`,
    `|---|${impls.map(() => "---:").join("|")}|---:|---:|`,
  ];

  for (const scenario of opts.scenarios) {
    const ran = ranIn(scenario);
    if (ran.length === 0) continue;
    const title = titleOf(scenario, opts.conns);
    for (const m of scenario.metrics) {
      const cells = Object.fromEntries(ran.map((i) => [i, cell(accepted(scenario.name, i).map((r) => r.values[m.key] as number))])) as Partial<Record<Impl, Cell>>;
      const ratio = (a: Impl, b: Impl): number => (cells[a]?.median ?? Number.NaN) / (cells[b]?.median ?? Number.NaN);
      // Paired ratios: a against b in the same repetition (they ran back to back).
      const paired = (a: Impl, b: Impl): number[] => {
        const out: number[] = [];
        for (let rep = 1; rep <= opts.reps; rep++) {
          const x = accepted(scenario.name, a).find((r) => r.rep === rep)?.values[m.key];
          const y = accepted(scenario.name, b).find((r) => r.rep === rep)?.values[m.key];
          if (x !== undefined && y !== undefined && Number.isFinite(x / y)) out.push(x / y);
        }
        return out;
      };
      const shown = impls.map((i) => {
        const c = cells[i];
        if (refused.has(i) && ran.includes(i)) return "unsupported";
        return !c || c.n === 0 ? "–" : `${fmt(c.median, m.unit)} (${fmt(c.min, m.unit)}–${fmt(c.max, m.unit)})${c.n < opts.reps ? ` n=${c.n}` : ""}`;
      });
      const targets = (m.targets ?? []).map((t) => targetText(t, m, runtime, cells)).filter((t) => t !== "");
      lines.push(`| ${[title, m.label, ...shown, ...pairs.map(([a, b]) => ratioText(ratio(a, b), paired(a, b))), targets.join("; ")].join(" | ")} |`);
      rows.push({
        runtime,
        scenario: scenario.name,
        metric: m.key,
        unit: m.unit,
        better: m.better,
        targets: m.targets,
        cells,
        ratios: Object.fromEntries(pairs.map(([a, b]) => [`${a}/${b}`, ratio(a, b)])),
        pairedRatios: Object.fromEntries(pairs.map(([a, b]) => [`${a}/${b}`, paired(a, b)])),
      });
    }
    const cpuCells = impls.map((i) => {
      const rs = accepted(scenario.name, i);
      if (rs.length === 0) return "–";
      return `${median(rs.map((r) => r.serverCpuPct)).toFixed(0)} / ${median(rs.map((r) => r.clientCpuPct)).toFixed(0)}`;
    });
    cpuLines.push(`| ${title} | ${cpuCells.join(" | ")} |`);
    if (scenario.perMessage) {
      const us = (i: Impl, side: "senderUsPerMsg" | "receiverUsPerMsg") => median(accepted(scenario.name, i).map((r) => r[side]).filter(Number.isFinite));
      const usCells = impls.map((i) => (ran.includes(i) && accepted(scenario.name, i).length > 0 ? `${us(i, "senderUsPerMsg").toFixed(3)} / ${us(i, "receiverUsPerMsg").toFixed(3)}` : "–"));
      const senderRatio = us("fw", "senderUsPerMsg") / us("raw", "senderUsPerMsg");
      const verdict = Number.isFinite(senderRatio) ? (senderRatio <= SENDER_CPU_TARGET ? "**met**" : "**missed**") : "";
      const who = scenario.perMessage.sender === "client" ? "" : " (sender: server)";
      perMsgLines.push(`| ${title}${who} | ${usCells.join(" | ")} | ${Number.isFinite(senderRatio) ? `${senderRatio.toFixed(2)}×` : "–"} | ≤ ${SENDER_CPU_TARGET.toFixed(2)}× ${verdict} |`);
    }
  }
  const failed = records.filter((r) => !r.ok && r.unsupported === undefined);
  const discarded = records.filter((r) => r.discarded);
  const keptNoisy = records.filter((r) => r.noisy && !r.discarded);
  const windows = [...new Set(opts.scenarios.map((s) => `${opts.durationOf(runtime, s) / 1000} s after ${opts.warmupOf(s) / 1000} s warm-up`))];
  const tlsNote = impls.some((i) => i === "rawtls" || i === "fwtls")
    ? [
        "TLS rows: the server presents a certificate for 127.0.0.1 from a PKI generated at start (test/fixtures/tls_material.py, EC P-256); the client verifies chain and IP; no client certificate. The handshake is outside the window.",
        "",
      ]
    : [];
  const md = [
    `#### ${RUNTIME_NAME[runtime]} ${version}`,
    "",
    `Both processes on ${RUNTIME_NAME[runtime]}, 127.0.0.1; ` +
      `medians of ${opts.reps} runs (min–max); windows: ${windows.join(", ")} (the 1000-connection scenarios: the short ones); ` +
      `ping-pong: ${opts.rounds} round trips after ${opts.warmupRounds}. Implementations alternate within each repetition.`,
    "",
    ...tlsNote,
    ...lines,
    "",
    "Ratios are median ÷ median; in brackets, the range of the per-repetition ratios (the two implementations in the same repetition). For latency and memory, lower is better.",
    "",
    "CPU% of one core per process during the measurement window (medians; the receiver is the server in one-way scenarios, the client measures the rest; idle: the memory sampling period):",
    "",
    ...cpuLines,
    "",
    "CPU µs per message (medians): each process's CPU time over the window ÷ messages counted in the window (one-way: received; conns: round trips, sender = the requesting client, receiver = the echoing server; broadcast: deliveries, sender = the server):",
    "",
    ...perMsgLines,
    "",
    `Runs: ${records.length} total; ${discarded.length} discarded and rerun because other processes plus VM steal took > ${opts.noisePct}% of a core during the window; ` +
      `${keptNoisy.length} kept although noisy (retries or time budget exhausted); ${failed.length} failed verification or did not finish. ` +
      `Every accepted run received exactly the messages sent, in order, with the right lengths.`,
    ...keptNoisy.map((r) => `- noisy but kept: ${r.scenario}/${r.impl} rep ${r.rep} (other processes ${r.otherCpuPct.toFixed(0)}%, steal ${r.stealPct.toFixed(0)}% of a core)`),
    ...failed.map((r) => `- FAILED ${r.scenario}/${r.impl} rep ${r.rep}: ${r.problems.join("; ")}`),
    ...[...refused].map(([impl, why]) => `- ${impl} (${label(impl)}) is unsupported on ${RUNTIME_NAME[runtime]} ${version}: ${why}`),
    "",
  ].join("\n");
  return { md, rows };
}

function targetText(t: Target, m: Metric, runtime: Runtime, cells: Partial<Record<Impl, Cell>>): string {
  const fw = cells.fw?.median ?? Number.NaN;
  const verdict = (met: boolean, value: number) => (Number.isFinite(value) ? (met ? "**met**" : "**missed**") : "");
  switch (t.kind) {
    case "ratio": {
      if (t.runtimes && !t.runtimes.includes(runtime)) return "";
      const left = t.impl ?? "fw";
      if (!cells[t.vs] || !cells[left]) return "";
      const r = (cells[left]?.median ?? Number.NaN) / (cells[t.vs]?.median ?? Number.NaN);
      const op = m.better === "higher" ? "≥" : "≤";
      return `${left}/${t.vs} ${op} ${t.limit.toFixed(2)}× ${verdict(m.better === "higher" ? r >= t.limit : r <= t.limit, r)}`;
    }
    case "difference": {
      if (!cells[t.vs]) return "";
      const d = fw - (cells[t.vs]?.median ?? Number.NaN);
      return `fw − ${t.vs} = ${Number.isFinite(d) ? `${d >= 0 ? "+" : ""}${fmt(d, m.unit)}` : "–"} ${m.unit} (≤ ${t.limit}) ${verdict(d <= t.limit, d)}`;
    }
    case "absolute":
      return `≥ ${fmt(t.limit[runtime], m.unit)} ${verdict(fw >= t.limit[runtime], fw)}`;
  }
}

export interface Meta {
  date: string;
  versions: Record<Runtime, string>;
  cpuModel: string;
  cpus: number;
  kernel: string;
}

export function buildReport(opts: Options, records: RunRecord[], meta: Meta) {
  const sections = opts.runtimes.map((r) => section(opts, r, records, meta.versions[r]));
  const md = [
    `### framewire e2e benchmark — ${meta.date}`,
    "",
    `${meta.cpuModel} × ${meta.cpus}, Linux ${meta.kernel}; ${opts.runtimes.map((r) => `${RUNTIME_NAME[r]} ${meta.versions[r]}`).join(", ")}. ` +
      `Two processes per run, both on the runtime of the table. Implementations alternate within each repetition; runtimes run one after the other. ` +
      `Targets are framewire's (judge latency by the pinned "both on CPU 0" row).`,
    "",
    ...sections.map((x) => x.md),
  ].join("\n");
  return { md, rows: sections.flatMap((x) => x.rows) };
}
