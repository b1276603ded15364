/**
 * Shared by the e2e bench processes (server.ts, client.ts) and the driver (run.ts).
 *
 * Every process prints one JSON object per line on stdout: `listening`, `window-start`,
 * `window-end`, `result`, `error`. The driver samples both processes' CPU time (/proc) when a
 * window marker arrives, so CPU% covers the same window the metric does.
 */

/**
 * raw: the runtime's sockets + hand-written framing (the ceiling); rawblock: the same receiver fed
 * one pre-encoded block written over and over (the socket's own ceiling, one-way only); fw:
 * framewire; fwraw: framewire protocol "raw"; fwresume: framewire with resumable sessions on both sides;
 * fwrate: framewire with a `rateLimit` far above what it achieves (never binds); zmq: ZeroMQ.js (bench/zeromq, one-way and conns);
 * fwnative: fw through framewire/native (the libwebsockets library, loaded by the runtime's FFI).
 * rawtls / fwtls: raw and fw over TLS (the runtime's TLS sockets; framewire's `tls` option).
 */
export type Impl = "raw" | "rawblock" | "fw" | "fwraw" | "fwresume" | "fwrate" | "fwnative" | "zmq" | "rawtls" | "fwtls";
/**
 * oneway: client → server stream; pingpong / conns: one message in flight per connection, echoed;
 * idle: connections that stay silent while the server measures its memory; broadcast: the server
 * sends every message to all connections.
 */
export type Kind = "oneway" | "pingpong" | "conns" | "idle" | "broadcast";

/** Which code runs an implementation: the runtime's raw sockets, framewire, or ZeroMQ.js. */
export function familyOf(impl: Impl): "raw" | "fw" | "zmq" {
  return impl === "raw" || impl === "rawblock" || impl === "rawtls" ? "raw" : impl === "zmq" ? "zmq" : "fw";
}

/** The implementations that run over TLS (the driver hands them `RunConfig.tls`). */
export function isTls(impl: Impl): boolean {
  return impl === "rawtls" || impl === "fwtls";
}

/** PEMs of the PKI the driver generated at start (test/fixtures/tls_material.py): the server's certificate for 127.0.0.1, and the CA the client trusts. */
export interface TlsMaterial {
  ca: string;
  cert: string;
  key: string;
}

export interface RunConfig {
  impl: Impl;
  kind: Kind;
  /** Payload bytes per message (the first 4 carry the sequence number). */
  size: number;
  host: string;
  /** Set for the client: the server's port. */
  port: number;
  /** oneway / conns: time from the first message to the start of the measurement window. */
  warmupMs: number;
  /** oneway / conns: length of the measurement window. */
  durationMs: number;
  /** conns, idle, broadcast: number of connections (conns: each with one message in flight). */
  conns: number;
  /** pingpong: measured round trips, after `warmupRounds` unmeasured ones. */
  rounds: number;
  warmupRounds: number;
  /** The process exits with code 3 after this long, whatever it is doing. */
  hardTimeoutMs: number;
  /** rawtls / fwtls: the server presents `cert`/`key`, the client verifies it against `ca` (name: 127.0.0.1). */
  tls?: TlsMaterial;
}

export const RAW_HEADER = 4;
/** Largest frame either side accepts (the receivers check every header against it). */
export const MAX_FRAME = 16 * 1024 * 1024;

/**
 * Frames in one ~64 KiB batch of the raw one-way senders; rawblock's block holds this many frames
 * with sequence numbers 0..n-1, so its receiver expects `count % n`.
 */
export function framesPerBatch(size: number): number {
  return Math.max(1, Math.floor((64 * 1024) / (RAW_HEADER + size)));
}

/** Fills `frames` u32 BE length-prefixed copies of `payload` into `batch`, numbered from `seq`. */
export function fillBatch(batch: Uint8Array, payload: Uint8Array, frames: number, seq: number): number {
  const size = payload.length;
  let at = 0;
  for (let i = 0; i < frames; i++) {
    writeU32(batch, at, size);
    batch.set(payload, at + RAW_HEADER);
    writeU32(batch, at + RAW_HEADER, seq++);
    at += RAW_HEADER + size;
  }
  return at;
}

export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** Bounds the process: exit 3 after `ms` whatever happens (the driver also kills on its own timeout). */
export function hardTimeout(ms: number, role: string): void {
  const timer = setTimeout(() => {
    emit("error", { role, message: `hard timeout after ${ms} ms` });
    process.exit(3);
  }, ms);
  (timer as { unref?: () => void }).unref?.();
}

export function parseConfig(): RunConfig {
  // The config is always the last argument (node.mjs / deno.ts take the role before it).
  const arg = process.argv.length > 2 ? process.argv[process.argv.length - 1] : undefined;
  if (arg === undefined) throw new Error("usage: bun server.ts|client.ts '<json RunConfig>'");
  return JSON.parse(arg) as RunConfig;
}

