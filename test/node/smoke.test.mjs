// Smoke tests of framewire/node on real loopback sockets, through the built public API.
// Run: npm run build && node --test test/node/
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { adapter, connect, listen, NodeAdapter, QueueFullError } from "../../dist/adapters/node/index.js";

const HOST = "127.0.0.1";

/** Rejects after `ms` so a hung socket fails the test instead of stalling it. */
function within(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the next `n` messages of `source`. */
function collect(source, n) {
  return new Promise((resolve) => {
    const out = [];
    const onMessage = (message) => {
      out.push(message);
      if (out.length === n) {
        source.off("message", onMessage);
        resolve(out);
      }
    };
    source.on("message", onMessage);
  });
}

/** Runs `body` with a server and always closes it (bounded). */
async function withServer(options, body) {
  const server = await within(listen(options), 5_000, "listen");
  try {
    await body(server);
  } finally {
    await within(server.close(1_000), 5_000, "server.close");
  }
}

function echo(server) {
  server.on("connection", (connection) => connection.on("message", (message) => connection.send(message)));
}

test("the adapter is Node's", () => {
  assert.ok(adapter instanceof NodeAdapter);
  assert.equal(adapter.name, "node");
  assert.equal(adapter.capabilities.retainsWrites, true);
});

test("framewire echo of 10,000 sequenced JSON messages, in order", { timeout: 30_000 }, async () => {
  await withServer({ host: HOST, port: 0, codec: "json" }, async (server) => {
    echo(server);
    const client = await within(connect({ host: HOST, port: server.port, codec: "json" }), 5_000, "connect");
    try {
      const N = 10_000;
      const replies = collect(client, N);
      for (let i = 0; i < N; i++) {
        if (client.send({ seq: i, text: `message ${i}`, even: i % 2 === 0 }) === "backpressure") {
          await within(client.drained(), 5_000, "drained");
        }
      }
      const got = await within(replies, 20_000, "10,000 echoes");
      for (let i = 0; i < N; i++) assert.deepEqual(got[i], { seq: i, text: `message ${i}`, even: i % 2 === 0 });
    } finally {
      await within(client.close(), 5_000, "client.close");
    }
  });
});

test("raw protocol echo (length-prefixed, no handshake)", { timeout: 15_000 }, async () => {
  await withServer({ host: HOST, port: 0, protocol: "raw" }, async (server) => {
    echo(server);
    const client = await within(connect({ host: HOST, port: server.port, protocol: "raw" }), 5_000, "connect");
    try {
      assert.equal(client.sessionId, "");
      const N = 200;
      const replies = collect(client, N);
      const sent = [];
      for (let i = 0; i < N; i++) {
        const body = new Uint8Array(1 + ((i * 97) % 3000)).map((_, j) => (i + j) & 255);
        sent.push(body);
        client.send(body);
      }
      const got = await within(replies, 10_000, "raw echoes");
      for (let i = 0; i < N; i++) assert.deepEqual(got[i], sent[i]);
    } finally {
      await within(client.close(), 5_000, "client.close");
    }
  });
});

test("a 4 MiB message round trip", { timeout: 20_000 }, async () => {
  await withServer({ host: HOST, port: 0 }, async (server) => {
    echo(server);
    const client = await within(connect({ host: HOST, port: server.port }), 5_000, "connect");
    try {
      const big = new Uint8Array(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 255;
      const reply = collect(client, 1);
      client.send(big);
      const [got] = await within(reply, 15_000, "4 MiB echo");
      assert.equal(got.length, big.length);
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.length).equals(Buffer.from(big.buffer)), "4 MiB payload differs");
    } finally {
      await within(client.close(), 5_000, "client.close");
    }
  });
});

test("a non-reading peer gives backpressure, bounded by maxBufferedBytes; resuming delivers everything", { timeout: 30_000 }, async () => {
  const SIZE = 32 * 1024;
  const MAX = 2 * 1024 * 1024;
  await withServer({ host: HOST, port: 0 }, async (server) => {
    const received = [];
    const opened = new Promise((resolve) =>
      server.on("connection", (connection) => {
        connection.pause(); // the peer stops reading
        connection.on("message", (message) => received.push(message));
        resolve(connection);
      }),
    );
    const client = await within(connect({ host: HOST, port: server.port, highWaterMark: 128 * 1024, maxBufferedBytes: MAX }), 5_000, "connect");
    try {
      const serverSide = await within(opened, 5_000, "server connection");
      let sent = 0;
      let backpressure = 0;
      let full = 0;
      let peak = 0;
      let last = -1;
      let still = 0;
      // Send until the queue stays full: kernel buffers and Node's own buffer are then exhausted.
      while (still < 5 && sent < 4096) {
        for (;;) {
          const body = new Uint8Array(SIZE).fill(sent & 255);
          new DataView(body.buffer).setUint32(0, sent);
          let status;
          try {
            status = client.send(body);
          } catch (error) {
            assert.ok(error instanceof QueueFullError, String(error));
            assert.equal(error.code, "FW_QUEUE_FULL");
            full++;
            break;
          }
          assert.ok(status === "queued" || status === "backpressure", status);
          if (status === "backpressure") backpressure++;
          sent++;
          peak = Math.max(peak, client.bufferedAmount);
        }
        await sleep(20);
        peak = Math.max(peak, client.bufferedAmount);
        if (client.bufferedAmount === last) still++;
        else {
          still = 0;
          last = client.bufferedAmount;
        }
      }
      assert.equal(still, 5, "the queue never settled: is the peer reading?");
      assert.ok(backpressure > 0, "send() never answered backpressure");
      assert.ok(full > 0, "the queue never reached maxBufferedBytes");
      assert.ok(peak <= MAX, `bufferedAmount ${peak} > maxBufferedBytes ${MAX}`);
      assert.ok(client.bufferedAmount > 0);

      const drained = new Promise((resolve) => client.once("drain", resolve));
      serverSide.resume();
      await within(
        (async () => {
          while (received.length < sent) await sleep(10);
        })(),
        20_000,
        `all ${sent} messages after resume`,
      );
      await within(drained, 5_000, "client drain event");
      assert.equal(received.length, sent);
      for (let i = 0; i < sent; i++) {
        const message = received[i];
        assert.equal(message.length, SIZE);
        assert.equal(new DataView(message.buffer, message.byteOffset, 4).getUint32(0), i);
        assert.equal(message[SIZE - 1], i & 255);
      }
      assert.equal(client.bufferedAmount, 0);
    } finally {
      await within(client.close(), 5_000, "client.close");
    }
  });
});

