/**
 * The conformance kit: what every scenario and runner shares — the runner context, portable
 * assertions (no runtime's assert module needed) and helpers such as raw peers.
 *
 * Scenarios use only the public Transport API and web-standard globals: raw peers are framewire
 * connections with `protocol: "raw"` and `framing: { type: "none" }`, which write exactly the bytes
 * given and see exactly the bytes received.
 */
import type { Client, CloseInfo, Server, Transport } from "../../src/index.ts";

/**
 * What a runner gives each scenario. Only `transport` is required. The other facilities are
 * optional so a third-party runner can start small, but a scenario that needs a facility the
 * runner omits FAILS with "runner does not provide …" (see {@link need}); it never passes
 * silently. The three bundled runners provide all of them.
 */
export interface ConformanceContext {
  transport: Transport;
  /** Open handles/resources of the process, where the runtime can count them (leak check). */
  openHandles?: () => number;
  /**
   * A fresh, unused path inside a temporary directory, e.g. for a Unix domain socket. The runner
   * creates the directory and removes it (with everything in it) after the scenario.
   */
  tempPath?: (name: string) => string;
  /**
   * A loopback TCP listener (127.0.0.1) that never accepts and whose accept queue is full, so a
   * connect to `port` hangs until the connector gives up. `close()` stops it; the runner also
   * stops it (and waits for that) after the scenario if the scenario did not.
   */
  neverAcceptingPort?: () => Promise<NeverAcceptingPort>;
  /**
   * Starts a child process: `"runtime"` runs `test/conformance/fixtures/<script>` in this
   * runtime with the transport under test (Node: the built `.js`; Bun, Deno: the `.ts`),
   * `"python"` runs `test/fixtures/<script>.py` with python3. Its stdin is a pipe (closing it
   * asks the child to finish), its stdout is read line by line, stderr is collected. The runner
   * kills it (and waits) after the scenario if it is still running.
   */
  spawn?: (kind: "runtime" | "python", script: string, args: readonly string[]) => Promise<ChildProcess>;
  /**
   * Bytes held by ArrayBuffers (and other memory outside the JS heap) in this process, after a
   * garbage collection where the runtime can force one: Node `memoryUsage().arrayBuffers`, Deno
   * `memoryUsage().external`, Bun `memoryUsage().arrayBuffers`.
   */
  externalMemory?: () => Promise<number>;
  /**
   * Starts recording unhandled promise rejections and uncaught exceptions in this process (Node and
   * Bun: `process` events; Deno: the global `unhandledrejection` and `error` events) until `stop()`,
   * which returns what was seen. The runner's own reporting of them is left in place.
   */
  watchUnhandled?: () => UnhandledWatch;
}

/** See {@link ConformanceContext.watchUnhandled}. */
export interface UnhandledWatch {
  /** Stops recording (idempotent) and returns every rejection reason and exception seen. */
  stop(): readonly unknown[];
}

/** A child process started by the runner (see {@link ConformanceContext.spawn}). */
export interface ChildProcess {
  /** The next line of stdout; rejects after `timeoutMs` or when stdout ends first. */
  readLine(timeoutMs: number): Promise<string>;
  /** Closes the child's stdin. */
  endInput(): void;
  /** Resolves with the exit code once the child has exited (a signal gives a non-zero code). */
  readonly exited: Promise<number>;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  kill(): void;
}

export interface NeverAcceptingPort {
  readonly port: number;
  close(): void;
}

export interface Scenario {
  name: string;
  /** Upper bound for the whole scenario; runners pass it to their test function. */
  timeoutMs: number;
  run(ctx: ConformanceContext): Promise<void>;
}

export const HOST = "127.0.0.1";
export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

// ───────────── tiny portable assertions (no runtime's assert module needed) ─────────────

export class AssertionFailed extends Error {
  override name = "AssertionFailed";
}

export function equal<T>(actual: T, expected: T, what: string): void {
  if (!Object.is(actual, expected)) throw new AssertionFailed(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

export function deepEqual(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionFailed(`${what}: expected ${e.slice(0, 300)}, got ${a.slice(0, 300)}`);
}

export function ok(condition: boolean, what: string): void {
  if (!condition) throw new AssertionFailed(what);
}

export function sameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  if (a.length !== b.length) throw new AssertionFailed(`${what}: length ${a.length} != ${b.length}`);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) throw new AssertionFailed(`${what}: byte ${i} differs (${a[i]} != ${b[i]})`);
  }
}

