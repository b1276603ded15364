/**
 * The Deno ceiling: `Deno.listen` / `Deno.connect` with hand-written u32 big-endian length framing,
 * the same work as raw.ts does on Bun:
 * - the one-way sender fills one reused ~64 KiB batch (header + payload copy + sequence number per
 *   frame) and `await`s `conn.write` in a loop until the whole batch is taken (partial writes);
 * - the receiver reads into one reused 256 KiB buffer and parses it in place (FrameParser:
 *   zero-copy subarrays for frames inside the read, a copy only for frames that straddle reads);
 * - echoes are one (awaited, complete) write per frame.
 */
import { Checker, emit, emitAndExit, latency, makePayload, RAW_HEADER, type RunConfig, tailMs, Window, writeU32 } from "./common.ts";
import { FrameParser } from "./parser.ts";

// Structural view of the Deno API used here (bench/ is outside the typechecked tree).
interface DenoConn {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  setNoDelay(on?: boolean): void;
}
interface DenoListener {
  readonly addr: { port: number };
  accept(): Promise<DenoConn>;
  close(): void;
}
declare const Deno: {
  listen(o: { hostname: string; port: number }): DenoListener;
  connect(o: { hostname: string; port: number }): Promise<DenoConn>;
};

const READ_BUFFER = 256 * 1024;

async function writeAll(conn: DenoConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(off === 0 ? bytes : bytes.subarray(off));
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
  const listener = Deno.listen({ hostname: cfg.host, port: 0 });
  emit("listening", { port: listener.addr.port });
  if (cfg.kind === "oneway") await sink(cfg, listener);
  else await echo(cfg, listener);
}

async function sink(cfg: RunConfig, listener: DenoListener): Promise<void> {
  const checker = new Checker(cfg.size);
  const parser = new FrameParser((m) => checker.check(m));
  const window = new Window();
  let failure: string | undefined;
  const conn = await listener.accept();
  conn.setNoDelay(true);
  window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
  const buf = new Uint8Array(READ_BUFFER);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      parser.push(buf.subarray(0, n));
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
    conn.setNoDelay(true);
    const buf = new Uint8Array(READ_BUFFER);
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
  else await requester(cfg);
}

async function open(cfg: RunConfig): Promise<DenoConn> {
  const conn = await Deno.connect({ hostname: cfg.host, port: cfg.port });
  conn.setNoDelay(true);
  return conn;
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

/** One-way sender: one reused ~64 KiB batch, written completely (awaited) each time, until the deadline. */
async function sender(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const frameLength = RAW_HEADER + size;
  const perBatch = Math.max(1, Math.floor((64 * 1024) / frameLength));
  const batch = new Uint8Array(perBatch * frameLength);
  let seq = 0;
  let failure: string | undefined;
  const conn = await open(cfg);
  const t0 = performance.now();
  const deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  try {
    while (performance.now() < deadline) {
      let at = 0;
      for (let i = 0; i < perBatch; i++) {
        writeU32(batch, at, size);
        batch.set(payload, at + RAW_HEADER);
        writeU32(batch, at + RAW_HEADER, seq++);
        at += frameLength;
      }
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
    const buf = new Uint8Array(READ_BUFFER);
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
