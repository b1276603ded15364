/** The core scenarios: echo, large messages, backpressure, close, handshake, heartbeat, addressing. */
import type { Client, CloseInfo, Connection, Server } from "../../../src/index.ts";
import {
  AssertionFailed,
  decoder,
  deepEqual,
  describe,
  echoThree,
  equal,
  HELLO,
  HOST,
  need,
  ok,
  RawPeer,
  rejectsWith,
  type Scenario,
  sameBytes,
  sequenced,
  sleep,
  typed,
  u32,
  until,
  within,
  withServer,
} from "../kit.ts";

export const coreScenarios: Scenario[] = [
  {
    name: "echo: 20k sequenced messages keep order and content, both protocols",
    timeoutMs: 30_000,
    async run({ transport }) {
      for (const protocol of ["framewire", "raw"] as const) {
        const server = await transport.listen({ host: HOST, port: 0, protocol });
        await withServer(server, async () => {
          server.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
          const client = await transport.connect({ host: HOST, port: server.port, protocol });
          if (protocol === "raw") equal(client.sessionId, "", "raw: no session id");
          else ok(typeof client.sessionId === "string" && client.sessionId.length > 0, `framewire: session id "${client.sessionId}"`);
          const N = 20_000;
          let next = 0;
          let failure = "";
          client.on("message", (m) => {
            const expected = sequenced(next);
            if (failure === "" && (m.length !== expected.length || m.some((b, i) => b !== expected[i]))) failure = `message ${next} differs`;
            next++;
          });
          for (let i = 0; i < N; i++) if (client.send(sequenced(i)) === "backpressure") await client.drained();
          await until(() => next === N, 20_000, `${protocol}: ${next}/${N} echoes`);
          equal(failure, "", `${protocol} content`);
          await client.close();
        });
      }
    },
  },
  {
    name: "zero-length messages are delivered as empty messages",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const sizes: number[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => sizes.push(m.length)));
        const client = await transport.connect({ host: HOST, port: server.port });
        client.send(new Uint8Array(0));
        client.send(Uint8Array.from([1]));
        client.send(new Uint8Array(0));
        await until(() => sizes.length === 3, 5000, "three messages");
        deepEqual(sizes, [0, 1, 0], "sizes");
        await client.close();
      });
    },
  },
  {
    name: "16 MiB messages round trip byte-exact",
    timeoutMs: 60_000,
    async run({ transport }) {
      const size = 16 * 1024 * 1024;
      const server = await transport.listen({ host: HOST, port: 0, maxFrameSize: size });
      await withServer(server, async () => {
        server.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
        const client = await transport.connect({ host: HOST, port: server.port, maxFrameSize: size });
        const big = new Uint8Array(size);
        for (let i = 0; i < size; i += 4096) big[i] = (i / 4096) & 0xff;
        big[size - 1] = 0xee;
        const back: Uint8Array[] = [];
        client.on("message", (m) => back.push(m));
        client.send(big);
        client.send(big);
        await until(() => back.length === 2, 50_000, "two 16 MiB echoes");
        sameBytes(back[0] as Uint8Array, big, "first 16 MiB echo");
        sameBytes(back[1] as Uint8Array, big, "second 16 MiB echo");
        await client.close();
      });
    },
  },
  {
    name: "a non-reading peer: partial writes are kept, the queue stays bounded, drain resumes",
    timeoutMs: 30_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        let received = 0;
        let resumeServer: () => void = () => {};
        server.on("connection", (conn) => {
          conn.pause();
          conn.on("message", () => received++);
          resumeServer = () => conn.resume();
        });
        const limit = 1024 * 1024;
        const client = await transport.connect({ host: HOST, port: server.port, highWaterMark: 128 * 1024, maxBufferedBytes: limit });
        const payload = new Uint8Array(8 * 1024).fill(3);
        let queued = 0;
        let full: (Error & { code?: string }) | undefined;
        let maxBuffered = 0;
        for (let round = 0; round < 5000 && full === undefined; round++) {
          for (let i = 0; i < 16; i++) {
            try {
              client.send(payload);
              queued++;
            } catch (error) {
              full = error as Error & { code?: string };
              break;
            }
            maxBuffered = Math.max(maxBuffered, client.bufferedAmount);
          }
          await sleep(0);
        }
        ok(full !== undefined, "the queue eventually refuses");
        equal(full?.code, "FW_QUEUE_FULL", "refusal code");
        ok(maxBuffered <= limit, `bufferedAmount ${maxBuffered} <= ${limit}`);
        let drained = false;
        client.once("drain", () => (drained = true));
        resumeServer();
        await until(() => drained, 10_000, "drain after the reader resumes");
        await until(() => received === queued, 15_000, `delivered ${received}/${queued}`);
        equal(client.stats().drops, 0, "drops");
        await client.close();
      });
    },
  },
  {
    name: "a peer reset mid-write closes that connection with a code; the server keeps serving",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => {
          conn.on("close", (info) => closes.push(info));
          conn.on("message", (m) => {
            if (m.length === 1 && m[0] === 0xff) {
              // Start a big write towards a peer that is about to vanish.
              for (let i = 0; i < 64; i++) conn.send(new Uint8Array(256 * 1024));
            } else conn.send(m);
          });
        });
        const victim = await transport.connect({ host: HOST, port: server.port });
        victim.send(Uint8Array.from([0xff]));
        await until(() => victim.stats().framesIn > 0 || victim.stats().bytesIn > 256 * 1024, 5000, "server started writing");
        victim.destroy();
        await until(() => closes.length === 1, 5000, "server saw the reset");
        ok(["FW_PEER_CLOSED", "FW_SOCKET_ERROR"].includes(closes[0]?.code as string), `close code ${closes[0]?.code}`);
        const other = await transport.connect({ host: HOST, port: server.port });
        const reply = new Promise<Uint8Array>((resolve) => other.once("message", resolve));
        other.send(Uint8Array.from([1, 2, 3]));
        sameBytes(await within(reply, 5000, "echo after reset"), Uint8Array.from([1, 2, 3]), "echo");
        await other.close();
      });
    },
  },
  {
    name: "half-close: the client's FIN reaches the server, which still answers",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, protocol: "raw", codec: "text", allowHalfOpen: true });
      await withServer(server, async () => {
        server.on("connection", (conn) => {
          const lines: string[] = [];
          conn.on("message", (m) => lines.push(m));
          conn.on("end", () => {
            setTimeout(() => {
              conn.send(`${lines.length}:${lines.join("|")}`);
              void conn.close();
            }, 30);
          });
        });
        const client = await transport.connect({ host: HOST, port: server.port, protocol: "raw", codec: "text" });
        const replies: string[] = [];
        client.on("message", (m) => replies.push(m));
        client.send("a");
        client.send("b");
        const info = await within(client.close(), 5000, "client close after the reply"); // FIN, then read until the server's FIN
        deepEqual(replies, ["2:a|b"], "reply after half-close");
        equal(info.code, "FW_NORMAL", "close code");
      });
    },
  },
  {
    name: "a handshake rejection reaches the client as a typed error",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({
        host: HOST,
        port: 0,
        verifyHandshake: (info) => (info.tags.key === "open-sesame" ? true : { code: "NO_KEY", reason: "missing key" }),
      });
      await withServer(server, async () => {
        const error = (await rejectsWith(transport.connect({ host: HOST, port: server.port }), "connect without key")) as Error & {
          code: string;
          reasonCode: string;
          reason: string;
        };
        equal(error.name, "HandshakeRejectedError", "error class");
        equal(error.code, "FW_HANDSHAKE_REJECTED", "code");
        equal(error.reasonCode, "NO_KEY", "reasonCode");
        equal(error.reason, "missing key", "reason");
        const client = await transport.connect({ host: HOST, port: server.port, tags: { key: "open-sesame" } });
        equal(client.state, "open", "accepted client");
        await client.close();
      });
    },
  },
  {
    name: "heartbeat: a peer that stops answering is closed with FW_HEARTBEAT_TIMEOUT",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 40, heartbeatTimeoutMs: 160 });
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => conn.on("close", (info) => closes.push(info)));
        const peer = await RawPeer.connect(transport, server.port);
        peer.write(HELLO); // then silence: PINGs go unanswered
        const t0 = performance.now();
        await until(() => closes.length === 1, 5000, "stale peer closed");
        const elapsed = performance.now() - t0;
        equal(closes[0]?.code, "FW_HEARTBEAT_TIMEOUT", "close code");
        ok(elapsed >= 150 && elapsed < 2000, `closed after ${Math.round(elapsed)} ms (timeout 160)`);
        const types = peer.frames().map((f) => f[0]);
        ok(types.filter((t) => t === 0x04).length >= 2, "the server pinged before giving up");
        // A well-behaved client on the same server stays up.
        const client = await transport.connect({ host: HOST, port: server.port });
        await sleep(400);
        equal(client.state, "open", "answering client still open");
        await client.close();
        await until(() => peer.closeInfo !== undefined, 6000, "stale peer's socket closed");
      });
    },
  },
  {
    name: "server graceful close: GOAWAY, queued messages delivered, clients see FW_SHUTDOWN",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      const N = 5000;
      const serverSideCodes: string[] = [];
      server.on("connection", (conn) => {
        conn.on("close", (info) => serverSideCodes.push(info.code));
        for (let i = 0; i < N; i++) conn.send(`m${i}`);
      });
      const clients = await Promise.all([0, 1, 2].map(() => transport.connect({ host: HOST, port: server.port, codec: "text" })));
      const counts = [0, 0, 0];
      const lasts = ["", "", ""];
      clients.forEach((c, i) =>
        c.on("message", (m) => {
          counts[i] = (counts[i] ?? 0) + 1;
          lasts[i] = m;
        }),
      );
      await until(() => server.connectionCount === 3, 5000, "three connections");
      await within(server.close(5000), 10_000, "server.close");
      const infos = await Promise.all(clients.map((c) => within(c.closed(), 5000, "client closed")));
      deepEqual(counts, [N, N, N], "every queued message delivered");
      deepEqual(lasts, [`m${N - 1}`, `m${N - 1}`, `m${N - 1}`], "in order to the last");
      deepEqual(infos.map((i) => i.code), ["FW_SHUTDOWN", "FW_SHUTDOWN", "FW_SHUTDOWN"], "close codes");
      deepEqual(infos.map((i) => i.remote), [true, true, true], "the clients saw a remote close");
      await until(() => serverSideCodes.length === 3, 5000, `${serverSideCodes.length}/3 server-side closes`);
      deepEqual(serverSideCodes, ["FW_SHUTDOWN", "FW_SHUTDOWN", "FW_SHUTDOWN"], "server-side close codes");
      equal(server.connectionCount, 0, "no connections left");
      equal(clients[0]?.send("late"), "closed", "send after close");
      // The listening socket is gone too.
      const late = await rejectsWith(
        within(transport.connect({ host: HOST, port: server.port, connectTimeoutMs: 2000 }), 5000, "connect after server.close"),
        "connect after server.close",
      );
      equal(late.code, "FW_SOCKET_ERROR", `connect after server.close (${describe(late)})`);
    },
  },
  {
    name: "malformed frame isolation: only the offending connection closes",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, maxFrameSize: 4096 });
      await withServer(server, async () => {
        const closes: string[] = [];
        server.on("connection", (conn: Connection<Uint8Array>) => {
          conn.on("message", (m) => conn.send(m));
          conn.on("close", (info) => closes.push(info.code));
        });
        const good = await transport.connect({ host: HOST, port: server.port });
        const oversize = await RawPeer.connect(transport, server.port);
        oversize.write(HELLO);
        await until(() => oversize.frames().length >= 1, 5000, "WELCOME");
        oversize.write(Uint8Array.from(u32(1 << 20))); // announces 1 MiB, sends no body
        const garbage = await RawPeer.connect(transport, server.port);
        garbage.write(HELLO);
        garbage.write(typed(0x6f, [1, 2, 3])); // a frame type v1 does not have
        await until(() => closes.length === 2, 5000, "both bad peers closed");
        deepEqual([...closes].sort(), ["FW_FRAME_TOO_LARGE", "FW_PROTOCOL_ERROR"], "close codes");
        const goaway = oversize.frames().at(-1) as Uint8Array;
        equal(goaway[0], 0x07, "the bad peer got GOAWAY");
        equal(JSON.parse(decoder.decode(goaway.subarray(1))).code, "FW_FRAME_TOO_LARGE", "GOAWAY code");
        const reply = new Promise<Uint8Array>((resolve) => good.once("message", resolve));
        good.send(Uint8Array.from([9, 9]));
        sameBytes(await within(reply, 5000, "good client echo"), Uint8Array.from([9, 9]), "good client unaffected");
        equal(server.connectionCount, 1, "one connection left");
        await good.close();
      });
    },
  },
  {
    name: "1,000 connections opened and closed without leaking handles",
    timeoutMs: 60_000,
    async run({ transport, openHandles }) {
      const before = openHandles?.();
      // 1,000 from one address as fast as possible: past the default per-address rate and count.
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0, connectionRate: false, maxConnectionsPerAddress: 2000 });
      await withServer(server, async () => {
        server.on("connection", (conn) => conn.on("message", (m) => conn.send(m)));
        const TOTAL = 1000;
        const BATCH = 100;
        const open: Client<Uint8Array>[] = [];
        for (let i = 0; i < TOTAL; i += BATCH) {
          const batch = await Promise.all(Array.from({ length: BATCH }, () => transport.connect({ host: HOST, port: server.port, heartbeatIntervalMs: 0 })));
          open.push(...batch);
        }
        await until(() => server.connectionCount === TOTAL, 10_000, `${server.connectionCount}/${TOTAL} connections`);
        // Every connection carries one round trip.
        let echoes = 0;
        for (const [i, c] of open.entries()) {
          c.once("message", () => echoes++);
          c.send(Uint8Array.from(u32(i)));
        }
        await until(() => echoes === TOTAL, 20_000, `${echoes}/${TOTAL} echoes`);
        await Promise.all(open.map((c) => c.close()));
        await until(() => server.connectionCount === 0, 10_000, "server forgot every connection");
        const stats = server.stats();
        equal(stats.accepted, TOTAL, "accepted");
        equal(stats.framesIn, TOTAL, "frames in");
      });
      if (before !== undefined && openHandles !== undefined) {
        await until(() => (openHandles() as number) <= before, 5000, `open handles back to ${before} (now ${openHandles()})`);
      }
    },
  },
  {
    name: "IPv6 loopback: echo over ::1, both protocols, ::1 on both ends",
    timeoutMs: 10_000,
    async run({ transport }) {
      for (const protocol of ["framewire", "raw"] as const) {
        let server: Server<Uint8Array>;
        try {
          server = await transport.listen({ host: "::1", port: 0, protocol });
        } catch (error) {
          throw new AssertionFailed(
            `listen on ::1 failed (${describe(error)}); capabilities.ipv6 = ${transport.adapter.capabilities.ipv6}. Does this host have an IPv6 loopback?`,
          );
        }
        await withServer(server, async () => {
          equal(server.host, "::1", `${protocol}: server.host`);
          ok(server.port > 0, `${protocol}: server.port ${server.port} > 0`);
          const remotes: string[] = [];
          server.on("connection", (conn) => {
            remotes.push(conn.remoteAddress);
            conn.on("message", (m) => conn.send(m));
          });
          const client = await transport.connect({ host: "::1", port: server.port, protocol });
          await echoThree(client, `::1 ${protocol}`);
          equal(client.remoteAddress, "::1", `${protocol}: client.remoteAddress`);
          deepEqual(remotes, ["::1"], `${protocol}: server-side remoteAddress`);
          await client.close();
        });
      }
    },
  },
  {
    name: "Unix domain socket: echo over a path, both protocols; server.port is 0",
    timeoutMs: 10_000,
    async run(ctx) {
      const { transport } = ctx;
      const tempPath = need(ctx, "tempPath");
      if (!transport.adapter.capabilities.unixSockets) {
        // An adapter without Unix sockets must refuse a path, not ignore it and bind TCP.
        const listenError = await rejectsWith(transport.listen({ path: tempPath("refused.sock") }), "listen on a path");
        equal(listenError.code, "FW_UNSUPPORTED", `listen on a path without unixSockets (${describe(listenError)})`);
        const connectError = await rejectsWith(transport.connect({ path: tempPath("refused.sock") }), "connect to a path");
        equal(connectError.code, "FW_UNSUPPORTED", `connect to a path without unixSockets (${describe(connectError)})`);
        return;
      }
      for (const protocol of ["framewire", "raw"] as const) {
        const path = tempPath(`${protocol}.sock`);
        const server = await transport.listen({ path, protocol });
        await withServer(server, async () => {
          equal(server.port, 0, `${protocol}: server.port of a Unix socket server`);
          let accepted = 0;
          server.on("connection", (conn) => {
            accepted++;
            conn.on("message", (m) => conn.send(m));
          });
          const client = await transport.connect({ path, protocol });
          await echoThree(client, `unix ${protocol}`);
          equal(accepted, 1, `${protocol}: connections accepted`);
          const info = await within(client.close(), 5000, `unix ${protocol}: client.close`);
          equal(info.code, "FW_NORMAL", `${protocol}: close code`);
        });
      }
    },
  },
  {
    name: "connection refused rejects with FW_SOCKET_ERROR (SocketError)",
    timeoutMs: 10_000,
    async run({ transport }) {
      // A port that was just free: listen on 0, note the port, close.
      const gone = await transport.listen({ host: HOST, port: 0 });
      const port = gone.port;
      await gone.close();
      const error = await rejectsWith(
        within(transport.connect({ host: HOST, port, connectTimeoutMs: 5000 }), 8000, `connect to closed port ${port}`),
        `connect to closed port ${port}`,
      );
      equal(error.code, "FW_SOCKET_ERROR", `code (${describe(error)})`);
      equal(error.name, "SocketError", "error class");
    },
  },
  {
    name: "connect timeout: a listener that never accepts gives FW_CONNECT_TIMEOUT after connectTimeoutMs, leaving nothing behind",
    timeoutMs: 15_000,
    async run(ctx) {
      const { transport, openHandles } = ctx;
      const never = await need(ctx, "neverAcceptingPort")();
      try {
        const before = openHandles?.();
        const t0 = performance.now();
        const error = await rejectsWith(
          within(transport.connect({ host: HOST, port: never.port, connectTimeoutMs: 250 }), 5000, "connect to a never-accepting listener"),
          "connect to a never-accepting listener",
        );
        const elapsed = performance.now() - t0;
        equal(error.code, "FW_CONNECT_TIMEOUT", `code (${describe(error)})`);
        equal(error.name, "ConnectTimeoutError", "error class");
        equal((error as { timeoutMs?: number }).timeoutMs, 250, "error.timeoutMs");
        ok(elapsed >= 240 && elapsed <= 1500, `rejected after ${Math.round(elapsed)} ms (connectTimeoutMs 250; expected 240-1500)`);
        if (before !== undefined && openHandles !== undefined) {
          await until(() => openHandles() <= before, 3000, `open handles back to ${before} after the timeout (now ${openHandles()})`);
        }
      } finally {
        never.close();
      }
    },
  },
  {
    name: "adapter identity: server, client and server-side connection all run on the transport's adapter",
    timeoutMs: 10_000,
    async run({ transport }) {
      const expected = transport.adapter.name;
      ok(["bun", "node", "deno", "native"].includes(expected), `adapter name "${expected}"`);
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        let serverSide: Connection<Uint8Array> | undefined;
        server.on("connection", (conn) => (serverSide = conn));
        const client = await transport.connect({ host: HOST, port: server.port });
        await until(() => serverSide !== undefined, 5000, "server-side connection");
        const conn = serverSide as Connection<Uint8Array>;
        equal(server.adapter.name, expected, "server.adapter.name");
        equal(client.adapter.name, expected, "client.adapter.name");
        equal(conn.adapter.name, expected, "connection.adapter.name");
        ok(server.adapter === transport.adapter, "server.adapter is the transport's adapter object");
        ok(client.adapter === transport.adapter, "client.adapter is the transport's adapter object");
        ok(conn.adapter === transport.adapter, "connection.adapter is the transport's adapter object");
        await client.close();
      });
    },
  },
];
