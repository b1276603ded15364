/**
 * In-process benchmarks of framewire's per-message send and receive paths, with no sockets and
 * no kernel: a framewire client and server joined by in-memory sockets (through the public
 * `createTransport` with a memory adapter), against the hand-written parser and batcher that the
 * e2e "raw" ceiling uses. This isolates what framewire itself costs per message, which the
 * two-process e2e numbers (noisy, kernel-bound) cannot.
 *
 *   ./node_modules/.bin/bun bench/micro/connection.bench.ts [--filter=regex]
 *
 * Receive: every iteration hands the server connection one fresh 64 KiB chunk (a copy, as a
 * socket read would be) holding whole frames of 64 B payloads; the `message` listener counts.
 * Send: every iteration sends 1024 64 B messages and lets the tick end (one coalesced write).
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { FrameParser } from "../e2e/raw.ts";
import {
  type Client,
  type Connection,
  createTransport,
  LengthPrefixedFramer,
  type OnSocket,
  type RawSocket,
  type SocketAdapter,
  type SocketHandlers,
} from "../../src/index.ts";

const PAYLOAD = 64;
const CHUNK = 64 * 1024;
const SENDS = 1024;

/** One end of an in-memory socket pair. Writes reach the peer in a microtask, copied. */
class MemSocket implements RawSocket {
  peer: MemSocket | undefined;
  handlers: SocketHandlers | undefined;
  /** When set, writes are counted and dropped (the send benchmark). */
  discard = false;
  written = 0;
  closed = false;
  readonly remoteAddress = "memory";
  readonly remotePort = 0;
  readonly localAddress = "memory";
  readonly localPort = 0;

  write(bytes: Uint8Array): number {
    if (this.closed) return -1;
    this.written += bytes.length;
    if (!this.discard) {
      const copy = bytes.slice();
      const peer = this.peer;
      queueMicrotask(() => peer?.handlers?.data(copy));
    }
    return bytes.length;
  }
  end(): void {
    const peer = this.peer;
    queueMicrotask(() => peer?.handlers?.end());
  }
  destroy(): void {
    for (const s of [this, this.peer]) {
      if (s && !s.closed) {
        s.closed = true;
        const h = s.handlers;
        queueMicrotask(() => h?.close());
      }
    }
  }
  pause(): void {}
  resume(): void {}
  setNoDelay(): void {}
  setKeepAlive(): void {}
}

let accept: OnSocket | undefined;
let lastServerSocket: MemSocket | undefined;
let lastClientSocket: MemSocket | undefined;
const memoryAdapter: SocketAdapter = {
  name: "bun",
  capabilities: { tls: false, localBind: false, unixSockets: false, ipv6: false, reusePort: false, retainsWrites: false },
  async listen(_options, onSocket) {
    accept = onSocket;
    return { port: 1, host: "memory", async close() {} };
  },
  async connect(_options, onSocket) {
    const client = new MemSocket();
    const server = new MemSocket();
    client.peer = server;
    server.peer = client;
    server.handlers = (accept as OnSocket)(server);
    client.handlers = onSocket(client);
    lastServerSocket = server;
    lastClientSocket = client;
  },
};
const { listen, connect } = createTransport(memoryAdapter);

/** A rate limit far above what one connection sends (as e2e impl "fwrate"): what its bookkeeping costs per send. */
const NOT_BINDING = { rateLimit: { bytesPerSecond: 10_000_000_000, burstBytes: 1024 * 1024 } };

async function pair(protocol: "framewire" | "raw", extra: { rateLimit?: typeof NOT_BINDING.rateLimit } = {}) {
  const server = await listen({ port: 0, protocol, codec: "buffer" });
  const accepted = new Promise<Connection<Uint8Array>>((resolve) => server.on("connection", resolve));
  const client = (await connect({ port: 1, protocol, codec: "buffer", ...extra })) as Client<Uint8Array>;
  const connection = await accepted;
  return { server, client, connection, serverSocket: lastServerSocket as MemSocket, clientSocket: lastClientSocket as MemSocket };
}

function payload(): Uint8Array {
  const p = new Uint8Array(PAYLOAD);
  for (let i = 0; i < PAYLOAD; i++) p[i] = i;
  return p;
}

/** A chunk of whole frames: framewire's (`len | 0x00 | payload`) or plain (`len | payload`). */
function chunkOf(typeByte: boolean): { bytes: Uint8Array; frames: number } {
  const framer = new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: 16 * 1024 * 1024 + 1 });
  const frameLength = framer.encodedLength(PAYLOAD + (typeByte ? 1 : 0));
  const frames = Math.floor(CHUNK / frameLength);
  const bytes = new Uint8Array(frames * frameLength);
  const body = payload();
  for (let i = 0, at = 0; i < frames; i++) at = framer.encodeInto(bytes, at, body, typeByte ? 0 : -1);
  return { bytes, frames };
}

