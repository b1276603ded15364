/**
 * One process of the rate-limiter accuracy bench (driven by bench/rate-limit.ts), on any runtime:
 *
 *   bun bench/rate-limit-peer.ts <receiver|sender> '<json config>'
 *   node bench/rate-limit-peer.ts …            (Node 24 strips the types; framewire from dist/)
 *   deno run -A bench/rate-limit-peer.ts …
 *
 * The receiver listens and prints `{"event":"listening","port":…}`; the sender connects with
 * `rateLimit`, sends a 1-byte start message and then `count` messages with the natural loop
 * (`await drained()` on "backpressure"). The receiver times, on its own clock, from the start
 * message's arrival to the last message's, prints `{"event":"result",…}`, tells the sender it is
 * done, and exits. Both exit on a hard timeout whatever happens.
 */
import process from "node:process";
import type * as BunEntry from "../adapters/bun/index.ts";

type Transport = Pick<typeof BunEntry, "listen" | "connect">;

interface PeerConfig {
  host: string;
  port: number;
  size: number;
  count: number;
  bytesPerSecond: number;
  burstBytes: number;
  hardTimeoutMs: number;
}

/** The runtime's public entry: the same `listen` / `connect` everywhere. */
async function transport(): Promise<Transport> {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const path = g.Bun !== undefined ? "../adapters/bun/index.ts" : g.Deno !== undefined ? "../adapters/deno/index.ts" : "../dist/adapters/node/index.js";
  return (await import(new URL(path, import.meta.url).href)) as Transport;
}

function emit(event: string, data: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...data })}\n`);
}

async function receiver(t: Transport, cfg: PeerConfig): Promise<void> {
  const server = await t.listen({ host: cfg.host, port: 0, codec: "buffer", heartbeatIntervalMs: 0 });
  server.on("connection", (conn) => {
    let first = 0;
    let received = 0;
    let bytes = 0;
    let wrong = 0;
    conn.on("message", (m: Uint8Array) => {
      const now = performance.now();
      if (first === 0) {
        first = now;
        return;
      }
      if (m.length !== cfg.size) wrong++;
      bytes += m.length;
      if (++received < cfg.count) return;
      emit("result", { measuredMs: now - first, received, bytes, wrong });
      conn.send(Uint8Array.of(1));
      setTimeout(() => void server.close(1000).then(() => process.exit(0)), 50);
    });
  });
  emit("listening", { port: server.port });
}

async function sender(t: Transport, cfg: PeerConfig): Promise<void> {
  const client = await t.connect({
    host: cfg.host,
    port: cfg.port,
    codec: "buffer",
    heartbeatIntervalMs: 0,
    rateLimit: { bytesPerSecond: cfg.bytesPerSecond, burstBytes: cfg.burstBytes },
  });
  client.on("message", () => void client.close().then(() => process.exit(0)));
  const payload = new Uint8Array(cfg.size).fill(7);
  client.send(Uint8Array.of(0));
  for (let i = 0; i < cfg.count; i++) {
    if (client.send(payload) === "backpressure") await client.drained();
  }
}

const [role, json] = process.argv.slice(2);
const cfg = JSON.parse(json ?? "{}") as PeerConfig;
setTimeout(() => {
  emit("error", { message: `${role}: hard timeout after ${cfg.hardTimeoutMs} ms` });
  process.exit(3);
}, cfg.hardTimeoutMs);
const t = await transport();
if (role === "receiver") await receiver(t, cfg);
else if (role === "sender") await sender(t, cfg);
else throw new Error(`unknown role ${role}`);
