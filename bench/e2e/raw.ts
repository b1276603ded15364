/**
 * The ceiling: raw `Bun.listen` / `Bun.connect` with hand-written u32 big-endian length framing,
 * written the way a careful user would write it without framewire:
 * - the one-way sender fills ~64 KiB batches (header + payload copy per frame) and writes each
 *   batch with one `write`; a short write keeps the rest and waits for `drain`;
 * - the receiver parses chunks in place, hands each frame that lies inside a chunk to the
 *   consumer as a zero-copy subarray, and copies only frames that straddle chunks;
 * - request/response traffic does one `write` per frame, as any echo server would.
 * rawtls: the same over Bun's TLS sockets (`tls` on listen / connect); the client starts sending
 * once its handshake succeeded (before it, Bun's `write` takes nothing).
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

export { FrameParser };

// Structural view of the Bun socket API used here (bench/ is outside the typechecked tree).
interface BunSocket<D = unknown> {
  data: D;
  write(bytes: Uint8Array): number;
  end(): void;
  terminate(): void;
  setNoDelay(on?: boolean): boolean;
}
interface SocketHandler<D> {
  binaryType: "uint8array";
  open?(socket: BunSocket<D>): void;
  data(socket: BunSocket<D>, chunk: Uint8Array): void;
  drain?(socket: BunSocket<D>): void;
  end?(socket: BunSocket<D>): void;
  close?(socket: BunSocket<D>, error?: Error): void;
  error?(socket: BunSocket<D>, error: Error): void;
  connectError?(socket: BunSocket<D>, error: Error): void;
  /** TLS only: `authorized` is false when the chain or the name did not verify. */
  handshake?(socket: BunSocket<D>, authorized: boolean, error: Error | null): void;
}
interface BunTls {
  tls?: { cert?: string; key?: string; ca?: string };
}
declare const Bun: {
  listen<D>(options: { hostname: string; port: number; socket: SocketHandler<D> } & BunTls): { port: number; stop(force?: boolean): void };
  connect<D>(options: { hostname: string; port: number; data?: D; socket: SocketHandler<D> } & BunTls): Promise<BunSocket<D>>;
};

/** Listen options of a server: plain, or TLS with the driver's certificate (rawtls). */
function listenOn(cfg: RunConfig): { hostname: string; port: number } & BunTls {
  return { hostname: cfg.host, port: 0, ...(cfg.tls ? { tls: { cert: cfg.tls.cert, key: cfg.tls.key } } : {}) };
}

/** Connects; over TLS (rawtls) resolves once the handshake verified the server against the driver's CA (a failure rejects). */
async function dial<D>(cfg: RunConfig, handler: SocketHandler<D>, data?: D): Promise<BunSocket<D>> {
  if (!cfg.tls) return Bun.connect<D>({ hostname: cfg.host, port: cfg.port, data, socket: handler });
  let settle!: (error: Error | null) => void;
  const handshaken = new Promise<void>((resolve, reject) => (settle = (error) => (error ? reject(error) : resolve())));
  const socket = await Bun.connect<D>({
    hostname: cfg.host,
    port: cfg.port,
    data,
    tls: { ca: cfg.tls.ca },
    socket: {
      ...handler,
      handshake(s, authorized, error) {
        if (!authorized) s.terminate();
        settle(authorized ? null : new Error(`TLS handshake: ${String(error)}`));
      },
    },
  });
  await handshaken;
  return socket;
}

/** Writes that keep (a copy of) what the socket did not take, and retry it on drain. */
class Writer {
  readonly #socket: BunSocket<never>;
  readonly #pending: Uint8Array[] = [];

  constructor(socket: BunSocket<never>) {
    this.#socket = socket;
  }

  get idle(): boolean {
    return this.#pending.length === 0;
  }

  /** `bytes` may be reused by the caller after this returns. */
  write(bytes: Uint8Array): void {
    if (this.#pending.length > 0) {
      this.#pending.push(bytes.slice());
      return;
    }
    const n = this.#socket.write(bytes);
    if (n < bytes.length) this.#pending.push(bytes.slice(Math.max(n, 0)));
  }

  drain(): void {
    const pending = this.#pending;
    while (pending.length > 0) {
      const bytes = pending[0] as Uint8Array;
      const n = this.#socket.write(bytes);
      if (n < bytes.length) {
        pending[0] = bytes.subarray(Math.max(n, 0));
        return;
      }
      pending.shift();
    }
  }
}

