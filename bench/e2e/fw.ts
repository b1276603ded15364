/**
 * framewire through its public API only (`listen` / `connect` from the runtime's entry point:
 * adapters/bun/index.ts, dist/adapters/node/index.js or adapters/deno/index.ts, handed in by the
 * process entry with `useTransport`), written
 * as a user would: one `send()` per message, `await drained()` on "backpressure", a `message`
 * listener per connection. impl "fw" uses protocol "framewire" (the default), "fwraw" protocol "raw",
 * "fwresume" resumable sessions, "fwrate" a rate limit that never binds,
 * "fwtls" protocol "framewire" over TLS.
 */
import type * as BunEntry from "../../adapters/bun/index.ts";
import { BroadcastTally, broadcastServerResult } from "./broadcast-tally.ts";
import { Checker, emit, emitAndExit, latency, makePayload, type RunConfig, tailMs, Window, writeU32 } from "./common.ts";
import { IdleMeter, idleClientResult, openIdleBatches, settledMemory } from "./memory.ts";

/** The runtime's public entry (the same `listen` / `connect` on every runtime). */
export type Transport = Pick<typeof BunEntry, "listen" | "connect">;
let listen: Transport["listen"];
let connect: Transport["connect"];

export function useTransport(entry: Transport): void {
  listen = entry.listen;
  connect = entry.connect;
}

function protocolOf(cfg: RunConfig): "framewire" | "raw" {
  return cfg.impl === "fwraw" ? "raw" : "framewire";
}

/** impl "fwresume": resumable sessions on both sides (numbering, ACKs and the retransmit log on the path); "fwrate": a rate limit on both sides. */
function implOptionsOf(cfg: RunConfig): { resume?: true; rateLimit?: { bytesPerSecond: number; burstBytes: number } } {
  return cfg.impl === "fwresume" ? { resume: true } : cfg.impl === "fwrate" ? { rateLimit: NOT_BINDING } : {};
}

/**
 * impl "fwrate": 10 GB/s, ~20× what one connection reaches here, so it never binds; a 1 MiB
 * burst, so the bucket does run short and refill (reads the clock) every ~15,000 messages of 64 B,
 * as a limit that is merely generous would. What it costs is the limiter's bookkeeping per send.
 */
const NOT_BINDING = { bytesPerSecond: 10_000_000_000, burstBytes: 1024 * 1024 };

/**
 * impl "fwtls": the `tls` option with the driver's PKI. The client verifies the chain and the name
 * (127.0.0.1 against the certificate's IP SANs), as a user would; no client certificate. An adapter
 * without TLS makes listen() fail with FW_UNSUPPORTED, which the process reports as "unsupported".
 */
function serverTlsOf(cfg: RunConfig): { tls?: { cert: string; key: string } } {
  return cfg.tls ? { tls: { cert: cfg.tls.cert, key: cfg.tls.key } } : {};
}
function clientTlsOf(cfg: RunConfig): { tls?: { ca: string } } {
  return cfg.tls ? { tls: { ca: cfg.tls.ca } } : {};
}

// ───────────────────────── server ─────────────────────────

export async function fwServer(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "idle") return idleServer(cfg);
  if (cfg.kind === "broadcast") return broadcastServer(cfg);
  const server = await listen({ host: cfg.host, port: 0, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...serverTlsOf(cfg) });
  if (cfg.kind === "oneway") {
    const checker = new Checker(cfg.size);
    const window = new Window();
    let done = false;
    server.on("connection", (conn) => {
      window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
      conn.on("message", (m: Uint8Array) => checker.check(m));
      conn.on("close", (info) => {
        if (done) return;
        done = true;
        void server.close(0);
        emitAndExit("result", {
          role: "server",
          received: checker.count,
          errors: checker.errors + (info.error ? 1 : 0),
          firstError: checker.firstError ?? (info.error ? `${info.code}: ${info.reason}` : undefined),
          closeCode: info.code,
          windowComplete: window.ended,
          ...window.summary(),
        });
      });
    });
  } else {
    const expected = cfg.kind === "conns" ? cfg.conns : 1;
    let echoed = 0;
    let closed = 0;
    let errors = 0;
    let firstError: string | undefined;
    server.on("connection", (conn) => {
      conn.on("message", (m: Uint8Array) => {
        conn.send(m);
        echoed++;
      });
      conn.on("close", (info) => {
        if (info.error) {
          errors++;
          firstError ??= `${info.code}: ${info.reason}`;
        }
        if (++closed === expected) {
          void server.close(0);
          emitAndExit("result", { role: "server", echoed, errors, firstError });
        }
      });
    });
  }
  emit("listening", { port: server.port });
}