test("a rejected handshake rejects connect() with FW_HANDSHAKE_REJECTED and the server's code", { timeout: 10_000 }, async () => {
  await withServer({ host: HOST, port: 0, verifyHandshake: () => ({ code: "NOPE", reason: "x" }) }, async (server) => {
    await assert.rejects(within(connect({ host: HOST, port: server.port }), 5_000, "connect"), (error) => {
      assert.equal(error.code, "FW_HANDSHAKE_REJECTED");
      assert.equal(error.reasonCode, "NOPE");
      assert.equal(error.reason, "x");
      return true;
    });
  });
});

test("server.close() with a connected client closes both", { timeout: 10_000 }, async () => {
  const server = await listen({ host: HOST, port: 0 });
  const opened = new Promise((resolve) => server.on("connection", resolve));
  const client = await within(connect({ host: HOST, port: server.port }), 5_000, "connect");
  const serverSide = await within(opened, 5_000, "server connection");
  const [, clientInfo, serverInfo] = await within(Promise.all([server.close(), client.closed(), serverSide.closed()]), 8_000, "close");
  assert.equal(client.state, "closed");
  assert.equal(serverSide.state, "closed");
  assert.equal(clientInfo.code, "FW_SHUTDOWN");
  assert.equal(clientInfo.remote, true);
  assert.equal(serverInfo.code, "FW_SHUTDOWN");
  assert.equal(server.connectionCount, 0);
  // The listening socket is gone too.
  await assert.rejects(within(connect({ host: HOST, port: server.port, connectTimeoutMs: 2_000 }), 5_000, "connect"), { code: "FW_SOCKET_ERROR" });
});

test("Node specifics: IPv6, Unix sockets, refused, abort, reusePort", { timeout: 15_000 }, async () => {
  // IPv6 loopback, when the host has it.
  let v6;
  try {
    v6 = await listen({ host: "::1", port: 0, codec: "text" });
  } catch {
    v6 = undefined;
  }
  if (v6 !== undefined) {
    try {
      echo(v6);
      assert.equal(v6.host, "::1");
      const client = await within(connect({ host: "::1", port: v6.port, codec: "text" }), 5_000, "connect ::1");
      const reply = collect(client, 1);
      client.send("over IPv6");
      assert.deepEqual(await within(reply, 5_000, "v6 echo"), ["over IPv6"]);
      await within(client.close(), 5_000, "close");
    } finally {
      await within(v6.close(1_000), 5_000, "v6 server close");
    }
  }

  // Unix domain socket.
  const dir = mkdtempSync(join(tmpdir(), "framewire-node-"));
  try {
    const path = join(dir, "s.sock");
    await withServer({ path, codec: "text" }, async (server) => {
      echo(server);
      assert.equal(server.port, 0);
      const client = await within(connect({ path, codec: "text" }), 5_000, "connect unix");
      const reply = collect(client, 1);
      client.send("over a Unix socket");
      assert.deepEqual(await within(reply, 5_000, "unix echo"), ["over a Unix socket"]);
      await within(client.close(), 5_000, "close");
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Nothing listening: SocketError.
  const closed = await listen({ host: HOST, port: 0 });
  const port = closed.port;
  await closed.close();
  await assert.rejects(within(connect({ host: HOST, port, connectTimeoutMs: 2_000 }), 5_000, "refused"), { code: "FW_SOCKET_ERROR" });

  // An aborted connect rejects with SocketError and never opens.
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  let opened = false;
  await assert.rejects(
    adapter.connect({ host: HOST, port: 9, signal: controller.signal }, () => {
      opened = true;
      return { data() {}, drain() {}, end() {}, close() {} };
    }),
    { code: "FW_SOCKET_ERROR" },
  );
  assert.equal(opened, false);

  // reusePort: supported from Node 22.12 / 23.1, FW_UNSUPPORTED before.
  const [major, minor] = process.versions.node.split(".").map(Number);
  const supported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  assert.equal(adapter.capabilities.reusePort, supported);
  if (supported) {
    const a = await listen({ host: HOST, port: 0, reusePort: true });
    const b = await listen({ host: HOST, port: a.port, reusePort: true });
    await Promise.all([a.close(), b.close()]);
  } else {
    await assert.rejects(listen({ host: HOST, port: 0, reusePort: true }), { code: "FW_UNSUPPORTED" });
    await assert.rejects(adapter.listen({ host: HOST, port: 0, reusePort: true }, () => assert.fail()), { code: "FW_UNSUPPORTED" });
  }
});
