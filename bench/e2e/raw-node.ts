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
 * rawtls: the same over `node:tls` (a TLSSocket is a net.Socket); the client starts once
 * 'secureConnect' said the server verified.
 */
import * as net from "node:net";
import * as tls from "node:tls";
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
import { IdleMeter, idleClientResult, openIdleBatches, settledMemory, type MemorySample } from "./memory.ts";
import { FrameParser } from "./parser.ts";

/**
 * A plain Uint8Array view of Node's 'data' Buffer (no copy): `subarray` on a Buffer makes another
 * Buffer (a species construction), several times slower per frame than on a plain Uint8Array.
 */
function view(chunk: Buffer): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** A server handing `onSocket` each plain socket, or (rawtls) each TLS socket once its handshake completed. */
function createServer(cfg: RunConfig, onSocket: (socket: net.Socket) => void): net.Server {
  return cfg.tls ? tls.createServer({ cert: cfg.tls.cert, key: cfg.tls.key }, onSocket) : net.createServer(onSocket);
}

// ───────────────────────── server ─────────────────────────

export async function rawNodeServer(cfg: RunConfig): Promise<void> {
  const before = cfg.kind === "idle" ? await settledMemory() : undefined;
  const server =
    cfg.kind === "oneway"
      ? sinkServer(cfg)
      : cfg.kind === "idle"
        ? idleServer(cfg, before as MemorySample)
        : cfg.kind === "broadcast"
          ? broadcastServer(cfg)
          : echoServer(cfg);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: cfg.host, backlog: 2048 }, () => resolve());
  });
  emit("listening", { port: (server.address() as net.AddressInfo).port });
}

function sinkServer(cfg: RunConfig): net.Server {
  const checker = checkerFor(cfg);
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
  const server = createServer(cfg, (socket) => {
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
  const server = createServer(cfg, (socket) => {
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

/** idle: memory before any connection and with `cfg.conns` and 2 × `cfg.conns` open, each holding what a raw server holds per connection (a parser). */
function idleServer(cfg: RunConfig, before: MemorySample): net.Server {
  let received = 0;
  let result: (() => void) | undefined;
  const meter = new IdleMeter(cfg.conns);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    const parser = new FrameParser(() => received++);
    sockets.add(socket);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      parser.push(view(chunk));
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) result?.();
    });
    meter.connected();
  });
  void meter.done.then(() => {
    result = () => {
      server.close();
      emitAndExit("result", meter.result(before, received));
    };
    for (const s of sockets) s.end();
  });
  return server;
}

/**
 * broadcast ceiling: one ~64 KiB Buffer of consecutive frames per batch (the one-way sender's
 * batching), the same Buffer written to every socket; the next batch once every socket that said
 * "full" (`write()` false) emitted 'drain'. A fresh Buffer per batch: Node holds on to it until flushed.
 */
function broadcastServer(cfg: RunConfig): net.Server {
  const payload = makePayload(cfg.size);
  const perBatch = framesPerBatch(cfg.size);
  const sockets: net.Socket[] = [];
  let seq = 0;
  let deliveries = 0;
  let waiting = 0;
  let deadline = Number.POSITIVE_INFINITY;
  let unexpected = 0;
  let failure: string | undefined;
  let closed = 0;
  const drained = (): void => {
    if (--waiting === 0) pump();
  };
  const pump = (): void => {
    while (performance.now() < deadline) {
      const batch = Buffer.allocUnsafe(perBatch * (RAW_HEADER + cfg.size));
      fillBatch(batch, payload, perBatch, seq);
      seq += perBatch;
      for (const socket of sockets) {
        if (!socket.write(batch)) {
          waiting++;
          socket.once("drain", drained);
        }
      }
      deliveries += perBatch * sockets.length;
      if (waiting > 0) return;
    }
    for (const socket of sockets) socket.end();
  };
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.push(socket);
    socket.on("data", (chunk: Buffer) => (unexpected += chunk.length));
    socket.on("error", (error) => (failure ??= String(error)));
    socket.on("close", () => {
      if (++closed === cfg.conns) {
        server.close();
        emitAndExit("result", broadcastServerResult(seq, deliveries, failure, unexpected));
      }
    });
    if (sockets.length === cfg.conns) {
      setTimeout(() => {
        deadline = performance.now() + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
        pump();
      }, 200);
    }
  });
  return server;
}

// ───────────────────────── client ─────────────────────────

export async function rawNodeClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else if (cfg.kind === "idle") await idleClients(cfg);
  else if (cfg.kind === "broadcast") await broadcastReceivers(cfg);
  else await requester(cfg);
}

/** Opens `cfg.conns` sockets one after the other, pauses, opens `cfg.conns` more, sends nothing, waits until the server closes them all. */
async function idleClients(cfg: RunConfig): Promise<void> {
  let received = 0;
  let failure: string | undefined;
  const closed: Promise<void>[] = [];
  const opened = await openIdleBatches(cfg.conns, async () => {
    const socket = await open(cfg);
    socket.on("data", (chunk: Buffer) => (received += chunk.length));
    socket.on("error", (error) => (failure ??= String(error)));
    closed.push(new Promise<void>((resolve) => socket.once("close", () => resolve())));
  });
  await Promise.all(closed);
  emitAndExit("result", idleClientResult(opened, received, failure));
}

async function broadcastReceivers(cfg: RunConfig): Promise<void> {
  const tally = new BroadcastTally(cfg);
  const closed: Promise<void>[] = [];
  for (let c = 0; c < cfg.conns; c++) {
    const socket = await open(cfg);
    const checker = tally.add();
    const parser = new FrameParser((m) => checker.check(m));
    socket.on("data", (chunk: Buffer) => {
      try {
        parser.push(view(chunk));
      } catch (error) {
        tally.fail(error);
        socket.destroy();
      }
    });
    socket.on("error", (error) => tally.fail(error));
    closed.push(new Promise<void>((resolve) => socket.once("close", () => (tally.closed(), resolve()))));
  }
  tally.schedule(cfg);
  await Promise.all(closed);
  tally.finish();
}

/** Connects; over TLS (rawtls) verifies the server against the driver's CA and 127.0.0.1 against its IP SANs, then resolves. */
function open(cfg: RunConfig): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const options = { host: cfg.host, port: cfg.port };
    const onConnect = (): void => {
      socket.off("error", reject);
      socket.setNoDelay(true);
      resolve(socket);
    };
    const socket = cfg.tls ? tls.connect({ ...options, ca: cfg.tls.ca }, onConnect) : net.connect(options, onConnect);
    socket.once("error", reject);
  });
}

/**
 * One-way sender: ~64 KiB Buffers, one write each, until the deadline; waits for 'drain' when
 * write() says so. rawblock fills one Buffer once (sequence numbers 0..perBatch-1) and writes that
 * same block every time (safe: it never changes).
 */
async function sender(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const perBatch = framesPerBatch(size);
  const batchBytes = perBatch * (RAW_HEADER + size);
  const block = cfg.impl === "rawblock" ? Buffer.allocUnsafe(batchBytes) : undefined;
  if (block) fillBatch(block, payload, perBatch, 0);
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
      let batch = block;
      if (batch === undefined) {
        batch = Buffer.allocUnsafe(batchBytes);
        fillBatch(batch, payload, perBatch, seq);
      }
      seq += perBatch;
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
