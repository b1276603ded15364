/**
 * framewire through its public API only (`listen` / `connect` from the runtime's entry point:
 * adapters/bun/index.ts, dist/adapters/node/index.js or adapters/deno/index.ts, handed in by the
 * process entry with `useTransport`), written
 * as a user would: one `send()` per message, `await drained()` on "backpressure", a `message`
 * listener per connection. impl "fw" uses protocol "framewire" (the default), "fwraw" protocol "raw".
 */
import type * as BunEntry from "../../adapters/bun/index.ts";
import { Checker, emit, emitAndExit, latency, makePayload, type RunConfig, tailMs, Window, writeU32 } from "./common.ts";

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

// ───────────────────────── server ─────────────────────────

export async function fwServer(cfg: RunConfig): Promise<void> {
  const server = await listen({ host: cfg.host, port: 0, codec: "buffer", protocol: protocolOf(cfg) });
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

// ───────────────────────── client ─────────────────────────

export async function fwClient(cfg: RunConfig): Promise<void> {
  if (cfg.kind === "oneway") await sender(cfg);
  else await requester(cfg);
}

async function sender(cfg: RunConfig): Promise<void> {
  const client = await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg) });
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
    clients.push(await connect({ host: cfg.host, port: cfg.port, codec: "buffer", protocol: protocolOf(cfg) }));
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