// ───────────────────────── server ─────────────────────────

export async function rawServer(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") sinkServer(cfg);
  else if (cfg.kind === "idle") await idleServer(cfg);
  else if (cfg.kind === "broadcast") broadcastServer(cfg);
  else echoServer(cfg);
}

function sinkServer(cfg: RunConfig): void {
  const checker = checkerFor(cfg);
  const parser = new FrameParser((m) => checker.check(m));
  const window = new Window();
  let first = true;
  let done = false;
  let failure: string | undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    server.stop(true);
    emitAndExit("result", {
      role: "server",
      received: checker.count,
      errors: checker.errors,
      firstError: checker.firstError ?? failure,
      windowComplete: window.ended,
      ...window.summary(),
    });
  };
  const server = Bun.listen<undefined>({
    ...listenOn(cfg),
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.setNoDelay(true);
        // The window is timed from the connection, as for framewire (whose server sees connections, not chunks).
        if (first) {
          first = false;
          window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
        }
      },
      data(_socket, chunk) {
        try {
          parser.push(chunk);
        } catch (error) {
          failure = String(error);
          finish();
        }
      },
      end(socket) {
        socket.end();
        finish();
      },
      close() {
        finish();
      },
      error(_socket, error) {
        failure = String(error);
      },
    },
  });
  emit("listening", { port: server.port });
}

interface EchoState {
  parser: FrameParser;
  writer: Writer;
}

function echoServer(cfg: RunConfig): void {
  let echoed = 0;
  let closed = 0;
  let failure: string | undefined;
  const expected = cfg.kind === "conns" ? cfg.conns : 1;
  const server = Bun.listen<EchoState>({
    ...listenOn(cfg),
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.setNoDelay(true);
        const writer = new Writer(socket as BunSocket<never>);
        const out = new Uint8Array(RAW_HEADER + cfg.size);
        socket.data = {
          writer,
          parser: new FrameParser((m) => {
            // Echo: a fresh frame with the same payload, one write.
            const frame = m.length + RAW_HEADER === out.length ? out : new Uint8Array(RAW_HEADER + m.length);
            writeU32(frame, 0, m.length);
            frame.set(m, RAW_HEADER);
            writer.write(frame);
            echoed++;
          }),
        };
      },
      data(socket, chunk) {
        try {
          socket.data.parser.push(chunk);
        } catch (error) {
          failure = String(error);
          socket.terminate();
        }
      },
      drain(socket) {
        socket.data.writer.drain();
      },
      end(socket) {
        socket.end();
      },
      close() {
        if (++closed === expected) {
          server.stop(true);
          emitAndExit("result", { role: "server", echoed, errors: failure ? 1 : 0, firstError: failure });
        }
      },
      error(_socket, error) {
        failure = String(error);
      },
    },
  });
  emit("listening", { port: server.port });
}

/** idle: memory before any connection and with `cfg.conns` and 2 × `cfg.conns` open, each holding what a raw server holds per connection (a parser). */
async function idleServer(cfg: RunConfig): Promise<void> {
  let received = 0;
  let measured = false;
  let result: (() => void) | undefined;
  const meter = new IdleMeter(cfg.conns);
  const sockets = new Set<BunSocket<FrameParser>>();
  const server = Bun.listen<FrameParser>({
    hostname: cfg.host,
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.data = new FrameParser(() => received++);
        sockets.add(socket);
        meter.connected();
      },
      data(socket, chunk) {
        received += chunk.length;
        socket.data.push(chunk);
      },
      close(socket) {
        sockets.delete(socket);
        if (measured && sockets.size === 0) result?.();
      },
    },
  });
  const before = await settledMemory();
  void meter.done.then(() => {
    measured = true;
    result = () => emitAndExit("result", meter.result(before, received));
    for (const s of sockets) s.end();
    if (sockets.size === 0) result();
  });
  emit("listening", { port: server.port });
}

interface BroadcastSocket {
  /** The part of the current batch the socket did not take yet. */
  pending: Uint8Array | null;
}

/**
 * broadcast ceiling: fills one ~64 KiB batch of consecutive frames (the one-way sender's batching),
 * writes that same batch to every socket, and starts the next batch once every socket took all of
 * it (a short write keeps the rest and waits for that socket's drain): per-frame work once per
 * batch, one write per socket per batch.
 */
