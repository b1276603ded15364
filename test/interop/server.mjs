// Interop server: framewire and raw listeners on the runtime that runs this file. Greets every
// client first (server → client), answers each message with a transformation (client → server →
// client), prints its ports as one JSON line, and exits after `args[0]` seconds at most.
import { args, entry, exit, print, readText, runtime } from "./runtime.mjs";

const { listen } = await import(entry);
const lifetime = Number(args[0] ?? 30) * 1000;

const fw = await listen({ host: "127.0.0.1", port: 0, codec: "json", tags: { runtime } });
fw.on("connection", (conn) => {
  conn.send({ hello: runtime, session: conn.sessionId });
  conn.on("message", (m) => conn.send({ from: runtime, seq: m.seq, echo: m.body }));
});

const raw = await listen({ host: "127.0.0.1", port: 0, protocol: "raw" });
raw.on("connection", (conn) => {
  conn.send(new TextEncoder().encode(`hello from ${runtime}`));
  // Reverse every payload, so the client can tell the server really read it.
  conn.on("message", (m) => conn.send(m.slice().reverse()));
});

// TLS (when a directory with the test PKI is given): the framewire protocol inside TLS.
const pki = args[1];
const secure = pki === undefined ? undefined : await listen({ host: "127.0.0.1", port: 0, codec: "json", tls: { cert: await readText(`${pki}/server.crt`), key: await readText(`${pki}/server.key`) } });
secure?.on("connection", (conn) => {
  conn.send({ hello: runtime, tls: conn.tls?.protocol ?? "unknown" });
  conn.on("message", (m) => conn.send({ from: runtime, seq: m.seq, echo: m.body }));
});

// Resumable sessions: every message is echoed as it is; the client checks it gets each once, in order.
const resuming = await listen({ host: "127.0.0.1", port: 0, resume: true, heartbeatIntervalMs: 0 });
resuming.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));

print(JSON.stringify({ runtime, framewire: fw.port, raw: raw.port, resume: resuming.port, tls: secure?.port, adapter: fw.adapter.name }));
setTimeout(async () => {
  await Promise.all([fw.close(500), raw.close(500), resuming.close(500), secure?.close(500)]);
  exit(0);
}, lifetime);
