/**
 * The Node ceiling: `node:net` with hand-written u32 big-endian length framing, the same work as
 * raw.ts does on Bun:
 * - the one-way sender fills ~64 KiB Buffers (header + payload copy + sequence number per frame)
 *   and writes each with one `socket.write`; a fresh Buffer per batch, since Node keeps a reference
 *   to what it was given until it is flushed; when `write()` returns false it waits for 'drain';
 * - the receiver parses each 'data' chunk in place, through a plain Uint8Array view of it
 *   (FrameParser: zero-copy subarrays for frames inside the chunk, a copy only for frames that
 *   straddle chunks);
 * - echoes are one `write` per frame.
 */
import * as net from "node:net";
import { Checker, emit, emitAndExit, latency, makePayload, RAW_HEADER, type RunConfig, tailMs, Window, writeU32 } from "./common.ts";
import { FrameParser } from "./parser.ts";

/**
 * A plain Uint8Array view of Node's 'data' Buffer (no copy): `subarray` on a Buffer makes another
 * Buffer (a species construction), several times slower per frame than on a plain Uint8Array.
 */
function view(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

// ───────────────────────── server ─────────────────────────

export async function rawNodeServer(cfg: RunConfig): Promise<void> {
  const server = cfg.kind === "oneway" ? sinkServer(cfg) : echoServer(cfg);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, cfg.host, () => resolve());
  });
  emit("listening", { port: (server.address() as net.AddressInfo).port });
}

function sinkServer(cfg: RunConfig): net.Server {
  const checker = new Checker(cfg.size);
  const parser = new FrameParser((m) => checker.check(m));
  const window = new Window();
  let first = true;
  let done = false;
  let failure: string | undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    server.close();
    emitAndExit("result", {
      role: "server",
      received: checker.count,
      errors: checker.errors,
      firstError: checker.firstError ?? failure,
      windowComplete: window.ended,
      ...window.summary(),
    });
  };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    if (first) {
      first = false;
      window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
    }
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(view(chunk));
      } catch (error) {
        failure = String(error);
        finish();
      }
    });
    socket.on("end", () => {
      socket.end();
      finish();
    });
    socket.on("close", finish);
    socket.on("error", (error) => (failure = String(error)));
  });
  return server;
}

function echoServer(cfg: RunConfig): net.Server {
  let echoed = 0;
  let closed = 0;
  let failure: string | undefined;
  const expected = cfg.kind === "conns" ? cfg.conns : 1;
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const parser = new FrameParser((m) => {
      // Echo: a fresh frame (Node holds on to written Buffers until flushed), one write.
      const frame = Buffer.allocUnsafe(RAW_HEADER + m.length);
      writeU32(frame, 0, m.length);
      frame.set(m, RAW_HEADER);
      socket.write(frame);
      echoed++;
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(view(chunk));
      } catch (error) {
        failure = String(error);
        socket.destroy();
      }
    });
    socket.on("end", () => socket.end());
    socket.on("error", (error) => (failure = String(error)));
    socket.on("close", () => {
      if (++closed === expected) {
        server.close();
        emitAndExit("result", { role: "server", echoed, errors: failure ? 1 : 0, firstError: failure });
      }
    });
  });
  return server;
}

// ───────────────────────── client ─────────────────────────

export async function rawNodeClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else await requester(cfg);
}

function open(cfg: RunConfig): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: cfg.host, port: cfg.port }, () => {
      socket.off("error", reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once("error", reject);
  });
}

/** One-way sender: ~64 KiB Buffers, one write each, until the deadline; waits for 'drain' when write() says so. */
async function sender(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const frameLength = RAW_HEADER + size;
  const perBatch = Math.max(1, Math.floor((64 * 1024) / frameLength));
  let seq = 0;
  let failure: string | undefined;
  const socket = await open(cfg);
  const t0 = performance.now();
  const deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.on("error", (error) => (failure = String(error)));
  socket.on("data", () => {});
  const pump = (): void => {
    for (;;) {
      if (performance.now() >= deadline) {
        socket.end();
        return;
      }
      const batch = Buffer.allocUnsafe(perBatch * frameLength);
      let at = 0;
      for (let i = 0; i < perBatch; i++) {
        writeU32(batch, at, size);
        batch.set(payload, at + RAW_HEADER);
        writeU32(batch, at + RAW_HEADER, seq++);
        at += frameLength;
      }
      if (!socket.write(batch)) {
        socket.once("drain", pump);
        return;
      }
    }
  };
  pump();
  await closed;
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
  const sockets: net.Socket[] = [];
  for (let c = 0; c < connCount; c++) sockets.push(await open(cfg));
  const checkers: Checker[] = [];
  const closedAll: Promise<void>[] = [];
  for (const socket of sockets) {
    // Reused: the next request goes out only after the echo of the previous one came back,
    // so the kernel has long taken the bytes Node held on to.
    const frame = Buffer.allocUnsafe(RAW_HEADER + size);
    writeU32(frame, 0, size);
    frame.set(payload, RAW_HEADER);
    const checker = new Checker(size);
    checkers.push(checker);
    let seq = 0;
    let sentAt = 0;
    const sendNext = (): void => {
      writeU32(frame, RAW_HEADER, seq++);
      sentAt = performance.now();
      socket.write(frame);
    };
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
              socket.end();
              return;
            }
            sendNext();
          }
        : (m: Uint8Array): void => {
            checker.check(m);
            total++;
            if (running) sendNext();
            else socket.end();
          };
    const parser = new FrameParser(onFrame);
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(view(chunk));
      } catch (error) {
        errors++;
        firstError ??= String(error);
        socket.destroy();
      }
    });
    socket.on("error", (error) => {
      errors++;
      firstError ??= String(error);
    });
    closedAll.push(new Promise<void>((resolve) => socket.once("close", () => resolve())));
    if (cfg.kind === "pingpong" && cfg.warmupRounds === 0) window.start(0);
    sendNext();
  }
  if (cfg.kind === "conns") window.schedule(cfg.warmupMs, cfg.durationMs, () => total, () => (running = false));
  await Promise.all(closedAll);
  const received = checkers.reduce((n, c) => n + c.count, 0);
  for (const c of checkers) {
    errors += c.errors;
    firstError ??= c.firstError;
  }
  emitAndExit("result", { role: "client", received, errors, firstError, windowComplete: window.ended, ...window.summary(), ...latency(rtts) });
}