function broadcastServer(cfg: RunConfig): void {
  const payload = makePayload(cfg.size);
  const perBatch = framesPerBatch(cfg.size);
  const sockets: BunSocket<BroadcastSocket>[] = [];
  let seq = 0;
  let deliveries = 0;
  let waiting = 0;
  let deadline = Number.POSITIVE_INFINITY;
  let unexpected = 0;
  let failure: string | undefined;
  let closed = 0;
  const pump = (): void => {
    while (performance.now() < deadline) {
      const batch = new Uint8Array(perBatch * (RAW_HEADER + cfg.size)); // fresh: pending parts of the last one may still be referenced
      fillBatch(batch, payload, perBatch, seq);
      seq += perBatch;
      for (const socket of sockets) {
        const n = socket.write(batch);
        if (n < batch.length) {
          socket.data.pending = batch.subarray(Math.max(n, 0));
          waiting++;
        }
      }
      deliveries += perBatch * sockets.length;
      if (waiting > 0) return; // drain() resumes
    }
    for (const socket of sockets) socket.end();
  };
  const server = Bun.listen<BroadcastSocket>({
    hostname: cfg.host,
    port: 0,
    socket: {
      binaryType: "uint8array",
      open(socket) {
        socket.setNoDelay(true);
        socket.data = { pending: null };
        sockets.push(socket);
        if (sockets.length === cfg.conns) {
          setTimeout(() => {
            deadline = performance.now() + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
            pump();
          }, 200);
        }
      },
      data(_socket, chunk) {
        unexpected += chunk.length;
      },
      drain(socket) {
        const pending = socket.data.pending;
        if (pending === null) return;
        const n = socket.write(pending);
        if (n < pending.length) {
          socket.data.pending = pending.subarray(Math.max(n, 0));
          return;
        }
        socket.data.pending = null;
        if (--waiting === 0) pump();
      },
      close() {
        if (++closed === cfg.conns) {
          server.stop(true);
          emitAndExit("result", broadcastServerResult(seq, deliveries, failure, unexpected));
        }
      },
      error(_socket, error) {
        failure ??= String(error);
      },
    },
  });
  emit("listening", { port: server.port });
}

// ───────────────────────── client ─────────────────────────

export async function rawClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else if (cfg.kind === "idle") await idleClients(cfg);
  else if (cfg.kind === "broadcast") await broadcastReceivers(cfg);
  else await requester(cfg);
}

/** Opens `cfg.conns` sockets one after the other, pauses, opens `cfg.conns` more, sends nothing, waits until the server closes them all. */
async function idleClients(cfg: RunConfig): Promise<void> {
  let received = 0;
  let closed = 0;
  let failure: string | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const handler: SocketHandler<undefined> = {
    binaryType: "uint8array",
    data(_socket, chunk) {
      received += chunk.length;
    },
    end(socket) {
      socket.end();
    },
    close() {
      if (++closed === idleConnections(cfg.conns)) resolveDone();
    },
    error(_socket, error) {
      failure ??= String(error);
    },
  };
  const opened = await openIdleBatches(cfg.conns, async () => {
    await Bun.connect<undefined>({ hostname: cfg.host, port: cfg.port, socket: handler });
  });
  await done;
  emitAndExit("result", idleClientResult(opened, received, failure));
}

async function broadcastReceivers(cfg: RunConfig): Promise<void> {
  const tally = new BroadcastTally(cfg);
  let closed = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  const handler: SocketHandler<FrameParser> = {
    binaryType: "uint8array",
    data(socket, chunk) {
      try {
        socket.data.push(chunk);
      } catch (error) {
        tally.fail(error);
        socket.terminate();
      }
    },
    end(socket) {
      socket.end();
    },
    close() {
      tally.closed();
      if (++closed === cfg.conns) resolveDone();
    },
    error(_socket, error) {
      tally.fail(error);
    },
  };
  for (let c = 0; c < cfg.conns; c++) {
    const checker = tally.add();
    const parser = new FrameParser((m) => checker.check(m));
    const socket = await Bun.connect<FrameParser>({ hostname: cfg.host, port: cfg.port, data: parser, socket: handler });
    socket.setNoDelay(true);
  }
  tally.schedule(cfg);
  await done;
  tally.finish();
}