/** The runner facility `name`, or a failure saying the runner does not provide it. */
export function need<K extends keyof ConformanceContext>(ctx: ConformanceContext, name: K): NonNullable<ConformanceContext[K]> {
  const facility = ctx[name];
  if (facility === undefined) throw new AssertionFailed(`runner does not provide ${String(name)}: this scenario cannot run without it`);
  return facility as NonNullable<ConformanceContext[K]>;
}

export async function rejectsWith(promise: Promise<unknown>, what: string): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AssertionFailed) throw error; // e.g. within() gave up: report that, not a wrong code
    return error as Error & { code?: string };
  }
  throw new AssertionFailed(`${what}: expected a rejection`);
}

// ───────────── helpers ─────────────

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The lowest of a few external-memory readings taken over about a second: what is really held.
 * One reading right after a collection can still count buffers that are garbage but not yet
 * freed (V8 frees backing stores off-thread; measured 13-25 MiB right after a native trickle that
 * settled at 8 MiB within a second), so a bound checked on one reading fails at random.
 */
export async function settledMemory(externalMemory: () => Promise<number>, samples = 6, everyMs = 150): Promise<number> {
  let lowest = await externalMemory();
  for (let i = 1; i < samples; i++) {
    await sleep(everyMs);
    lowest = Math.min(lowest, await externalMemory());
  }
  return lowest;
}

/** Polls `predicate` until true; fails after `ms`. */
export async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new AssertionFailed(`timed out after ${ms} ms: ${what}`);
    await sleep(5);
  }
}

