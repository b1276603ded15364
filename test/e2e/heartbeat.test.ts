import { afterEach, describe, expect, test } from "bun:test";
import { type CloseInfo, connect, listen, type Server } from "../../adapters/bun/index.ts";
import { HOST, RawPeer, helloFrame, sleep, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

describe("heartbeat", () => {
  test("the server's interval reaches the client and both measure RTT", async () => {
    const server = await listen({ host: HOST, port: 0, heartbeatIntervalMs: 40 });
    servers.push(server as Server<unknown>);
    const client = await connect({ host: HOST, port: server.port });
    await sleep(200);
    const rtt = client.stats().rttMs;
    expect(rtt).toBeDefined();
    expect(rtt as number).toBeGreaterThan(0);
    expect(rtt as number).toBeLessThan(100);
    const conn = [...server.connections.values()][0];
    expect(conn?.stats().rttMs).toBeDefined();
    expect(client.state).toBe("open");
    await client.close();
  });

  test("a peer that stops answering is closed with FW_HEARTBEAT_TIMEOUT", async () => {
    const server = await listen({ host: HOST, port: 0, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 200 });
    servers.push(server as Server<unknown>);
    const closed = new Promise<CloseInfo>((resolve) => server.on("connection", (c) => c.on("close", resolve)));
    const errors: string[] = [];
    server.on("error", (e) => errors.push(e.code));
    // A peer that completes the handshake by hand, then never sends another byte.
    const peer = await RawPeer.connect(server.port);
    peer.write(helloFrame());
    const t0 = performance.now();
    const info = await within(closed, 3000, "heartbeat close");
    const elapsed = performance.now() - t0;
    expect(info.code).toBe("FW_HEARTBEAT_TIMEOUT");
    expect(info.remote).toBe(false);
    expect(errors).toEqual(["FW_HEARTBEAT_TIMEOUT"]);
    // Timeout 200 ms, checked every 50 ms.
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(1000);
    // The silent peer was pinged (type 0x04) before being dropped, and told why (GOAWAY 0x07).
    const types = peer.frames().map((f) => f[0]);
    expect(types[0]).toBe(0x02);
    expect(types.filter((t) => t === 0x04).length).toBeGreaterThanOrEqual(2);
    expect(types.at(-1)).toBe(0x07);
    await peer.until(() => peer.closed || peer.ended, 6000, "peer sees close");
  });

  test("a peer that answers PINGs stays connected well past the timeout", async () => {
    const server = await listen({ host: HOST, port: 0, heartbeatIntervalMs: 30, heartbeatTimeoutMs: 100 });
    servers.push(server as Server<unknown>);
    const client = await connect({ host: HOST, port: server.port });
    await sleep(400);
    expect(client.state).toBe("open");
    expect(server.connectionCount).toBe(1);
    await client.close();
  });
});
