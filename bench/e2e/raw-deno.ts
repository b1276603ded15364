/**
 * The Deno ceiling: `Deno.listen` / `Deno.connect` with hand-written u32 big-endian length framing,
 * the same work as raw.ts does on Bun:
 * - the one-way sender fills one reused ~64 KiB batch (header + payload copy + sequence number per
 *   frame) and `await`s `conn.write` in a loop until the whole batch is taken (partial writes);
 * - the receiver reads into one reused 256 KiB buffer and parses it in place (FrameParser:
 *   zero-copy subarrays for frames inside the read, a copy only for frames that straddle reads);
 * - echoes are one (awaited, complete) write per frame.
 * rawtls: the same over `Deno.listenTls` and `Deno.connect` + `Deno.startTls` (the client's TCP
 * conn gets setNoDelay first; a TlsConn has none, so the server's accepted conns keep Deno's
 * default); the client completes its handshake before it starts.
 */
import { BroadcastTally, broadcastServerResult } from "./broadcast-tally.ts";
import {
  Checker,
  checkerFor,
  emit,
  emitAndExit,
  fillBatch,
  framesPerBatch,
  latency,
  makePayload,
  RAW_HEADER,
  type RunConfig,
  tailMs,
  Window,
  writeU32,
} from "./common.ts";
import { IdleMeter, idleClientResult, idleConnections, openIdleBatches, settledMemory } from "./memory.ts";
import { FrameParser } from "./parser.ts";

// Structural view of the Deno API used here (bench/ is outside the typechecked tree).
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  /** Missing on a TlsConn. */
  setNoDelay?(on?: boolean): void;
  /** TlsConn only. */
  handshake?(): Promise<unknown>;
}
interface DenoListener {
  readonly addr: { port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}
interface DenoPort {
  onmessage: ((event: unknown) => void) | null;
  postMessage(message: unknown): void;
}
declare const MessageChannel: new () => { port1: DenoPort; port2: DenoPort };
declare const Deno: {
  listen(o: { hostname: string; port: number }): DenoListener;
  listenTls(o: { hostname: string; port: number; cert: string; key: string }): DenoListener;
  connect(o: { hostname: string; port: number }): Promise<DenoConn>;
  startTls(conn: DenoConn, o: { hostname: string; caCerts: string[] }): Promise<DenoConn>;
};

const READ_BUFFER = 256 * 1024;
/** Per connection when there are many (conns, idle, broadcast): what the Deno adapter starts with too. */
const SMALL_READ_BUFFER = 16 * 1024;

function readBufferSize(cfg: RunConfig): number {
  return cfg.kind === "oneway" || cfg.kind === "pingpong" ? READ_BUFFER : SMALL_READ_BUFFER;
}

/** Reads until EOF, handing each read to `onChunk`; errors go to `onError`. */
async function readLoop(conn: DenoConn, size: number, onChunk: (chunk: Uint8Array) => void, onError: (error: unknown) => void): Promise<void> {
  const buf = new Uint8Array(size);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      onChunk(buf.subarray(0, n));
    }
  } catch (error) {
    onError(error);
  }
}

async function writeAll(conn: DenoConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
}

/**
 * Deno resolves a TlsConn's read of already-decrypted bytes without a turn of the event loop, so a
 * read loop that always finds data (a TLS receiver that is the bottleneck) starves every timer,
 * the measurement window's included (measured: no timer fired during 2.8 s of one-way TLS). Over
 * TLS the loops give the event loop a turn every YIELD_MS (timers fire at most that late): a MessageChannel round trip (~20 µs
 * here; `setTimeout(0)` costs ~2 ms, clamped, and took 30% of the throughput). A plain conn's
 * reads already go through the event loop.
 */
const YIELD_MS = 20;
function timerTurns(cfg: RunConfig): () => Promise<void> | undefined {
  if (!cfg.tls) return () => undefined;
  let next = performance.now() + YIELD_MS;
  let channel: { port1: DenoPort; port2: DenoPort } | undefined;
  let resume: (() => void) | undefined;
  return () => {
    const now = performance.now();
    if (now < next) return undefined;
    next = now + YIELD_MS;
    if (channel === undefined) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => resume?.();
    }
    const port = channel.port2;
    return new Promise<void>((resolve) => {
      resume = resolve;
      port.postMessage(0);
    });
  };
}