export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<T>((_, reject) => {
    timer = setTimeout(() => reject(new AssertionFailed(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The chunks' bytes, in order, in one array. */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

export function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** framewire frame bytes: u32 BE length | type | body. */
export function typed(type: number, body: number[] | Uint8Array = []): Uint8Array {
  // Without spreading the body: a 1 MiB one spread into arrays blocked this process (and the
  // bystander it hosts) for about a second on a loaded machine.
  const frame = new Uint8Array(5 + body.length);
  frame.set(u32(body.length + 1), 0);
  frame[4] = type;
  frame.set(body, 5);
  return frame;
}

export const HELLO = typed(0x01, [0x46, 0x57, 1, 1, ...encoder.encode("{}")]);

/** A peer that writes exactly the bytes given and collects exactly the bytes received. */
export class RawPeer {
  readonly chunks: Uint8Array[] = [];
  closeInfo: CloseInfo | undefined;
  private constructor(readonly client: Client<Uint8Array>) {
    client.on("message", (chunk) => this.chunks.push(chunk.slice()));
    client.on("close", (info) => (this.closeInfo = info));
  }

  static async connect(transport: Transport, port: number, allowHalfOpen = false): Promise<RawPeer> {
    const client = await transport.connect({ host: HOST, port, protocol: "raw", framing: { type: "none" }, allowHalfOpen });
    return new RawPeer(client);
  }

  write(bytes: Uint8Array): void {
    const status = this.client.send(bytes);
    ok(status === "queued" || status === "backpressure", `raw write: ${status}`);
  }

  /** Write unless the connection is already closing (between the server's goodbye and our close event); false then. */
  writeWhileOpen(bytes: Uint8Array): boolean {
    if (this.closeInfo !== undefined) return false;
    const status = this.client.send(bytes);
    if (status === "closed") return false;
    ok(status === "queued" || status === "backpressure", `raw write: ${status}`);
    return true;
  }

  bytes(): Uint8Array {
    let length = 0;
    for (const c of this.chunks) length += c.length;
    const all = new Uint8Array(length);
    let at = 0;
    for (const c of this.chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  }

  /** Complete u32-BE-length frames received so far (bodies). */
  frames(): Uint8Array[] {
    const all = this.bytes();
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos + 4 <= all.length) {
      const size = (((all[pos] as number) << 24) | ((all[pos + 1] as number) << 16) | ((all[pos + 2] as number) << 8) | (all[pos + 3] as number)) >>> 0;
      if (pos + 4 + size > all.length) break;
      out.push(all.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    return out;
  }
}

/** Starts a server, runs `body`, and always closes the server (bounded). */
export async function withServer<T>(server: Server<T>, body: (server: Server<T>) => Promise<void>): Promise<void> {
  try {
    await body(server);
  } finally {
    await server.close(500);
  }
}

/** Sends three messages (3 B, 11 B, 64 KiB) and checks they come back byte-exact and in order. */
export async function echoThree(client: Client<Uint8Array>, what: string): Promise<void> {
  const big = new Uint8Array(64 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 1) & 0xff;
  const sent = [Uint8Array.from([1, 2, 3]), sequenced(7), big];
  const back: Uint8Array[] = [];
  client.on("message", (m) => back.push(m.slice()));
  for (const m of sent) client.send(m);
  await until(() => back.length >= sent.length, 5000, `${what}: ${back.length}/${sent.length} echoes`);
  equal(back.length, sent.length, `${what}: echo count`);
  sent.forEach((m, i) => sameBytes(back[i] as Uint8Array, m, `${what}: echo ${i}`));
}

export function describe(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string };
  return `${e?.name ?? "?"} ${e?.code ?? ""} ${e?.message ?? String(error)}`.trim();
}

export function sequenced(i: number): Uint8Array {
  const body = new Uint8Array(4 + (i % 97));
  body.set(u32(i), 0);
  for (let k = 4; k < body.length; k++) body[k] = (i * 31 + k) & 0xff;
  return body;
}


/** A HELLO for version 1 whose JSON fields are exactly `json` (any text, to play a broken client). */
export function helloWith(json: string): Uint8Array {
  return typed(0x01, [0x46, 0x57, 1, 1, ...encoder.encode(json)]);
}

/** A framewire frame's type and JSON fields, for frames that carry JSON (REJECT, GOAWAY, WELCOME). */
export function jsonFields(frame: Uint8Array): { type: number; fields: Record<string, unknown> } {
  const start = frame[0] === 0x02 ? 2 : 1; // WELCOME has a version byte before its JSON
  return { type: frame[0] as number, fields: JSON.parse(decoder.decode(frame.subarray(start))) as Record<string, unknown> };
}

/** The framewire server fixture (test/conformance/fixtures/server.ts) in a child process. */
export interface ChildServer {
  readonly port: number;
  readonly process: ChildProcess;
  /** Closes its stdin and waits for it to exit; returns its exit code and the stats it printed. */
  stop(): Promise<{ code: number; stats: Record<string, number> | undefined; stderr: string }>;
}

export async function startChildServer(ctx: ConformanceContext, listen: Record<string, unknown> = {}): Promise<ChildServer> {
  const child = await need(ctx, "spawn")("runtime", "server", [JSON.stringify({ listen })]);
  let line: string;
  try {
    line = await child.readLine(15_000);
  } catch (error) {
    throw new AssertionFailed(`the child server did not start: ${describe(error)}; stderr: ${child.stderr().slice(0, 2000)}`);
  }
  ok(line.startsWith("PORT "), `the child server printed ${JSON.stringify(line)}, not its port; stderr: ${child.stderr().slice(0, 2000)}`);
  const port = Number(line.slice(5));
  return {
    port,
    process: child,
    async stop() {
      child.endInput();
      let stats: Record<string, number> | undefined;
      try {
        const last = await child.readLine(10_000);
        if (last.startsWith("STATS ")) stats = JSON.parse(last.slice(6)) as Record<string, number>;
      } catch {
        // No stats: the exit code tells what happened.
      }
      const code = await within(child.exited, 10_000, "the child server exits");
      return { code, stats, stderr: child.stderr() };
    },
  };
}

/** Fails if `text` contains `secret`: what a peer received must not carry the server's own error text. */
export function noSecret(text: string, secret: string, what: string): void {
  ok(!text.includes(secret.slice(0, 12)), `${what} leaks the server's error text: ${JSON.stringify(text.slice(0, 200))}`);
}
