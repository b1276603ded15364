import { createTransport, type OnSocket, type RawSocket, type SocketAdapter, type SocketHandlers, type Client } from "../../src/index.ts";
class Sink implements RawSocket { handlers: SocketHandlers | undefined; peer: Sink | undefined; written = 0; readonly remoteAddress = "m"; readonly remotePort = 0; readonly localAddress = "m"; readonly localPort = 0; discard = false;
  write(b: Uint8Array): number { this.written += b.length; if (!this.discard) { const c = b.slice(); const p = this.peer; queueMicrotask(() => p?.handlers?.data(c)); } return b.length; }
  end() {} destroy() {} pause() {} resume() {} setNoDelay() {} setKeepAlive() {} }
let accept: OnSocket | undefined; let last: Sink | undefined;
const adapter: SocketAdapter = { name: "bun", capabilities: { tls: false, unixSockets: false, ipv6: false, reusePort: false, retainsWrites: false },
  async listen(_o, on) { accept = on; return { port: 1, host: "m", async close() {} }; },
  async connect(_o, on) { const c = new Sink(), s = new Sink(); c.peer = s; s.peer = c; s.handlers = accept!(s); c.handlers = on(c); last = c; } };
const { listen, connect } = createTransport(adapter);
const protocol = (process.argv[2] ?? "framewire") as "framewire" | "raw";
const server = await listen({ port: 0, protocol, codec: "buffer" });
const client = (await connect({ port: 1, protocol, codec: "buffer" })) as Client<Uint8Array>;
await new Promise((r) => setTimeout(r, 10));
last!.discard = true;
const body = new Uint8Array(64);
const times: number[] = [];
let seq = 0;
for (let round = 0; round < 3000; round++) {
  const t0 = performance.now();
  for (let i = 0; i < 1024; i++) { body[0] = seq++ & 0xff; client.send(body); }
  await undefined;
  times.push(performance.now() - t0);
}
times.sort((a, b) => a - b);
console.log(protocol, "ns/msg median", ((times[times.length >> 1] as number) * 1e6 / 1024).toFixed(1), "p10", ((times[Math.floor(times.length / 10)] as number) * 1e6 / 1024).toFixed(1));
process.exit(0);