function closeQuietly(conn: DenoConn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

// ───────────────────────── server ─────────────────────────

export async function rawDenoServer(cfg: RunConfig): Promise<void> {
  const at = { hostname: cfg.host, port: 0 };
  const listener = cfg.tls ? Deno.listenTls({ ...at, cert: cfg.tls.cert, key: cfg.tls.key }) : Deno.listen(at);
  if (cfg.kind === "idle") return idle(cfg, listener);
  emit("listening", { port: listener.addr.port });
  if (cfg.kind === "oneway") await sink(cfg, listener);
  else if (cfg.kind === "broadcast") await broadcast(cfg, listener);
  else await echo(cfg, listener);
}

/**
 * idle: memory before any connection and with `cfg.conns` and 2 × `cfg.conns` open, each with a
 * pending read and a parser (what a raw server holds). The accept loop runs on while the server
 * measures, so a connection arriving during the first measurement is seen (`IdleMeter`).
 */
async function idle(cfg: RunConfig, listener: DenoListener): Promise<void> {
  const before = await settledMemory();
  emit("listening", { port: listener.addr.port });
  let received = 0;
  let failure: string | undefined;
  const meter = new IdleMeter(cfg.conns);
  const conns: DenoConn[] = [];
  const reads: Promise<void>[] = [];
  const accepting = (async () => {
    for (let c = 0; c < idleConnections(cfg.conns); c++) {
      const conn = await listener.accept();
      conns.push(conn);
      const parser = new FrameParser(() => received++);
      const onChunk = (chunk: Uint8Array): void => {
        received += chunk.length;
        parser.push(chunk);
      };
      reads.push(readLoop(conn, SMALL_READ_BUFFER, onChunk, (error) => (failure ??= String(error))).then(() => closeQuietly(conn)));
      meter.connected();
    }
  })();
  await meter.done;
  await accepting;
  for (const conn of conns) await conn.closeWrite().catch(() => {});
  await Promise.all(reads);
  listener.close();
  emitAndExit("result", meter.result(before, received, failure));
}

/**
 * broadcast ceiling: one reused ~64 KiB batch of consecutive frames (the one-way sender's
 * batching), written completely to every connection (all writes in parallel, awaited) before the
 * next batch is filled.
 */
async function broadcast(cfg: RunConfig, listener: DenoListener): Promise<void> {
  const payload = makePayload(cfg.size);
  const perBatch = framesPerBatch(cfg.size);
  const batch = new Uint8Array(perBatch * (RAW_HEADER + cfg.size));
  const conns: DenoConn[] = [];
  const reads: Promise<void>[] = [];
  let unexpected = 0;
  let failure: string | undefined;
  for (let c = 0; c < cfg.conns; c++) {
    const conn = await listener.accept();
    conn.setNoDelay?.(true);
    conns.push(conn);
    reads.push(readLoop(conn, 1024, (chunk) => (unexpected += chunk.length), (error) => (failure ??= String(error))));
  }
  await new Promise((r) => setTimeout(r, 200));
  const deadline = performance.now() + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  let seq = 0;
  let deliveries = 0;
  try {
    while (performance.now() < deadline) {
      fillBatch(batch, payload, perBatch, seq);
      seq += perBatch;
      await Promise.all(conns.map((conn) => writeAll(conn, batch)));
      deliveries += perBatch * conns.length;
    }
    await Promise.all(conns.map((conn) => conn.closeWrite()));
  } catch (error) {
    failure ??= String(error);
  }
  await Promise.all(reads);
  for (const conn of conns) closeQuietly(conn);
  listener.close();
  emitAndExit("result", broadcastServerResult(seq, deliveries, failure, unexpected));
}

async function sink(cfg: RunConfig, listener: DenoListener): Promise<void> {
  const checker = checkerFor(cfg);
  const parser = new FrameParser((m) => checker.check(m));
  const window = new Window();
  let failure: string | undefined;
  const conn = await listener.accept();
  conn.setNoDelay?.(true);
  window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
  const buf = new Uint8Array(READ_BUFFER);
  const turn = timerTurns(cfg);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parser.push(buf.subarray(0, n));
      await turn();
    }
  } catch (error) {
    failure = String(error);
  }
  closeQuietly(conn);
  listener.close();
  emitAndExit("result", {
    role: "server",
    received: checker.count,
    errors: checker.errors,
    firstError: checker.firstError ?? failure,
    windowComplete: window.ended,
    ...window.summary(),
  });
}

