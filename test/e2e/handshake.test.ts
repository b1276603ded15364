import { afterEach, describe, expect, test } from "bun:test";
import {
  type Connection,
  connect,
  type HandshakeInfo,
  HandshakeRejectedError,
  listen,
  type Server,
} from "../../adapters/bun/index.ts";
import { HOST, RawPeer, helloFrame, typed, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

describe("handshake", () => {
  test("accepts, exchanges tags and a session id, and passes HELLO to verifyHandshake", async () => {
    const seen: HandshakeInfo[] = [];
    const server = await listen({
      host: HOST,
      port: 0,
      tags: { role: "hub" },
      verifyHandshake: (info) => {
        seen.push(info);
        return true;
      },
    });
    servers.push(server as Server<unknown>);
    const accepted = new Promise<string>((resolve) => server.on("connection", (c) => resolve(c.sessionId)));
    const client = await connect({ host: HOST, port: server.port, app: "agent/1.2", tags: { region: "eu" } });
    expect(client.peerTags).toEqual({ role: "hub" });
    expect(client.sessionId).toMatch(/^[0-9a-f]{24}$/);
    expect(await within(accepted, 2000, "connection event")).toBe(client.sessionId);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ version: 1, app: "agent/1.2", tags: { region: "eu" }, remoteAddress: "127.0.0.1" });
    const conn = [...server.connections.values()][0];
    expect(conn?.peerTags).toEqual({ region: "eu" });
    await client.close();
  });

  test("a rejection's code and reason reach the client as a typed error", async () => {
    const server = await listen({
      host: HOST,
      port: 0,
      verifyHandshake: async (info) => (info.tags.token === "secret" ? true : { code: "AUTH_FAILED", reason: "bad token" }),
    });
    servers.push(server as Server<unknown>);
    const rejects: string[] = [];
    let connections = 0;
    server.on("reject", (error) => rejects.push(error.code));
    server.on("connection", () => connections++);

    const error = await connect({ host: HOST, port: server.port, tags: { token: "wrong" } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    expect((error as HandshakeRejectedError).code).toBe("FW_HANDSHAKE_REJECTED");
    expect((error as HandshakeRejectedError).reasonCode).toBe("AUTH_FAILED");
    expect((error as HandshakeRejectedError).reason).toBe("bad token");

    const ok = await connect({ host: HOST, port: server.port, tags: { token: "secret" } });
    expect(ok.state).toBe("open");
    await within((async () => { while (rejects.length < 1) await Bun.sleep(5); })(), 2000, "reject event");
    expect(rejects).toEqual(["FW_HANDSHAKE_REJECTED"]);
    expect(connections).toBe(1);
    expect(server.stats()).toMatchObject({ accepted: 2, rejected: 1, connections: 1 });
    await ok.close();
  });

  test("verifyHandshake returning false or throwing rejects with stable codes", async () => {
    let mode: "false" | "throw" = "false";
    const server = await listen({
      host: HOST,
      port: 0,
      verifyHandshake: () => {
        if (mode === "throw") throw new Error("boom");
        return false;
      },
    });
    servers.push(server as Server<unknown>);
    const e1 = (await connect({ host: HOST, port: server.port }).catch((e: unknown) => e)) as HandshakeRejectedError;
    expect(e1.reasonCode).toBe("FW_HANDSHAKE_REJECTED");
    mode = "throw";
    const e2 = (await connect({ host: HOST, port: server.port }).catch((e: unknown) => e)) as HandshakeRejectedError;
    expect(e2.reasonCode).toBe("FW_HANDLER_ERROR");
    // The server's own exception text stays on the server.
    expect(e2.reason).toBe("verifyHandshake failed");
    expect(e2.message).not.toContain("boom");
  });

  test("a peer that never says HELLO is closed after handshakeTimeoutMs", async () => {
    const server = await listen({ host: HOST, port: 0, handshakeTimeoutMs: 150 });
    servers.push(server as Server<unknown>);
    const rejected = new Promise<string>((resolve) => server.on("reject", (e) => resolve(e.code)));
    const peer = await RawPeer.connect(server.port);
    const t0 = performance.now();
    await peer.until(() => peer.closed || peer.ended, 3000, "server closes silent peer");
    const elapsed = performance.now() - t0;
    expect(elapsed).toBeGreaterThanOrEqual(120);
    expect(elapsed).toBeLessThan(1500);
    expect(await within(rejected, 1000, "reject event")).toBe("FW_HANDSHAKE_TIMEOUT");
    // The server said why: a REJECT frame with the timeout code.
    const frames = peer.frames();
    expect(frames[0]?.[0]).toBe(0x03);
    expect(new TextDecoder().decode(frames[0]?.subarray(1))).toContain("FW_HANDSHAKE_TIMEOUT");
    expect(server.connectionCount).toBe(0);
  });

  test("a server that never answers makes connect() fail with FW_HANDSHAKE_TIMEOUT", async () => {
    const silent = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
    cleanups.push(() => silent.stop(true));
    const t0 = performance.now();
    const error = (await connect({ host: HOST, port: silent.port, handshakeTimeoutMs: 200 }).catch((e: unknown) => e)) as { code: string };
    const elapsed = performance.now() - t0;
    expect(error.code).toBe("FW_HANDSHAKE_TIMEOUT");
    expect(elapsed).toBeGreaterThanOrEqual(180);
    expect(elapsed).toBeLessThan(2000);
  });

  test("no common version: REJECT with FW_VERSION_MISMATCH", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    const peer = await RawPeer.connect(server.port);
    peer.write(helloFrame(2, 3));
    await peer.until(() => peer.closed || peer.ended, 3000, "close after mismatch");
    const reject = peer.frames()[0] as Uint8Array;
    expect(reject[0]).toBe(0x03);
    expect(JSON.parse(new TextDecoder().decode(reject.subarray(1))).code).toBe("FW_VERSION_MISMATCH");
  });

  test("DATA before the handshake never reaches the application", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "text" });
    servers.push(server as Server<unknown>);
    const messages: string[] = [];
    server.on("connection", (c) => c.on("message", (m) => messages.push(m)));
    const rejected = new Promise<string>((resolve) => server.on("reject", (e) => resolve(e.code)));
    const peer = await RawPeer.connect(server.port);
    peer.write(typed(0x00, [...new TextEncoder().encode("sneaky")]));
    peer.write(helloFrame());
    expect(await within(rejected, 2000, "reject")).toBe("FW_PROTOCOL_ERROR");
    await peer.until(() => peer.closed || peer.ended, 3000, "closed");
    expect(messages).toEqual([]);
  });

  test("maxConnections refuses the extra client with FW_SERVER_FULL", async () => {
    const server = await listen({ host: HOST, port: 0, maxConnections: 2 });
    servers.push(server as Server<unknown>);
    const a = await connect({ host: HOST, port: server.port });
    const b = await connect({ host: HOST, port: server.port });
    const error = (await connect({ host: HOST, port: server.port }).catch((e: unknown) => e)) as HandshakeRejectedError;
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    expect(error.reasonCode).toBe("FW_SERVER_FULL");
    expect(server.connectionCount).toBe(2);
    await a.close();
    await within((async () => { while (server.connectionCount > 1) await Bun.sleep(5); })(), 2000, "slot freed");
    const c = await connect({ host: HOST, port: server.port });
    expect(c.state).toBe("open");
    await Promise.all([b.close(), c.close()]);
  });

  test("server.close() during a pending handshake tells the client FW_SHUTDOWN", async () => {
    let release: () => void = () => {};
    const server = await listen({
      host: HOST,
      port: 0,
      verifyHandshake: () => new Promise<boolean>((resolve) => (release = () => resolve(true))),
    });
    const pending = connect({ host: HOST, port: server.port }).catch((e: unknown) => e);
    await Bun.sleep(50);
    await within(server.close(1000), 3000, "server close");
    release();
    const error = (await within(pending, 3000, "client outcome")) as HandshakeRejectedError;
    expect(error).toBeInstanceOf(HandshakeRejectedError);
    expect(error.reasonCode).toBe("FW_SHUTDOWN");
  });

  test("the client's maxFrameSize travels in HELLO and bounds what the server may send", async () => {
    const server = await listen({ host: HOST, port: 0 });
    servers.push(server as Server<unknown>);
    const opened = new Promise<Connection<Uint8Array>>((resolve) => server.on("connection", resolve));
    const client = await connect({ host: HOST, port: server.port, maxFrameSize: 100 });
    const conn = await within(opened, 2000, "connection");
    expect(() => conn.send(new Uint8Array(101))).toThrow(expect.objectContaining({ code: "FW_FRAME_TOO_LARGE" }));
    const got = new Promise<number>((resolve) => client.once("message", (m) => resolve(m.length)));
    expect(conn.send(new Uint8Array(100))).toBe("queued");
    expect(await within(got, 2000, "100-byte message")).toBe(100);
    await client.close();
  });
});
