import { afterEach, describe, expect, test } from "bun:test";
import { unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, listen, type Server } from "../../adapters/bun/index.ts";
import { HOST, RawPeer, frame, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

function seqPayload(i: number): Uint8Array {
  // 4-byte sequence number + a body whose length and bytes depend on it.
  const body = new Uint8Array(4 + (i % 61));
  new DataView(body.buffer).setUint32(0, i);
  for (let k = 4; k < body.length; k++) body[k] = (i + k) & 0xff;
  return body;
}

describe("echo", () => {
  test("100k sequenced binary messages come back in order, byte-exact", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    server.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
    const client = await connect({ host: HOST, port: server.port });
    const N = 100_000;
    let next = 0;
    let mismatch = "";
    const done = new Promise<void>((resolve) => {
      client.on("message", (m) => {
        const expected = seqPayload(next);
        if (mismatch === "" && !Buffer.from(m).equals(Buffer.from(expected))) mismatch = `message ${next} differs`;
        if (++next === N) resolve();
      });
    });
    for (let i = 0; i < N; i++) {
      const status = client.send(seqPayload(i));
      expect(status === "queued" || status === "backpressure").toBe(true);
      if (status === "backpressure") await client.drained();
    }
    await within(done, 20_000, "100k echoes");
    expect(mismatch).toBe("");
    expect(next).toBe(N);
    const stats = client.stats();
    expect(stats.framesIn).toBeGreaterThanOrEqual(N);
    expect(stats.framesOut).toBeGreaterThanOrEqual(N);
    expect(stats.drops).toBe(0);
    expect(server.stats().framesIn).toBeGreaterThanOrEqual(N);
    await client.close();
  });

  test("json codec: typed messages, adapter is visible", async () => {
    type Msg = { n: number; text: string };
    const server = await listen<Msg>({ host: HOST, port: 0, codec: "json" });
    servers.push(server as Server<unknown>);
    expect(server.adapter.name).toBe("bun");
    server.on("connection", (conn) => conn.on("message", (m) => conn.send({ n: m.n * 2, text: m.text.toUpperCase() })));
    const client = await connect<Msg>({ host: HOST, port: server.port, codec: "json" });
    expect(client.adapter.name).toBe("bun");
    const replies: Msg[] = [];
    client.on("message", (m) => replies.push(m));
    for (let n = 0; n < 50; n++) client.send({ n, text: `héllo ${n} 🌍` });
    await within(
      (async () => {
        while (replies.length < 50) await Bun.sleep(5);
      })(),
      5000,
      "json replies",
    );
    expect(replies).toEqual(Array.from({ length: 50 }, (_, n) => ({ n: n * 2, text: `HÉLLO ${n} 🌍` })));
    await client.close();
  });

  test("zero-length and 4 MiB messages round trip", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    server.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
    const client = await connect({ host: HOST, port: server.port });
    const big = new Uint8Array(4 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const got: Uint8Array[] = [];
    client.on("message", (m) => got.push(m.slice()));
    client.send(new Uint8Array(0));
    client.send(big);
    client.send(new Uint8Array(0));
    await within((async () => { while (got.length < 3) await Bun.sleep(5); })(), 10_000, "big echo");
    expect(got[0]?.length).toBe(0);
    expect(Buffer.from(got[1] as Uint8Array).equals(Buffer.from(big))).toBe(true);
    expect(got[2]?.length).toBe(0);
    await client.close();
  });

  test("async iteration over a bounded queue pauses reading and loses nothing", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "text", maxInboundMessages: 16 });
    servers.push(server as Server<unknown>);
    const N = 2000;
    const received: string[] = [];
    let maxQueued = 0;
    server.on("connection", async (conn) => {
      for await (const line of conn) {
        maxQueued = Math.max(maxQueued, conn.stats().inboundQueued);
        received.push(line);
        if (received.length % 100 === 0) await Bun.sleep(2); // a slow consumer
        if (received.length === N) break;
      }
    });
    const client = await connect({ host: HOST, port: server.port, codec: "text" });
    for (let i = 0; i < N; i++) client.send(`line ${i}`);
    await within((async () => { while (received.length < N) await Bun.sleep(5); })(), 10_000, "iteration");
    expect(received).toEqual(Array.from({ length: N }, (_, i) => `line ${i}`));
    // The decoder stops at the bound, so the queue never exceeds its capacity.
    expect(maxQueued).toBeLessThanOrEqual(16);
    await client.close();
  });

  test("broadcast encodes once and reaches every open connection", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "json" });
    servers.push(server as Server<unknown>);
    const clients = await Promise.all([0, 1, 2].map(() => connect({ host: HOST, port: server.port, codec: "json" })));
    await within((async () => { while (server.connectionCount < 3) await Bun.sleep(2); })(), 2000, "3 connections");
    const got = clients.map(() => [] as unknown[]);
    clients.forEach((c, i) => c.on("message", (m) => got[i]?.push(m)));
    const result = server.broadcast({ hello: "all" });
    expect(result).toEqual({ queued: 3, backpressure: 0, dropped: 0, full: 0, tooLarge: 0, closed: 0 });
    const firstId = [...server.connections.keys()][0] as number;
    expect(server.getConnection(firstId)?.id).toBe(firstId);
    const filtered = server.broadcast({ only: "first" }, (c) => c.id === firstId);
    expect(filtered.queued).toBe(1);
    await within((async () => { while (got.some((g) => g.length < 1)) await Bun.sleep(2); })(), 2000, "broadcast");
    await Bun.sleep(30);
    expect(got.flat().filter((m) => JSON.stringify(m) === '{"hello":"all"}').length).toBe(3);
    expect(got.flat().filter((m) => JSON.stringify(m) === '{"only":"first"}').length).toBe(1);
    await Promise.all(clients.map((c) => c.close()));
  });

  test("raw protocol interoperates with a plain length-prefixed peer", async () => {
    const server = await listen({ host: HOST, port: 0, protocol: "raw", codec: "text" });
    servers.push(server as Server<unknown>);
    server.on("connection", (conn) => conn.on("message", (m) => conn.send(`re:${m}`)));
    const peer = await RawPeer.connect(server.port);
    // Two frames in one write, the second split over two writes.
    const a = frame(new TextEncoder().encode("one"));
    const b = frame(new TextEncoder().encode("two"));
    peer.write(new Uint8Array([...a, ...b.subarray(0, 3)]));
    await Bun.sleep(10);
    peer.write(b.subarray(3));
    await peer.until(() => peer.frames().length >= 2, 3000, "raw replies");
    expect(peer.frames().map((f) => new TextDecoder().decode(f))).toEqual(["re:one", "re:two"]);
    // And the exact bytes: u32 BE length, no type byte.
    expect([...peer.bytes().subarray(0, 10)]).toEqual([0, 0, 0, 6, ...new TextEncoder().encode("re:one")]);
    peer.close();
  });

  test("raw protocol with a 2-byte little-endian header and line framing", async () => {
    const le = await listen({ host: HOST, port: 0, protocol: "raw", framing: { type: "length-prefixed", headerBytes: 2, endian: "little" } });
    servers.push(le as Server<unknown>);
    le.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
    const c1 = await connect({ host: HOST, port: le.port, protocol: "raw", framing: { type: "length-prefixed", headerBytes: 2, endian: "little" } });
    const back = new Promise<Uint8Array>((resolve) => c1.once("message", (m) => resolve(m.slice())));
    c1.send(new Uint8Array(300).fill(9));
    expect((await within(back, 3000, "le echo")).length).toBe(300);
    await c1.close();

    const lines = await listen({ host: HOST, port: 0, protocol: "raw", codec: "text", framing: { type: "delimiter" } });
    servers.push(lines as Server<unknown>);
    lines.on("connection", (conn) => conn.on("message", (m) => conn.send(m.split("").reverse().join(""))));
    const peer = await RawPeer.connect(lines.port);
    peer.write(new TextEncoder().encode("abc\nxyz\n"));
    await peer.until(() => new TextDecoder().decode(peer.bytes()) === "cba\nzyx\n", 3000, "line echo");
    peer.close();
  });

  test("IPv6 loopback and Unix domain sockets", async () => {
    const v6 = await listen({ host: "::1", port: 0, codec: "text" });
    servers.push(v6 as Server<unknown>);
    v6.on("connection", (conn) => conn.on("message", (m) => conn.send(`v6:${m}`)));
    const c6 = await connect({ host: "::1", port: v6.port, codec: "text" });
    const r6 = new Promise<string>((resolve) => c6.once("message", resolve));
    c6.send("ping");
    expect(await within(r6, 3000, "v6 echo")).toBe("v6:ping");
    await c6.close();

    const path = join(tmpdir(), `framewire-${process.pid}-${Date.now()}.sock`);
    const ux = await listen({ path, codec: "text" });
    servers.push(ux as Server<unknown>);
    expect(ux.port).toBe(0);
    ux.on("connection", (conn) => conn.on("message", (m) => conn.send(`unix:${m}`)));
    const cu = await connect({ path, codec: "text" });
    const ru = new Promise<string>((resolve) => cu.once("message", resolve));
    cu.send("ping");
    expect(await within(ru, 3000, "unix echo")).toBe("unix:ping");
    await cu.close();
    await ux.close(200);
    try {
      unlinkSync(path);
    } catch {}
  });
});