/** idle: memory before listening, and once `cfg.conns` and 2 × `cfg.conns` connections completed their handshake (`connection` events). */
async function idleServer(cfg: RunConfig): Promise<void> {
  const server = await listen({ host: cfg.host, port: 0, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...serverTlsOf(cfg) });
  const before = await settledMemory();
  const meter = new IdleMeter(cfg.conns);
  let received = 0;
  server.on("connection", (conn) => {
    conn.on("message", () => received++);
    meter.connected();
  });
  void meter.done.then(async () => {
    await server.close(2000);
    emitAndExit("result", meter.result(before, received));
  });
  emit("listening", { port: server.port });
}

const BROADCAST_HIGH_WATER_MARK = 64 * 1024;

/**
 * broadcast: once all `cfg.conns` connections are open, the natural loop: `server.broadcast()`
 * as fast as it goes, and when a connection reports backpressure, wait until every connection is
 * below its highWaterMark again (`drained()` resolves at once for those that are): the slowest
 * client paces the broadcast, and no queue grows past highWaterMark + one message. highWaterMark
 * is 64 KiB, the raw broadcaster's batch.
 */
async function broadcastServer(cfg: RunConfig): Promise<void> {
  // 64 KiB per connection, not the 1 MiB default: 1000 × 1 MiB would queue 1 GiB before the first
  // backpressure, and on Deno (asynchronous writes) the loop would not yield before then.
  const server = await listen({ host: cfg.host, port: 0, codec: "buffer", protocol: protocolOf(cfg), highWaterMark: BROADCAST_HIGH_WATER_MARK, ...serverTlsOf(cfg) });
  let unexpected = 0;
  const run = async (): Promise<void> => {
    const conns = [...server.connections.values()];
    const payload = makePayload(cfg.size); // broadcast() encodes (here: takes) it once and copies it into every queue
    const deadline = performance.now() + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
    let seq = 0;
    let deliveries = 0;
    let failure: string | undefined;
    for (;;) {
      writeU32(payload, 0, seq++);
      const r = server.broadcast(payload);
      deliveries += r.queued + r.backpressure;
      if (r.queued + r.backpressure !== conns.length) {
        failure = `broadcast #${seq - 1}: ${JSON.stringify(r)}`;
        break;
      }
      if (r.backpressure > 0) await Promise.all(conns.map((c) => c.drained()));
      // The loop yields only on backpressure: check the clock every 256 rounds.
      if ((seq & 255) === 0 && performance.now() >= deadline) break;
    }
    await server.close(10_000); // GOAWAY after what is queued: every client gets every round
    emitAndExit("result", broadcastServerResult(seq, deliveries, failure, unexpected));
  };
  let connections = 0;
  server.on("connection", (conn) => {
    conn.on("message", () => unexpected++);
    // A short pause after the last one: its client attaches the listener right after connect() resolves.
    if (++connections === cfg.conns) setTimeout(() => void run(), 200);
  });
  emit("listening", { port: server.port });
}

// ───────────────────────── client ─────────────────────────

export async function fwClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else if (cfg.kind === "idle") await idleClients(cfg);
  else if (cfg.kind === "broadcast") await broadcastReceivers(cfg);
  else await requester(cfg);
}

/** Opens `cfg.conns` connections (each connect() resolves after the handshake), pauses, opens `cfg.conns` more, sends nothing, and waits for the server to close them. */
async function idleClients(cfg: RunConfig): Promise<void> {
  const closed: Promise<BunEntry.CloseInfo>[] = [];
  let received = 0;
  await openIdleBatches(cfg.conns, async () => {
    const client = await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...clientTlsOf(cfg) });
    client.on("message", () => received++);
    closed.push(client.closed());
  });
  const infos = await Promise.all(closed);
  const failed = infos.find((i) => i.error);
  emitAndExit("result", idleClientResult(closed.length, received, failed ? `${failed.code}: ${failed.reason}` : undefined));
}

