import { afterEach, describe, expect, test } from "bun:test";
import {
  type Client,
  type CloseInfo,
  type Connection,
  connect,
  listen,
  type Server,
  type ServerOptions,
} from "../../adapters/bun/index.ts";
import { HOST, RawPeer, frame, helloFrame, typed, within } from "./helpers.ts";

const servers: Server<unknown>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(200)));
});

/** An echo server that records each connection's close info. */
async function echoServer(options: Omit<ServerOptions<Uint8Array>, "codec"> = {}) {
  const server = await listen({ host: HOST, port: 0, ...options });
  servers.push(server as Server<unknown>);
  const closes: CloseInfo[] = [];
  const errors: string[] = [];
  server.on("connection", (c: Connection<Uint8Array>) => {
    c.on("message", (m) => c.send(m));
    c.on("close", (info) => closes.push(info));
  });
  server.on("error", (e) => errors.push(e.code));
  return { server, closes, errors };
}

async function echoOnce(client: Client<Uint8Array>, bytes: number[]): Promise<number[]> {
  const reply = new Promise<Uint8Array>((resolve) => client.once("message", resolve));
  client.send(Uint8Array.from(bytes));
  return [...(await within(reply, 3000, "echo"))];
}

describe("bad input closes only the offending connection", () => {
  test("an oversized length header: FW_FRAME_TOO_LARGE before the body, others keep working", async () => {
    const { server, closes, errors } = await echoServer({ maxFrameSize: 1024 });
    const good = await connect({ host: HOST, port: server.port });
    const bad = await RawPeer.connect(server.port);
    bad.write(helloFrame());
    await bad.until(() => bad.frames().length >= 1, 2000, "welcome");
    // Header announces 1 MiB; no body follows. The server must not wait for it.
    bad.write(new Uint8Array([0x00, 0x10, 0x00, 0x00]));
    await bad.until(() => closes.length >= 1, 3000, "bad peer closed");
    expect(closes.map((c) => c.code)).toEqual(["FW_FRAME_TOO_LARGE"]);
    expect(errors).toEqual(["FW_FRAME_TOO_LARGE"]);
    // The bad peer was told why: GOAWAY carrying the code.
    const goaway = bad.frames().at(-1) as Uint8Array;
    expect(goaway[0]).toBe(0x07);
    expect(JSON.parse(new TextDecoder().decode(goaway.subarray(1))).code).toBe("FW_FRAME_TOO_LARGE");
    expect(await echoOnce(good, [1, 2, 3])).toEqual([1, 2, 3]);
    expect(server.connectionCount).toBe(1);
    await good.close();
  });

  test("an unknown frame type and an empty frame are protocol errors", async () => {
    const { server, closes } = await echoServer();
    const a = await RawPeer.connect(server.port);
    a.write(helloFrame());
    a.write(typed(0x42, [1, 2]));
    const b = await RawPeer.connect(server.port);
    b.write(helloFrame());
    b.write(frame([]));
    await a.until(() => closes.length >= 2, 3000, "both closed");
    expect(closes.map((c) => c.code).sort()).toEqual(["FW_MALFORMED_FRAME", "FW_PROTOCOL_ERROR"]);
  });

  test("a payload the codec rejects closes with FW_CODEC_ERROR", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "json" });
    servers.push(server as Server<unknown>);
    const closed = new Promise<CloseInfo>((resolve) => server.on("connection", (c) => c.on("close", resolve)));
    const received: unknown[] = [];
    server.on("connection", (c) => c.on("message", (m) => received.push(m)));
    const peer = await RawPeer.connect(server.port);
    peer.write(helloFrame());
    peer.write(typed(0x00, [...new TextEncoder().encode('{"ok":1}')]));
    peer.write(typed(0x00, [...new TextEncoder().encode("{not json")]));
    peer.write(typed(0x00, [...new TextEncoder().encode('{"after":1}')]));
    const info = await within(closed, 3000, "codec close");
    expect(info.code).toBe("FW_CODEC_ERROR");
    expect(info.error?.name).toBe("CodecError");
    // Nothing after the bad frame is delivered: no resync.
    expect(received).toEqual([{ ok: 1 }]);
  });

  test("a message listener that throws closes that connection with FW_HANDLER_ERROR; the process lives on", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "text" });
    servers.push(server as Server<unknown>);
    const closes: CloseInfo[] = [];
    server.on("connection", (c) => {
      c.on("message", (m) => {
        if (m === "explode") throw new Error("handler bug");
        c.send(`ok:${m}`);
      });
      c.on("close", (info) => closes.push(info));
    });
    const victim = await connect({ host: HOST, port: server.port, codec: "text" });
    const bystander = await connect({ host: HOST, port: server.port, codec: "text" });
    const victimClosed = victim.closed();
    victim.send("explode");
    const remote = await within(victimClosed, 3000, "victim closed");
    expect(remote.code).toBe("FW_HANDLER_ERROR");
    expect(remote.remote).toBe(true);
    await within((async () => { while (closes.length < 1) await Bun.sleep(2); })(), 2000, "server-side close");
    expect(closes[0]?.code).toBe("FW_HANDLER_ERROR");
    expect((closes[0]?.error?.cause as Error).message).toBe("handler bug");
    const reply = new Promise<string>((resolve) => bystander.once("message", resolve));
    bystander.send("still here");
    expect(await within(reply, 2000, "bystander")).toBe("ok:still here");
    await bystander.close();
  });

  test("sending what cannot be encoded throws at the caller and keeps the connection", async () => {
    const server = await listen({ host: HOST, port: 0, codec: "json", maxFrameSize: 100 });
    servers.push(server as Server<unknown>);
    server.on("connection", (c) => c.on("message", (m) => c.send(m)));
    const client = await connect<unknown>({ host: HOST, port: server.port, codec: "json" });
    expect(() => client.send(undefined)).toThrow(expect.objectContaining({ code: "FW_CODEC_ERROR" }));
    // The server's maxFrameSize (100) reached the client in WELCOME.
    expect(() => client.send("x".repeat(200))).toThrow(expect.objectContaining({ code: "FW_FRAME_TOO_LARGE" }));
    const reply = new Promise<unknown>((resolve) => client.once("message", resolve));
    client.send({ fine: true });
    expect(await within(reply, 2000, "echo after errors")).toEqual({ fine: true });
    await client.close();
  });

  test("connecting to a closed port fails with FW_SOCKET_ERROR", async () => {
    const probe = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const error = (await connect({ host: HOST, port }).catch((e: unknown) => e)) as { code: string };
    expect(error.code).toBe("FW_SOCKET_ERROR");
  });
});