/**
 * One-way sender: ~64 KiB batches, one write each, until the deadline. rawblock fills the batch
 * once (sequence numbers 0..perBatch-1) and writes that same block every time: no per-message work.
 */
async function sender(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const payload = makePayload(size);
  const perBatch = framesPerBatch(size);
  const batch = new Uint8Array(perBatch * (RAW_HEADER + size));
  const block = cfg.impl === "rawblock";
  if (block) fillBatch(batch, payload, perBatch, 0);
  let pending: Uint8Array | null = null;
  let seq = 0;
  let stopping = false;
  let ended = false;
  let t0 = 0;
  let deadline = Number.POSITIVE_INFINITY;
  let failure: string | undefined;

  const pump = (): void => {
    for (;;) {
      if (pending !== null) {
        const n = socket.write(pending);
        if (n < 0) return;
        if (n < pending.length) {
          pending = pending.subarray(n);
          return;
        }
        pending = null;
      }
      if (stopping || performance.now() >= deadline) {
        stopping = true;
        if (!ended) {
          ended = true;
          socket.end();
        }
        return;
      }
      if (!block) fillBatch(batch, payload, perBatch, seq);
      seq += perBatch;
      const n = socket.write(batch);
      if (n < 0) return;
      if (n < batch.length) {
        pending = batch.subarray(n);
        return;
      }
    }
  };

  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));
  const handler: SocketHandler<undefined> = {
    binaryType: "uint8array",
    data() {},
    drain() {
      // Not before dial() returned (a TLS socket may report writable during its handshake).
      if (t0 > 0) pump();
    },
    close() {
      resolveClosed();
    },
    error(_socket, error) {
      failure = String(error);
    },
  };
  const socket = await dial<undefined>(cfg, handler);
  socket.setNoDelay(true);
  t0 = performance.now();
  deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  setTimeout(() => (stopping = true), deadline - t0);
  pump();
  await closed;
  emitAndExit("result", { role: "client", sent: seq, seconds: (performance.now() - t0) / 1000, errors: failure ? 1 : 0, firstError: failure });
}

interface ReqState {
  parser: FrameParser;
  writer: Writer;
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
  let closedCount = 0;
  let errors = 0;
  let firstError: string | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const handler: SocketHandler<ReqState> = {
    binaryType: "uint8array",
    data(socket, chunk) {
      try {
        socket.data.parser.push(chunk);
      } catch (error) {
        errors++;
        firstError ??= String(error);
        socket.terminate();
      }
    },
    drain(socket) {
      socket.data?.writer.drain(); // unset until the requests start (a TLS socket may report writable during its handshake)
    },
    close() {
      if (++closedCount === connCount) resolveDone();
    },
    error(_socket, error) {
      errors++;
      firstError ??= String(error);
    },
  };

  const sockets: BunSocket<ReqState>[] = [];
  for (let c = 0; c < connCount; c++) {
    const socket = await dial<ReqState>(cfg, handler);
    socket.setNoDelay(true);
    sockets.push(socket);
  }

  const checkers: Checker[] = [];
  const starts = () => {
    for (const socket of sockets) {
      const frame = new Uint8Array(RAW_HEADER + size);
      writeU32(frame, 0, size);
      frame.set(payload, RAW_HEADER);
      const checker = new Checker(size);
      checkers.push(checker);
      const writer = new Writer(socket as BunSocket<never>);
      let seq = 0;
      let sentAt = 0;
      const sendNext = (): void => {
        writeU32(frame, RAW_HEADER, seq++);
        sentAt = performance.now();
        writer.write(frame);
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
      socket.data = { parser: new FrameParser(onFrame), writer };
      if (cfg.kind === "pingpong" && cfg.warmupRounds === 0) window.start(0);
      sendNext();
    }
  };
  starts();
  if (cfg.kind === "conns") {
    window.schedule(cfg.warmupMs, cfg.durationMs, () => total, () => (running = false));
  }
  await done;
  const received = checkers.reduce((n, c) => n + c.count, 0);
  for (const c of checkers) {
    errors += c.errors;
    firstError ??= c.firstError;
  }
  emitAndExit("result", { role: "client", received, errors, firstError, windowComplete: window.ended, ...window.summary(), ...latency(rtts) });
}