async function broadcastReceivers(cfg: RunConfig): Promise<void> {
  const tally = new BroadcastTally(cfg);
  const clients = [];
  for (let c = 0; c < cfg.conns; c++) {
    const client = await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...clientTlsOf(cfg) });
    const checker = tally.add();
    client.on("message", (m: Uint8Array) => checker.check(m));
    client.on("close", (info) => {
      tally.closed();
      if (info.error) tally.fail(`${info.code}: ${info.reason}`);
    });
    clients.push(client);
  }
  tally.schedule(cfg);
  await Promise.all(clients.map((c) => c.closed()));
  tally.finish();
}

async function sender(cfg: RunConfig): Promise<void> {
  const client = await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...clientTlsOf(cfg) });
  const payload = makePayload(cfg.size); // reused for every message: send() copies it into the batch
  const t0 = performance.now();
  const deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  let running = true;
  setTimeout(() => (running = false), deadline - t0);
  let seq = 0;
  let i = 0;
  let failure: string | undefined;
  // The natural user loop. The time check every 1024 sends is only a safety net in case the loop
  // never yields to the event loop (it yields whenever the socket is full).
  while (running) {
    writeU32(payload, 0, seq);
    const status = client.send(payload);
    if (status === "backpressure") {
      seq++;
      await client.drained();
    } else if (status === "queued") {
      seq++;
    } else {
      failure = `send returned ${status}`;
      break;
    }
    if ((++i & 1023) === 0 && performance.now() >= deadline) break;
  }
  const info = await client.close();
  emitAndExit("result", {
    role: "client",
    sent: seq,
    seconds: (performance.now() - t0) / 1000,
    closeCode: info.code,
    errors: failure || info.error ? 1 : 0,
    firstError: failure ?? (info.error ? `${info.code}: ${info.reason}` : undefined),
  });
}

async function requester(cfg: RunConfig): Promise<void> {
  const size = cfg.size;
  const connCount = cfg.kind === "conns" ? cfg.conns : 1;
  const window = new Window();
  const rtts = new Float64Array(cfg.kind === "pingpong" ? cfg.rounds : 0);
  const totalRounds = cfg.warmupRounds + cfg.rounds;
  let total = 0;
  let running = true;
  const clients = [];
  for (let c = 0; c < connCount; c++) {
    clients.push(await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg), ...implOptionsOf(cfg), ...clientTlsOf(cfg) }));
  }
  const checkers: Checker[] = [];
  for (const client of clients) {
    const payload = makePayload(size);
    const checker = new Checker(size);
    checkers.push(checker);
    let seq = 0;
    let sentAt = 0;
    const sendNext = (): void => {
      writeU32(payload, 0, seq++);
      sentAt = performance.now();
      client.send(payload);
    };
    client.on(
      "message",
      cfg.kind === "pingpong"
        ? (m: Uint8Array): void => {
            const now = performance.now();
            checker.check(m);
            const i = checker.count - 1 - cfg.warmupRounds;
            if (i >= 0) rtts[i] = now - sentAt;
            if (checker.count === cfg.warmupRounds) window.start(0);
            if (checker.count === totalRounds) {
              window.stop(cfg.rounds);
              void client.close();
              return;
            }
            sendNext();
          }
        : (m: Uint8Array): void => {
            checker.check(m);
            total++;
            if (running) sendNext();
            else void client.close();
          },
    );
    if (cfg.kind === "pingpong" && cfg.warmupRounds === 0) window.start(0);
    sendNext();
  }
  if (cfg.kind === "conns") window.schedule(cfg.warmupMs, cfg.durationMs, () => total, () => (running = false));
  const infos = await Promise.all(clients.map((c) => c.closed()));
  let errors = 0;
  let firstError: string | undefined;
  for (const info of infos) {
    if (info.error) {
      errors++;
      firstError ??= `${info.code}: ${info.reason}`;
    }
  }
  for (const c of checkers) {
    errors += c.errors;
    firstError ??= c.firstError;
  }
  const received = checkers.reduce((n, c) => n + c.count, 0);
  emitAndExit("result", { role: "client", received, errors, firstError, windowComplete: window.ended, ...window.summary(), ...latency(rtts) });
}
