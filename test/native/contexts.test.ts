/**
 * The native adapter with real sockets on 127.0.0.1: two contexts in one process, a peer that
 * never reads, shutdown under load, and many connections at once.
 */
import { describe, expect, test } from "bun:test";
import { type Client, createTransport, NativeAdapter, type Server } from "../../adapters/native/index.ts";
import { listen as bunListen } from "../../adapters/bun/index.ts";

const HOST = "127.0.0.1";
const KiB = 1024;

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function echo(server: Server<Uint8Array>): void {
  server.on("connection", (c) => c.on("message", (m) => c.send(m)));
}

describe("native adapter", () => {
  test("two adapters (two contexts) in one process carry traffic both ways", async () => {
    const a = new NativeAdapter();
    const b = new NativeAdapter();
    const ta = createTransport(a);
    const tb = createTransport(b);
    const server = await ta.listen({ host: HOST, port: 0 });
    echo(server);
    const client = await tb.connect({ host: HOST, port: server.port });
    const back: number[] = [];
    client.on("message", (m) => back.push(m[0] as number));
    for (let i = 0; i < 200; i++) client.send(Uint8Array.of(i & 0xff, 1, 2, 3));
    await until(() => back.length === 200, 5000, `${back.length}/200 echoes`);
    expect(back).toEqual(Array.from({ length: 200 }, (_, i) => i & 0xff));
    expect(a.stats()?.connections).toBe(1);
    expect(b.stats()?.connections).toBe(1);
    expect(a.stats()!.bytesIn).toBeGreaterThan(0);
    await client.close();
    await server.close(500);
    // Nothing open: each context stops and is freed by itself.
    await until(() => a.stats() === undefined && b.stats() === undefined, 2000, "both contexts stopped");
  });

  test("a peer that never reads: writes are refused past highWaterBytes, the sender's memory stays bounded, nothing is lost", async () => {
    const highWater = 256 * KiB;
    const adapter = new NativeAdapter({ highWaterBytes: highWater });
    const transport = createTransport(adapter);
    // The peer: Bun's own sockets, paused at once (it reads nothing until resumed).
    const peer = await bunListen({ host: HOST, port: 0, protocol: "raw", framing: { type: "none" } });
    let received = 0;
    let peerConn: { resume(): void } | undefined;
    peer.on("connection", (c) => {
      c.pause();
      peerConn = c;
      c.on("message", (m) => (received += m.length));
    });
    const client: Client<Uint8Array> = await transport.connect({ host: HOST, port: peer.port, protocol: "raw", framing: { type: "none" }, highWaterMark: 64 * KiB, maxBufferedBytes: 64 * MiB });
    const chunk = new Uint8Array(64 * KiB).fill(9);
    let sent = 0;
    let backpressure = false;
    for (let round = 0; round < 400 && !backpressure; round++) {
      for (let i = 0; i < 4; i++) {
        if (client.send(chunk) === "backpressure") backpressure = true;
        sent += chunk.length;
      }
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(backpressure).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const stats = adapter.stats()!;
    expect(stats.queuedOut).toBeLessThanOrEqual(highWater);
    expect(client.bufferedAmount).toBeGreaterThan(0); // the rest waits in the core, bounded by its own limits
    peerConn!.resume();
    await until(() => received === sent, 10_000, `peer received ${received}/${sent}`);
    await client.close();
    await peer.close(500);
  });

  test("shutdown under load: close() while traffic flows closes every socket once, no crash", async () => {
    const adapter = new NativeAdapter();
    const transport = createTransport(adapter);
    const server = await transport.listen({ host: HOST, port: 0 });
    echo(server);
    const clients = await Promise.all(Array.from({ length: 20 }, () => transport.connect({ host: HOST, port: server.port })));
    let closes = 0;
    for (const c of clients) c.on("close", () => closes++);
    const payload = new Uint8Array(8 * KiB).fill(3);
    let flowing = true;
    const pump = (async () => {
      while (flowing) {
        for (const c of clients) if (c.state === "open") c.send(payload);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    expect(adapter.stats()!.bytesIn).toBeGreaterThan(100 * KiB);
    await adapter.close();
    flowing = false;
    await pump;
    await until(() => closes === clients.length, 5000, `${closes}/${clients.length} clients closed`);
    expect(adapter.stats()).toBeUndefined();
    await server.close(100);
    // The adapter starts a fresh context afterwards.
    const again = await transport.listen({ host: HOST, port: 0 });
    echo(again);
    const c = await transport.connect({ host: HOST, port: again.port });
    const back = new Promise<Uint8Array>((resolve) => c.on("message", resolve));
    c.send(Uint8Array.of(42));
    expect([...(await back)]).toEqual([42]);
    await c.close();
    await again.close(500);
  });

  test("1,000 connections at once, each echoes its own bytes", async () => {
    const transport = createTransport(new NativeAdapter());
    const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0, connectionRate: false, maxConnectionsPerAddress: 2000, maxConnections: 2000 });
    echo(server);
    const n = 1000;
    const clients: Client<Uint8Array>[] = [];
    for (let i = 0; i < n; i += 100) {
      clients.push(...(await Promise.all(Array.from({ length: 100 }, () => transport.connect({ host: HOST, port: server.port })))));
    }
    let ok = 0;
    clients.forEach((c, i) => {
      c.on("message", (m) => {
        if (m.length === 4 && new DataView(m.buffer, m.byteOffset).getUint32(0) === i) ok++;
      });
      const body = new Uint8Array(4);
      new DataView(body.buffer).setUint32(0, i);
      c.send(body);
    });
    await until(() => ok === n, 15_000, `${ok}/${n} echoes`);
    expect(server.connections.size).toBe(n);
    await Promise.all(clients.map((c) => c.close()));
    await server.close(1000);
  }, 30_000);

  test("interface binds the socket to the device (SO_BINDTODEVICE), as ss shows it; without interface it is not", async () => {
    const transport = createTransport(new NativeAdapter());
    const server = await bunListen({ host: HOST, port: 0 });
    const ports: number[] = [];
    server.on("connection", (c) => ports.push(c.remotePort));
    const bound = await transport.connect({ host: HOST, port: server.port, interface: "lo" });
    await until(() => ports.length === 1, 5000, "the bound client arrives");
    const plain = await transport.connect({ host: HOST, port: server.port });
    await until(() => ports.length === 2, 5000, "the plain client arrives");
    // ss prints a socket bound to a device as address%device.
    const ss = Bun.spawnSync(["ss", "-tnH", "state", "established", `dst ${HOST}:${server.port}`]);
    const text = ss.stdout.toString();
    expect(text).toContain(`${HOST}%lo:${ports[0]} `);
    expect(text).toContain(`${HOST}:${ports[1]} `);
    expect(text).not.toContain(`%lo:${ports[1]} `);
    // Straight to the adapter: an alias label binds its device; names the kernel cannot take are refused before the library.
    const adapter = new NativeAdapter();
    const opened: Array<{ destroy(): void }> = [];
    const dial = (interfaceName: unknown): Promise<void> =>
      adapter.connect({ host: HOST, port: server.port, localAddress: HOST, interfaceName: interfaceName as string }, (socket) => {
        opened.push(socket);
        return { data() {}, drain() {}, released() {}, readTarget: () => undefined, end() {}, close() {} } as never;
      });
    await dial("lo:1");
    expect(opened.length).toBe(1);
    for (const bad of ["lo\0x", "x".repeat(16), "", 42]) await expect(dial(bad)).rejects.toMatchObject({ code: "FW_SOCKET_ERROR" });
    for (const s of opened) s.destroy();
    await adapter.close();
    await bound.close();
    await plain.close();
    await server.close(500);
  });
});

const MiB = 1024 * KiB;
