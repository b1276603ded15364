/**
 * What is specific to the Bun adapter and not in the conformance suite: its capabilities, and the
 * Bun behaviours it works around — `Bun.connect` ignores `localAddress` for a host name and
 * `localPort` without an address, and takes a string `ALPNProtocols` as one protocol name.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { adapter, BunAdapter, connect, listen, type Server } from "../../adapters/bun/index.ts";
import { HOST, sleep, within } from "./helpers.ts";

interface Pki {
  ca: string;
  server_cert: string;
  server_key: string;
}

let dir = "";
let pki: Pki;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fw-bun-tls-"));
  const script = fileURLToPath(new URL("../fixtures/tls_material.py", import.meta.url));
  const run = Bun.spawnSync(["python3", script, dir], { timeout: 20_000 });
  if (run.exitCode !== 0) throw new Error(`tls_material.py failed: ${run.stderr.toString()}`);
  pki = JSON.parse(run.stdout.toString()) as Pki;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

/** A server that reports its first connection's remote address and port. */
async function addressServer(): Promise<{ server: Server<unknown>; first: () => Promise<string> }> {
  const server = await listen({ host: HOST, port: 0 });
  servers.push(server as Server<unknown>);
  const seen: string[] = [];
  server.on("connection", (c) => void seen.push(`${c.remoteAddress}:${c.remotePort}`));
  return {
    server: server as Server<unknown>,
    async first() {
      while (seen.length === 0) await sleep(5);
      return seen[0] as string;
    },
  };
}

/** A port free right now on 127.0.0.1 (the kernel's pick). */
function freePort(): number {
  const probe = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

test("the adapter is Bun's; TLS lists every option on both sides, localBind is on", () => {
  expect(adapter).toBeInstanceOf(BunAdapter);
  const tls = adapter.capabilities.tls;
  if (tls === false) throw new Error("capabilities.tls is false");
  expect([...tls.client].sort()).toEqual(["alpn", "ca", "cert", "key", "passphrase", "pin", "rejectUnauthorized", "servername"]);
  expect([...tls.server].sort()).toEqual(["alpn", "ca", "cert", "key", "passphrase", "requestCert", "requireCert"]);
  expect(adapter.capabilities.localBind).toBe(true);
});

test("networkInterfaces lists the loopback with 127.0.0.1 as family 4", () => {
  const interfaces = adapter.networkInterfaces?.() ?? {};
  const all = Object.values(interfaces).flat();
  expect(all).toContainEqual({ address: "127.0.0.1", family: 4 });
  for (const one of all) expect([4, 6]).toContain(one.family);
});

test("localAddress binds even when the host is a name (Bun.connect alone would ignore it)", async () => {
  const { server, first } = await addressServer();
  const client = await within(connect({ host: "localhost", port: server.port, localAddress: "127.0.0.2" }), 5_000, "connect");
  try {
    expect((await within(first(), 5_000, "server sees the client")).split(":")[0]).toBe("127.0.0.2");
  } finally {
    await client.close();
  }
});

test("localPort alone binds that port (Bun.connect alone would pick another)", async () => {
  const { server, first } = await addressServer();
  const port = freePort();
  const client = await within(connect({ host: HOST, port: server.port, localPort: port }), 5_000, "connect");
  try {
    expect(await within(first(), 5_000, "server sees the client")).toBe(`127.0.0.1:${port}`);
  } finally {
    await client.close();
  }
});

test("a local port in use fails the dial with FW_SOCKET_ERROR", async () => {
  const { server } = await addressServer();
  const port = freePort();
  const first = await within(connect({ host: HOST, port: server.port, localAddress: HOST, localPort: port }), 5_000, "connect");
  try {
    const second = connect({ host: HOST, port: server.port, localAddress: HOST, localPort: port });
    await expect(within(second, 5_000, "second connect")).rejects.toMatchObject({ code: "FW_SOCKET_ERROR" });
  } finally {
    await first.close();
  }
});

test("ALPN offers every protocol of the list (wire form), the server picks the one it accepts", async () => {
  const server = await listen({ host: HOST, port: 0, tls: { cert: pki.server_cert, key: pki.server_key, alpn: ["fw/1"] } });
  servers.push(server as Server<unknown>);
  let serverAlpn: string | undefined;
  server.on("connection", (c) => void (serverAlpn = c.tls?.alpn));
  const client = await within(connect({ host: HOST, port: server.port, tls: { ca: pki.ca, alpn: ["x-other/9", "fw/1"] } }), 5_000, "connect");
  try {
    expect(client.connection?.tls?.alpn).toBe("fw/1");
    await within((async () => { while (serverAlpn === undefined) await sleep(5); })(), 5_000, "server connection");
    expect(serverAlpn).toBe("fw/1");
  } finally {
    await client.close();
  }
});

test("a TLS server drops a client that never starts the TLS handshake after handshakeTimeoutMs, counted as tlsFailed", async () => {
  const server = await listen({ host: HOST, port: 0, handshakeTimeoutMs: 300, tls: { cert: pki.server_cert, key: pki.server_key } });
  servers.push(server as Server<unknown>);
  const closed = Promise.withResolvers<number>();
  const started = performance.now();
  const socket = await Bun.connect({ hostname: HOST, port: server.port, socket: { data() {}, close: () => closed.resolve(performance.now() - started) } });
  try {
    const after = await within(closed.promise, 5_000, "the server closes the silent client");
    expect(after).toBeGreaterThanOrEqual(250);
    expect(server.stats().limits.tlsFailed).toBe(1);
  } finally {
    socket.terminate();
  }
});
