/**
 * Server memory for the idle scenario, on every runtime: forced GC (Bun.gc(true); Node
 * `--expose-gc` and Deno `--v8-flags=--expose-gc` give `globalThis.gc`, the driver passes the
 * flag), then the median of a few `process.memoryUsage()` samples with short sleeps between.
 *
 * The clients open `conns` connections, pause `IDLE_PAUSE_MS`, then open `conns` more; the server
 * measures before any, at `conns` and at 2 × `conns` (`IdleMeter`). The first step (0 → conns)
 * includes one-off growth of the JS heap during the burst of handshakes (V8's new space grows and
 * is not returned, JSC likewise); the second (conns → 2 × conns) is the marginal cost of a
 * connection.
 */
import { emit } from "./common.ts";

declare const Bun: { gc(force: boolean): void } | undefined;

export interface MemorySample {
  rss: number;
  heapUsed: number;
}

function forceGc(): void {
  if (typeof Bun !== "undefined") {
    Bun.gc(true);
    return;
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") throw new Error("no globalThis.gc: run Node with --expose-gc, Deno with --v8-flags=--expose-gc");
  gc();
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] as number;

/** Median over `samples` of (GC, sleep, read): the RSS and heap this process settles at. */
export async function settledMemory(samples = 5, pauseMs = 60): Promise<MemorySample> {
  const rss: number[] = [];
  const heap: number[] = [];
  for (let i = 0; i < samples; i++) {
    forceGc();
    await sleep(pauseMs);
    const m = process.memoryUsage();
    rss.push(m.rss);
    heap.push(m.heapUsed);
  }
  return { rss: median(rss), heapUsed: median(heap) };
}

/**
 * The clients' pause between their two batches of connections: longer than the server's first
 * measurement (`measureIdle`: 300 ms settle + 5 × (forced GC + 60 ms)), which `IdleMeter`
 * checks — a connection arriving during it fails the run.
 */
export const IDLE_PAUSE_MS = 1500;

/** Connections the idle clients open in all: two batches of `conns`. */
export const idleConnections = (conns: number): number => 2 * conns;

/**
 * The idle server's measurements: `connected()` on every new connection (framewire: every
 * `connection` event, i.e. completed handshake); at `conns` it measures (inside the window
 * markers), at 2 × `conns` again, then `done` resolves. A connection that arrives while the
 * first measurement runs (the clients' pause was too short) is recorded as `overlap` and fails
 * the run, rather than lets the second batch leak into the first figure.
 */
export class IdleMeter {
  connections = 0;
  overlap: string | undefined;
  readonly done: Promise<void>;
  #first: MemorySample | undefined;
  #second: MemorySample | undefined;
  #measuring = false;
  #firstDone: Promise<void> | undefined;
  #resolve!: () => void;
  readonly #conns: number;

  constructor(conns: number) {
    this.#conns = conns;
    this.done = new Promise<void>((r) => (this.#resolve = r));
  }

  connected(): void {
    const n = ++this.connections;
    if (this.#measuring) {
      this.overlap ??=
        `connection ${n} arrived before the measurement at ${this.#conns} connections finished (overlap: the clients' ` +
        `IDLE_PAUSE_MS = ${IDLE_PAUSE_MS} ms is too short for this server; the marginal figure would be wrong)`;
    }
    if (n === this.#conns) {
      this.#measuring = true;
      this.#firstDone = measureIdle().then((m) => {
        this.#first = m;
        this.#measuring = false;
      });
    } else if (n === idleConnections(this.#conns)) {
      void (this.#firstDone as Promise<void>)
        .then(() => measureIdle(300, false))
        .then((m) => {
          this.#second = m;
          this.#resolve();
        });
    }
  }

  /** The server's result fields (after `done`): memory before, at `conns` and at 2 × `conns`, and what the clients sent (nothing, if all is well). */
  result(before: MemorySample, received: number, failure?: string): Record<string, unknown> {
    const first = this.#first as MemorySample;
    const second = this.#second as MemorySample;
    const problems = [this.overlap, failure, received === 0 ? undefined : `the idle clients sent ${received} bytes/messages`].filter((p) => p !== undefined);
    return {
      role: "server",
      connections: this.connections,
      firstAt: this.#conns,
      secondAt: idleConnections(this.#conns),
      received,
      rssBefore: before.rss,
      rssAfter: first.rss,
      rssAfter2: second.rss,
      heapBefore: before.heapUsed,
      heapAfter: first.heapUsed,
      heapAfter2: second.heapUsed,
      overlap: this.overlap !== undefined,
      errors: problems.length,
      firstError: problems.join("; ") || undefined,
    };
  }
}

/** Opens `idleConnections(conns)` connections with `open`, one after the other: `conns`, a pause of `IDLE_PAUSE_MS` (the server measures), `conns` more. */
export async function openIdleBatches(conns: number, open: () => Promise<void>): Promise<number> {
  for (let c = 0; c < conns; c++) await open();
  await sleep(IDLE_PAUSE_MS);
  for (let c = 0; c < conns; c++) await open();
  return idleConnections(conns);
}

/**
 * Lets the connections settle (handshake tails, timers), then measures; with `markers`, inside
 * window markers so the driver also sees the CPU of the idle period (the first measurement only:
 * the driver keeps one window per run).
 */
export async function measureIdle(settleMs = 300, markers = true): Promise<MemorySample> {
  await sleep(settleMs);
  if (markers) emit("window-start");
  const after = await settledMemory();
  if (markers) emit("window-end");
  return after;
}

/** The idle clients' result: connections opened, and what they received (nothing, if all is well). */
export function idleClientResult(connected: number, received: number, failure: string | undefined): Record<string, unknown> {
  return {
    role: "client",
    connected,
    received,
    errors: failure || received ? 1 : 0,
    firstError: failure ?? (received ? `${received} unexpected bytes or messages` : undefined),
  };
}