/** A payload whose bytes after the sequence number follow a pattern, so the receiver can spot-check its tail. */
export function makePayload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i & 0xff;
  return bytes;
}

export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

export function readU32(bytes: Uint8Array, at: number): number {
  return (
    (((bytes[at] as number) << 24) | ((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number)) >>>
    0
  );
}

/**
 * Checks every received message: length, sequence number (consecutive from 0), last byte. The
 * same checker runs for every implementation, so its cost is in every number alike.
 */
export class Checker {
  count = 0;
  expected = 0;
  errors = 0;
  firstError: string | undefined;
  readonly #size: number;
  readonly #last: number;
  readonly #modulo: number;

  /** With `modulo`, sequence numbers wrap to 0 there (rawblock repeats one block of `modulo` frames). */
  constructor(size: number, modulo = 0) {
    this.#size = size;
    this.#last = (size - 1) & 0xff;
    this.#modulo = modulo;
  }

  check(m: Uint8Array): void {
    const size = this.#size;
    if (m.length !== size || readU32(m, 0) !== this.expected || (size > 4 && m[size - 1] !== this.#last)) this.#fail(m);
    this.count++;
    if (++this.expected === this.#modulo) this.expected = 0;
  }

  #fail(m: Uint8Array): void {
    this.errors++;
    if (this.firstError === undefined) {
      this.firstError = `message #${this.count}: length ${m.length} (want ${this.#size}), seq ${m.length >= 4 ? readU32(m, 0) : "?"} (want ${this.expected})`;
    }
    if (m.length >= 4) this.expected = readU32(m, 0);
  }
}

/** The receiver's checker of `cfg`: rawblock's sender repeats sequence numbers 0..framesPerBatch-1. */
export function checkerFor(cfg: RunConfig): Checker {
  return new Checker(cfg.size, cfg.impl === "rawblock" ? framesPerBatch(cfg.size) : 0);
}

/** CPU time of this process in µs (user + system, all threads). */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * A measurement window in the measuring process: `start()` / `stop()` print the markers the
 * driver samples CPU at, and keep this process's own CPU% as a cross-check.
 */
export class Window {
  t0 = 0;
  t1 = 0;
  count0 = 0;
  count1 = 0;
  cpu0 = 0;
  cpu1 = 0;
  started = false;
  ended = false;

  start(count: number): void {
    this.started = true;
    this.count0 = count;
    this.cpu0 = cpuMicros();
    this.t0 = performance.now();
    emit("window-start");
  }

  stop(count: number): void {
    this.ended = true;
    this.t1 = performance.now();
    this.cpu1 = cpuMicros();
    this.count1 = count;
    emit("window-end");
  }

  get seconds(): number {
    return (this.t1 - this.t0) / 1000;
  }

  get rate(): number {
    return (this.count1 - this.count0) / this.seconds;
  }

  get selfCpuPercent(): number {
    return ((this.cpu1 - this.cpu0) / 1000 / (this.t1 - this.t0)) * 100;
  }

  /** Starts after `warmupMs`, stops `durationMs` later; `count()` reads the running count. */
  schedule(warmupMs: number, durationMs: number, count: () => number, onEnd?: () => void): void {
    setTimeout(() => {
      this.start(count());
      setTimeout(() => {
        this.stop(count());
        onEnd?.();
      }, durationMs);
    }, warmupMs);
  }

  summary(): Record<string, number> {
    return { windowSeconds: this.seconds, windowCount: this.count1 - this.count0, rate: this.rate, selfCpuPercent: this.selfCpuPercent };
  }
}

export function latency(rtts: Float64Array): Record<string, number> {
  if (rtts.length === 0) return {};
  const sorted = Float64Array.from(rtts).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50us: at(50) * 1000,
    p90us: at(90) * 1000,
    p99us: at(99) * 1000,
    p999us: at(99.9) * 1000,
    maxus: (sorted[sorted.length - 1] as number) * 1000,
    meanus: (sum / sorted.length) * 1000,
  };
}

/** Sending continues this long past the receiver's window, so the window never sees the sender stop. */
export function tailMs(cfg: RunConfig): number {
  return Math.max(750, cfg.durationMs / 4);
}

/**
 * A process's failure as its last line: FW_UNSUPPORTED (framewire refusing an option its adapter
 * cannot honour, e.g. `tls` before the runtime's TLS adapter exists) is `unsupported` (exit 4),
 * which the driver reports as such instead of a failed run; anything else is `error` (exit 2).
 */
export function failAndExit(role: string, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "FW_UNSUPPORTED") emitAndExit("unsupported", { role, message: (error as Error).message }, 4);
  else emitAndExit("error", { role, message: String(error) }, 2);
}

/** Prints the last line and exits once stdout has taken it (process.exit alone can cut a pipe write short). */
export function emitAndExit(event: string, fields: Record<string, unknown>, code = 0): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`, () => process.exit(code));
}
