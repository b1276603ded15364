/**
 * A child for exit.test.ts: opens a native server and clients, sends, then either calls
 * process.exit(0) with everything still open ("exit"), or closes everything and returns ("return")
 * — the process must then exit by itself, its context stopped.
 */
import { connect, listen } from "../../adapters/native/index.ts";

const mode = (globalThis as unknown as { process: { argv: string[] } }).process.argv[2];
const server = await listen({ host: "127.0.0.1", port: 0 });
server.on("connection", (c) => c.on("message", (m) => c.send(m)));
const clients = await Promise.all(Array.from({ length: 10 }, () => connect({ host: "127.0.0.1", port: server.port })));
let echoes = 0;
for (const c of clients) {
  c.on("message", () => echoes++);
  for (let i = 0; i < 50; i++) c.send(new Uint8Array(1000).fill(i));
}
while (echoes < 10) await new Promise((r) => setTimeout(r, 2));
if (mode === "exit") (globalThis as unknown as { process: { exit(code: number): never } }).process.exit(0);
await Promise.all(clients.map((c) => c.close()));
await server.close(500);
(globalThis as unknown as { process: { stdout: { write(s: string): void } } }).process.stdout.write("closed\n");