// The consumer every receive path feeds: the same tiny work per message.
let received = 0;
let checksum = 0;
const consume = (m: Uint8Array): void => {
  received++;
  checksum += m.length + (m[1] as number);
};

const perIteration = new Map<string, number>();

const fw = await pair("framewire");
const fwraw = await pair("raw");
const fwrate = await pair("framewire", NOT_BINDING);
fw.connection.on("message", consume);
fwraw.connection.on("message", consume);
const fwChunk = chunkOf(true);
const rawChunk = chunkOf(false);
const parser = new FrameParser(consume);
// Called as methods, as adapters do: the core's handlers are one object per connection.
const fwHandlers = fw.serverSocket.handlers as SocketHandlers;
const fwrawHandlers = fwraw.serverSocket.handlers as SocketHandlers;
const fwData = (chunk: Uint8Array): void => fwHandlers.data(chunk);
const fwrawData = (chunk: Uint8Array): void => fwrawHandlers.data(chunk);

group(`receive: fresh ${CHUNK / 1024} KiB chunks of ${PAYLOAD} B messages → message listener`, () => {
  summary(() => {
    perIteration.set("recv hand-written parser (e2e raw ceiling)", rawChunk.frames);
    bench("recv hand-written parser (e2e raw ceiling)", () => parser.push(rawChunk.bytes.slice())).baseline(true);
    perIteration.set("recv framewire protocol framewire", fwChunk.frames);
    bench("recv framewire protocol framewire", () => fwData(fwChunk.bytes.slice()));
    perIteration.set("recv framewire protocol raw", rawChunk.frames);
    bench("recv framewire protocol raw", () => fwrawData(rawChunk.bytes.slice()));
    perIteration.set("recv parse only, no views (lower bound)", rawChunk.frames);
    const bare = rawChunk.bytes;
    bench("recv parse only, no views (lower bound)", () => {
      const c = bare.slice();
      let pos = 0;
      while (pos + 4 <= c.length) {
        const size = (((c[pos] as number) << 24) | ((c[pos + 1] as number) << 16) | ((c[pos + 2] as number) << 8) | (c[pos + 3] as number)) >>> 0;
        received++;
        checksum += size + (c[pos + 5] as number);
        pos += 4 + size;
      }
    });
  });
});

// Send: writes go nowhere (counted), so this is framewire's own per-message cost.
fw.clientSocket.discard = true;
fwraw.clientSocket.discard = true;
fwrate.clientSocket.discard = true;
const body = payload();
const sink = new MemSocket();
sink.discard = true;
const frameLength = 4 + PAYLOAD;
const batch = new Uint8Array(SENDS * frameLength);
let seq = 0;
function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

group(`send: ${SENDS} × ${PAYLOAD} B messages per tick`, () => {
  summary(() => {
    perIteration.set("send hand-written batch (e2e raw ceiling)", SENDS);
    bench("send hand-written batch (e2e raw ceiling)", () => {
      let at = 0;
      for (let i = 0; i < SENDS; i++) {
        writeU32(batch, at, PAYLOAD);
        batch.set(body, at + 4);
        writeU32(batch, at + 4, seq++);
        at += frameLength;
      }
      sink.write(batch);
    }).baseline(true);
    for (const [name, client] of [
      ["send framewire client.send, protocol framewire", fw.client],
      ["send framewire client.send, protocol raw", fwraw.client],
      ["send framewire client.send, rateLimit not binding", fwrate.client],
    ] as const) {
      perIteration.set(name, SENDS);
      bench(name, async () => {
        for (let i = 0; i < SENDS; i++) {
          writeU32(body, 0, seq++);
          client.send(body);
        }
        await undefined; // end of tick: the coalesced flush runs
      });
    }
  });
});

const filterArg = process.argv.find((a) => a.startsWith("--filter="));
const result = await run({
  ...(filterArg ? { filter: new RegExp(filterArg.slice("--filter=".length)) } : {}),
  colors: process.stdout.isTTY ?? false,
});
do_not_optimize(checksum);
do_not_optimize(sink.written);

console.log("\n| benchmark | time/iter (avg) | ns/message | messages/s |\n|---|---:|---:|---:|");
for (const trial of result.benchmarks) {
  for (const r of trial.runs) {
    const n = perIteration.get(r.name);
    if (!r.stats || !n) continue;
    const ns = r.stats.avg / n;
    console.log(`| ${r.name} | ${(r.stats.avg / 1e3).toFixed(1)} µs | ${ns.toFixed(1)} | ${(1e3 / ns).toFixed(2)} M |`);
  }
}
process.exit(0);
