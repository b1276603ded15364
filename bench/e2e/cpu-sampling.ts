/**
 * CPU accounting from /proc: both processes' user+system time (all threads) and the machine's
 * busy and stolen time, sampled by the driver when a window marker arrives; and the wait for a
 * quiet machine before each run.
 */
import { readFileSync } from "node:fs";

const TICK_MS = 10; // USER_HZ = 100 on Linux

export interface MachineCpu {
  /** user + nice + system + irq + softirq, ms summed over CPUs. */
  busy: number;
  steal: number;
  total: number;
}

function machineCpu(): MachineCpu {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] as string;
  const f = line.trim().split(/\s+/).slice(1).map(Number) as number[];
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: (user + nice + system + irq + softirq) * TICK_MS, steal: steal * TICK_MS, total: (user + nice + system + idle + iowait + irq + softirq + steal) * TICK_MS };
}

/** utime + stime of a process (all threads), ms; NaN once it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return Number.NaN;
  }
}

function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export interface CpuSample {
  t: number;
  server: number;
  client: number;
  self: number;
  machine: MachineCpu;
}

export function sample(serverPid: number, clientPid: number): CpuSample {
  return { t: performance.now(), server: processCpuMs(serverPid), client: processCpuMs(clientPid), self: selfCpuMs(), machine: machineCpu() };
}

/** What happened between two samples: per-process CPU in ms and % of one core, and the noise around them. */
export function between(a: CpuSample, b: CpuSample) {
  const windowMs = b.t - a.t;
  const serverMs = b.server - a.server;
  const clientMs = b.client - a.client;
  const mine = serverMs + clientMs + (b.self - a.self);
  return {
    windowMs,
    serverMs,
    clientMs,
    serverCpuPct: (serverMs / windowMs) * 100,
    clientCpuPct: (clientMs / windowMs) * 100,
    otherCpuPct: Math.max(0, ((b.machine.busy - a.machine.busy - mine) / windowMs) * 100),
    stealPct: ((b.machine.steal - a.machine.steal) / windowMs) * 100,
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits (up to `maxMs`) until other processes use less than `pct`/2 % of one core over 300 ms; returns the last busy %. */
export async function waitQuiet(maxMs: number, pct: number): Promise<number> {
  const until = performance.now() + maxMs;
  for (;;) {
    const a = machineCpu();
    const s0 = selfCpuMs();
    const t0 = performance.now();
    await sleep(300);
    const b = machineCpu();
    const busyPct = ((b.busy - a.busy - (selfCpuMs() - s0)) / (performance.now() - t0)) * 100;
    if (busyPct < pct / 2 || performance.now() >= until) return busyPct;
  }
}