async function echo(cfg: RunConfig, listener: DenoListener): Promise<void> {
  const expected = cfg.kind === "conns" ? cfg.conns : 1;
  let echoed = 0;
  let failure: string | undefined;
  const serve = async (conn: DenoConn): Promise<void> => {
    conn.setNoDelay?.(true);
    const buf = new Uint8Array(readBufferSize(cfg));
    const out: Uint8Array[] = [];
    const parser = new FrameParser((m) => {
      const frame = new Uint8Array(RAW_HEADER + m.length);
      writeU32(frame, 0, m.length);
      frame.set(m, RAW_HEADER);
      out.push(frame);
    });
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        parser.push(buf.subarray(0, n));
        for (const frame of out) {
          await writeAll(conn, frame);
          echoed++;
        }
        out.length = 0;
      }
    } catch (error) {
      failure ??= String(error);
    }
    closeQuietly(conn);
  };
  const served: Promise<void>[] = [];
  for (let c = 0; c < expected; c++) served.push(serve(await listener.accept()));
  await Promise.all(served);
  listener.close();
  emitAndExit("result", { role: "server", echoed, errors: failure ? 1 : 0, firstError: failure });
}

// ───────────────────────── client ─────────────────────────

export async function rawDenoClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else if (cfg.kind === "idle") await idleClients(cfg);
  else if (cfg.kind === "broadcast") await broadcastReceivers(cfg);
  else await requester(cfg);
}

/** Opens `cfg.conns` connections one after the other, pauses, opens `cfg.conns` more, sends nothing, and reads until the server closes each. */
async function idleClients(cfg: RunConfig): Promise<void> {
  let received = 0;
  let failure: string | undefined;
  const reads: Promise<void>[] = [];
  const opened = await openIdleBatches(cfg.conns, async () => {
    const conn = await open(cfg);
    reads.push(readLoop(conn, 1024, (chunk) => (received += chunk.length), (error) => (failure ??= String(error))).then(() => closeQuietly(conn)));
  });
  await Promise.all(reads);
  emitAndExit("result", idleClientResult(opened, received, failure));
}

async function broadcastReceivers(cfg: RunConfig): Promise<void> {
  const tally = new BroadcastTally(cfg);
  const reads: Promise<void>[] = [];
  for (let c = 0; c < cfg.conns; c++) {
    const conn = await open(cfg);
    const checker = tally.add();
    const parser = new FrameParser((m) => checker.check(m));
    const done = readLoop(conn, SMALL_READ_BUFFER, (chunk) => parser.push(chunk), (error) => tally.fail(error));
    reads.push(
      done.then(() => {
        tally.closed();
        closeQuietly(conn);
      }),
    );
  }
  tally.schedule(cfg);
  await Promise.all(reads);
  tally.finish();
}

/** Connects; over TLS (rawtls) verifies the server against the driver's CA and 127.0.0.1 against its IP SANs before returning. */
async function open(cfg: RunConfig): Promise<DenoConn> {
  const conn = await Deno.connect({ hostname: cfg.host, port: cfg.port });
  conn.setNoDelay?.(true);
  if (!cfg.tls) return conn;
  const secure = await Deno.startTls(conn, { hostname: cfg.host, caCerts: [cfg.tls.ca] });
  await secure.handshake?.();
  return secure;
}

