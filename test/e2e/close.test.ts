import { afterEach, describe, expect, test } from "bun:test";
import { type CloseInfo, connect, ConnectTimeoutError, listen, type Server } from "../../adapters/bun/index.ts";
import { HOST, RawPeer, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

describe("closing", () => {
  test("server.close(): GOAWAY, in-flight messages in both directions are delivered, then both close", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    let serverGot = 0;
    const N = 20_000;
    const payload = new Uint8Array(100).fill(1);
    server.on("connection", (c) => {
      c.on("message", () => serverGot++);
      // Queue a burst towards the client, then shut down in the same tick.
      for (let i = 0; i < N; i++) c.send(payload);
      void server.close(3000);
    });
    const client = await connect({ host: HOST, port: server.port });
    let clientGot = 0;
    const goaway = new Promise<string>((resolve) => client.on("goaway", (r) => resolve(r.code)));
    client.on("message", () => clientGot++);
    // Messages the client sends before it sees GOAWAY are still delivered.
    for (let i = 0; i < 500; i++) client.send(payload);
    const info = await within(client.closed(), 5000, "client closed");
    expect(await goaway).toBe("FW_SHUTDOWN");
    expect(info.code).toBe("FW_SHUTDOWN");
    expect(info.remote).toBe(true);
    expect(info.error).toBeUndefined();
    expect(clientGot).toBe(N);
    expect(serverGot).toBe(500);
    expect(client.send(payload)).toBe("closed");
    await within(server.close(), 5000, "server closed");
    expect(server.connectionCount).toBe(0);
  });

  test("client.close() flushes its queue first and the server sees a normal close", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "text" });
    servers.push(server as Server<unknown>);
    const got: string[] = [];
    const closed = new Promise<CloseInfo>((resolve) =>
      server.on("connection", (c) => {
        c.on("message", (m) => got.push(m));
        c.on("close", resolve);
      }),
    );
    const client = await connect({ host: HOST, port: server.port, codec: "text" });
    for (let i = 0; i < 1000; i++) client.send(`m${i}`);
    const local = await within(client.close(), 3000, "client close");
    expect(local).toEqual({ code: "FW_NORMAL", reason: "", remote: false });
    const remote = await within(closed, 3000, "server side close");
    expect(remote.code).toBe("FW_NORMAL");
    expect(remote.remote).toBe(true);
    expect(got.length).toBe(1000);
    expect(got.at(-1)).toBe("m999");
  });

  test("server.close() destroys connections that do not finish within the grace period", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    // A raw peer completes the handshake by hand and then ignores GOAWAY (never sends FIN).
    const peer = await RawPeer.connect(server.port, { allowHalfOpen: true });
    peer.write(new Uint8Array([0, 0, 0, 7, 0x01, 0x46, 0x57, 1, 1, 0x7b, 0x7d]));
    await within((async () => { while (server.connectionCount < 1) await Bun.sleep(2); })(), 2000, "handshake");
    const t0 = performance.now();
    await within(server.close(150), 3000, "close with grace");
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(1500);
    await peer.until(() => peer.closed, 3000, "peer dropped");
    expect(peer.frames().at(-1)?.[0]).toBe(0x07);
  });

  test("connect timeout against a local listener that never accepts", async () => {
    const proc = Bun.spawn(["python3", `${import.meta.dir}/../fixtures/never_accepts.py`, "15"], { stdout: "pipe" });
    try {
      const reader = proc.stdout.getReader();
      const { value } = await within(reader.read(), 5000, "listener port");
      const port = Number(new TextDecoder().decode(value).trim());
      expect(port).toBeGreaterThan(0);
      const t0 = performance.now();
      const error = await connect({ host: HOST, port, connectTimeoutMs: 250 }).catch((e: unknown) => e);
      const elapsed = performance.now() - t0;
      expect(error).toBeInstanceOf(ConnectTimeoutError);
      expect((error as ConnectTimeoutError).code).toBe("FW_CONNECT_TIMEOUT");
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      proc.kill();
    }
  });

  test("raw mode half-close: the server answers after the client's FIN when allowHalfOpen is set", async () => {
    const server = await listen({ host: HOST, port: 0, protocol: "raw", codec: "text", allowHalfOpen: true });
    servers.push(server as Server<unknown>);
    server.on("connection", (c) => {
      const lines: string[] = [];
      c.on("message", (m) => lines.push(m));
      c.on("end", () => {
        // The peer is done sending; reply with a summary after a delay, then close.
        setTimeout(() => {
          c.send(`got ${lines.length}: ${lines.join(",")}`);
          void c.close();
        }, 50);
      });
    });
    const peer = await RawPeer.connect(server.port, { allowHalfOpen: true });
    const enc = (s: string) => {
      const b = new TextEncoder().encode(s);
      return new Uint8Array([0, 0, 0, b.length, ...b]);
    };
    peer.write(enc("a"));
    peer.write(enc("b"));
    peer.halfClose(); // FIN
    await peer.until(() => peer.closed || peer.ended, 3000, "server closes after reply");
    expect(peer.frames().map((f) => new TextDecoder().decode(f))).toEqual(["got 2: a,b"]);
  });

  test("a peer that resets mid-stream gives a close, not a crash", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    const closed = new Promise<CloseInfo>((resolve) => server.on("connection", (c) => c.on("close", resolve)));
    const peer = await RawPeer.connect(server.port);
    peer.write(new Uint8Array([0, 0, 0, 7, 0x01, 0x46, 0x57, 1, 1, 0x7b, 0x7d]));
    await peer.until(() => peer.frames().length >= 1, 2000, "welcome");
    peer.write(new Uint8Array([0, 0, 0, 100, 0x00, 1, 2, 3])); // half a frame
    peer.destroy(); // RST
    const info = await within(closed, 3000, "reset seen");
    expect(["FW_PEER_CLOSED", "FW_SOCKET_ERROR"]).toContain(info.code);
    expect(info.remote).toBe(true);
    expect(server.connectionCount).toBe(0);
  });
});