/** Reads until the peer closes (after our closeWrite), then closes. */
async function drainToEnd(conn: DenoConn): Promise<void> {
  const buf = new Uint8Array(1024);
  try {
    while ((await conn.read(buf)) !== null) {
      // nothing is expected
    }
  } catch {
    // reset by peer: it is gone either way
  }
  closeQuietly(conn);
}

/**
 * One-way sender: one reused ~64 KiB batch, written completely (awaited) each time, until the
 * deadline. rawblock fills it once (sequence numbers 0..perBatch-1) and writes that same block every time.
 */
async function sender(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const perBatch = framesPerBatch(size);
  const batch = new Uint8Array(perBatch * (RAW_HEADER + size));
  const block = cfg.impl === "rawblock";
  if (block) fillBatch(batch, payload, perBatch, 0);
  let seq = 0;
  let failure: string | undefined;
  const conn = await open(cfg);
  const t0 = performance.now();
  const deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  try {
    while (performance.now() < deadline) {
      if (!block) fillBatch(batch, payload, perBatch, seq);
      seq += perBatch;
      await writeAll(conn, batch);
    }
    await conn.closeWrite();
  } catch (error) {
    failure = String(error);
  }
  await drainToEnd(conn);
  emitAndExit("result", { role: "client", sent: seq, seconds: (performance.now() - t0) / 1000, errors: failure ? 1 : 0, firstError: failure });
}

/** pingpong (1 connection) and conns (N connections): one message in flight per connection. */
async function requester(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const connCount = cfg.kind === "conns" ? cfg.conns : 1;
  const window = new Window();
  const rtts = new Float64Array(cfg.kind === "pingpong" ? cfg.rounds : 0);
  const totalRounds = cfg.warmupRounds + cfg.rounds;
  let total = 0;
  let running = true;
  let errors = 0;
  let firstError: string | undefined;
  const conns: DenoConn[] = [];
  for (let c = 0; c < connCount; c++) conns.push(await open(cfg));
  const checkers: Checker[] = [];
  const loop = async (conn: DenoConn): Promise<void> => {
    const frame = new Uint8Array(RAW_HEADER + size);
    writeU32(frame, 0, size);
    frame.set(payload, RAW_HEADER);
    const checker = new Checker(size);
    checkers.push(checker);
    const buf = new Uint8Array(readBufferSize(cfg));
    let seq = 0;
    let sentAt = 0;
    let again = false;
    let finished = false;
    const onFrame =
      cfg.kind === "pingpong"
        ? (m: Uint8Array): void => {
            const now = performance.now();
            checker.check(m);
            const i = checker.count - 1 - cfg.warmupRounds;
            if (i >= 0) rtts[i] = now - sentAt;
            if (checker.count === cfg.warmupRounds) window.start(0);
            if (checker.count === totalRounds) {
              window.stop(cfg.rounds);
              finished = true;
            } else again = true;
          }
        : (m: Uint8Array): void => {
            checker.check(m);
            total++;
            if (running) again = true;
            else finished = true;
          };
    const parser = new FrameParser(onFrame);
    const turn = timerTurns(cfg);
    const sendNext = (): Promise<void> => {
      writeU32(frame, RAW_HEADER, seq++);
      sentAt = performance.now();
      return writeAll(conn, frame);
    };
    try {
      if (cfg.kind === "pingpong" && cfg.warmupRounds === 0) window.start(0);
      await sendNext();
      while (!finished) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("server closed the connection");
        parser.push(buf.subarray(0, n));
        await turn();
        if (again && !finished) {
          again = false;
          await sendNext();
        }
      }
      await conn.closeWrite();
    } catch (error) {
      errors++;
      firstError ??= String(error);
    }
    await drainToEnd(conn);
  };
  const loops = conns.map(loop);
  if (cfg.kind === "conns") window.schedule(cfg.warmupMs, cfg.durationMs, () => total, () => (running = false));
  await Promise.all(loops);
  const received = checkers.reduce((n, c) => n + c.count, 0);
  for (const c of checkers) {
    errors += c.errors;
    firstError ??= c.firstError;
  }
  emitAndExit("result", { role: "client", received, errors, firstError, windowComplete: window.ended, ...window.summary(), ...latency(rtts) });
}
