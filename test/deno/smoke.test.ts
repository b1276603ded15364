// Smoke tests of framewire/deno on real loopback sockets, through the public API.
// Run: ./node_modules/.bin/deno test -A test/deno/
// Deno's op and resource sanitizers stay on: every test must leave nothing pending or open.
import {
  adapter,
  type Client,
  connect,
  type Connection,
  DenoAdapter,
  type FramewireError,
  listen,
  QueueFullError,
  type Server,
} from "../../adapters/deno/index.ts";

const HOST = "127.0.0.1";

// Minimal assertions (no remote @std/assert import: the tests run offline).
function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  if (!equal(actual, expected)) {
    throw new Error(`${message ?? "values differ"}: ${Deno.inspect(actual)} !== ${Deno.inspect(expected)}`);
  }
}

function equal(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => equal(v, b[i]));
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => equal((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** Resolves with what `fn` rejects with; fails when it resolves. */
async function assertRejects(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Rejects after `ms` so a hung socket fails the test instead of stalling it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the next `n` messages of `source`. */
function collect<T>(source: Client<T>, n: number): Promise<T[]> {
  return new Promise((resolve) => {
    const out: T[] = [];
    const onMessage = (message: T): void => {
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
async function withServer<T>(server: Promise<Server<T>>, body: (server: Server<T>) => Promise<void>): Promise<void> {
  const s = await within(server, 5_000, "listen");
  try {
    await body(s);
  } finally {
    await within(s.close(1_000), 5_000, "server.close");
  }
}

function echo<T>(server: Server<T>): void {
  server.on("connection", (connection) => connection.on("message", (message) => connection.send(message)));
}

async function closeClient<T>(client: Client<T>): Promise<void> {
  await within(client.close(), 5_000, "client.close");
}

Deno.test("the adapter is Deno's", () => {
  assert(adapter instanceof DenoAdapter);
  assertEquals(adapter.name, "deno");
  assertEquals(adapter.capabilities.retainsWrites, true);
});

Deno.test("framewire echo of 10,000 sequenced JSON messages, in order", async () => {
  type Msg = { seq: number; text: string; even: boolean };
  await withServer(listen<Msg>({ host: HOST, port: 0, codec: "json" }), async (server) => {
    echo(server);
    const client = await within(connect<Msg>({ host: HOST, port: server.port, codec: "json" }), 5_000, "connect");
    try {
      const N = 10_000;
      const replies = collect(client, N);
      for (let i = 0; i < N; i++) {
        if (client.send({ seq: i, text: `message ${i}`, even: i % 2 === 0 }) === "backpressure") {
          await within(client.drained(), 5_000, "drained");
        }
      }
      const got = await within(replies, 20_000, "10,000 echoes");
      for (let i = 0; i < N; i++) assertEquals(got[i], { seq: i, text: `message ${i}`, even: i % 2 === 0 });
    } finally {
      await closeClient(client);
    }
  });
});

Deno.test("raw protocol echo (length-prefixed, no handshake)", async () => {
  await withServer(listen({ host: HOST, port: 0, protocol: "raw" }), async (server) => {
    echo(server);
    const client = await within(connect({ host: HOST, port: server.port, protocol: "raw" }), 5_000, "connect");
    try {
      assertEquals(client.sessionId, "");
      const N = 200;
      const replies = collect(client, N);
      const sent: Uint8Array[] = [];
      for (let i = 0; i < N; i++) {
        const body = new Uint8Array(1 + ((i * 97) % 3000)).map((_, j) => (i + j) & 255);
        sent.push(body);
        client.send(body);
      }
      const got = await within(replies, 10_000, "raw echoes");
      for (let i = 0; i < N; i++) assertEquals(got[i], sent[i]);
    } finally {
      await closeClient(client);
    }
  });
});

Deno.test("a 4 MiB message round trip", async () => {
  await withServer(listen({ host: HOST, port: 0 }), async (server) => {
    echo(server);
    const client = await within(connect({ host: HOST, port: server.port }), 5_000, "connect");
    try {
      const big = new Uint8Array(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 255;
      const reply = collect(client, 1);
      client.send(big);
      const [got] = await within(reply, 15_000, "4 MiB echo");
      assert(got !== undefined);
      assertEquals(got.length, big.length);
      let same = true;
      for (let i = 0; i < big.length; i++) {
        if (got[i] !== big[i]) {
          same = false;
          break;
        }
      }
      assert(same, "4 MiB payload differs");
    } finally {
      await closeClient(client);
    }
  });
});

Deno.test("a non-reading peer gives backpressure, bounded by maxBufferedBytes; resuming delivers everything", async () => {
  const SIZE = 32 * 1024;
  const MAX = 2 * 1024 * 1024;
  await withServer(listen({ host: HOST, port: 0 }), async (server) => {
    const received: Uint8Array[] = [];
    const opened = new Promise<Connection<Uint8Array>>((resolve) =>
      server.on("connection", (connection) => {
        connection.pause(); // the peer stops reading
        connection.on("message", (message) => received.push(message));
        resolve(connection);
      })
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
      // Send until the queue stays full: the kernel's buffers are then exhausted.
      while (still < 5 && sent < 4096) {
        for (;;) {
          const body = new Uint8Array(SIZE).fill(sent & 255);
          new DataView(body.buffer).setUint32(0, sent);
          let status;
          try {
            status = client.send(body);
          } catch (error) {
            assert(error instanceof QueueFullError, String(error));
            assertEquals(error.code, "FW_QUEUE_FULL");
            full++;
            break;
          }
          assert(status === "queued" || status === "backpressure", status);
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
      assertEquals(still, 5, "the queue never settled: is the peer reading?");
      assert(backpressure > 0, "send() never answered backpressure");
      assert(full > 0, "the queue never reached maxBufferedBytes");
      assert(peak <= MAX, `bufferedAmount ${peak} > maxBufferedBytes ${MAX}`);
      assert(client.bufferedAmount > 0);

      const drained = new Promise<void>((resolve) => client.once("drain", resolve));
      serverSide.resume();
      await within(
        (async () => {
          while (received.length < sent) await sleep(10);
        })(),
        20_000,
        `all ${sent} messages after resume`,
      );
      await within(drained, 5_000, "client drain event");
      assertEquals(received.length, sent);
      for (let i = 0; i < sent; i++) {
        const message = received[i] as Uint8Array;
        assertEquals(message.length, SIZE);
        assertEquals(new DataView(message.buffer, message.byteOffset, 4).getUint32(0), i);
        assertEquals(message[SIZE - 1], i & 255);
      }
      assertEquals(client.bufferedAmount, 0);
    } finally {
      await closeClient(client);
    }
  });
});

Deno.test("a rejected handshake rejects connect() with FW_HANDSHAKE_REJECTED and the server's code", async () => {
  await withServer(listen({ host: HOST, port: 0, verifyHandshake: () => ({ code: "NOPE", reason: "x" }) }), async (server) => {
    const error = await assertRejects(() => within(connect({ host: HOST, port: server.port }), 5_000, "connect"));
    const rejected = error as FramewireError & { reasonCode?: string; reason?: string };
    assertEquals(rejected.code, "FW_HANDSHAKE_REJECTED");
    assertEquals(rejected.reasonCode, "NOPE");
    assertEquals(rejected.reason, "x");
  });
});

Deno.test("server.close() with a connected client closes both", async () => {
  const server = await listen({ host: HOST, port: 0 });
  const opened = new Promise<Connection<Uint8Array>>((resolve) => server.on("connection", resolve));
  const client = await within(connect({ host: HOST, port: server.port }), 5_000, "connect");
  const serverSide = await within(opened, 5_000, "server connection");
  const [, clientInfo, serverInfo] = await within(Promise.all([server.close(), client.closed(), serverSide.closed()]), 8_000, "close");
  assertEquals(client.state, "closed");
  assertEquals(serverSide.state, "closed");
  assertEquals(clientInfo.code, "FW_SHUTDOWN");
  assertEquals(clientInfo.remote, true);
  assertEquals(serverInfo.code, "FW_SHUTDOWN");
  assertEquals(server.connectionCount, 0);
  // The listening socket is gone too.
  const error = await assertRejects(() => within(connect({ host: HOST, port: server.port, connectTimeoutMs: 2_000 }), 5_000, "connect"));
  assertEquals((error as FramewireError).code, "FW_SOCKET_ERROR");
});

Deno.test("Deno specifics: IPv6, Unix sockets, refused, abort, reusePort", async () => {
  // IPv6 loopback, when the host has it.
  let v6: Server<string> | undefined;
  try {
    v6 = await listen({ host: "::1", port: 0, codec: "text" });
  } catch {
    v6 = undefined;
  }
  if (v6 !== undefined) {
    try {
      echo(v6);
      assertEquals(v6.host, "::1");
      const client = await within(connect({ host: "::1", port: v6.port, codec: "text" }), 5_000, "connect ::1");
      const reply = collect(client, 1);
      client.send("over IPv6");
      assertEquals(await within(reply, 5_000, "v6 echo"), ["over IPv6"]);
      await closeClient(client);
    } finally {
      await within(v6.close(1_000), 5_000, "v6 server close");
    }
  }

  // Unix domain socket.
  if (adapter.capabilities.unixSockets) {
    const dir = await Deno.makeTempDir({ prefix: "framewire-deno-" });
    try {
      const path = `${dir}/s.sock`;
      await withServer(listen({ path, codec: "text" }), async (server) => {
        echo(server);
        assertEquals(server.port, 0);
        const client = await within(connect({ path, codec: "text" }), 5_000, "connect unix");
        const reply = collect(client, 1);
        client.send("over a Unix socket");
        assertEquals(await within(reply, 5_000, "unix echo"), ["over a Unix socket"]);
        await closeClient(client);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }

  // Nothing listening: SocketError.
  const gone = await listen({ host: HOST, port: 0 });
  const port = gone.port;
  await gone.close();
  const refused = await assertRejects(() => within(connect({ host: HOST, port, connectTimeoutMs: 2_000 }), 5_000, "refused"));
  assertEquals((refused as FramewireError).code, "FW_SOCKET_ERROR");

  // An aborted connect rejects with SocketError and never opens.
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  let opened = false;
  const aborted = await assertRejects(() =>
    adapter.connect({ host: HOST, port: 9, signal: controller.signal }, () => {
      opened = true;
      return { data() {}, drain() {}, end() {}, close() {} };
    })
  );
  assertEquals((aborted as FramewireError).code, "FW_SOCKET_ERROR");
  assertEquals(opened, false);

  // reusePort: Linux with --unstable-net; FW_UNSUPPORTED otherwise (Deno would exit the process).
  const supported = Deno.build.os === "linux" && typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
  assertEquals(adapter.capabilities.reusePort, supported);
  if (supported) {
    const a = await listen({ host: HOST, port: 0, reusePort: true });
    const b = await listen({ host: HOST, port: a.port, reusePort: true });
    await Promise.all([a.close(), b.close()]);
  } else {
    const error = await assertRejects(() => listen({ host: HOST, port: 0, reusePort: true }));
    assertEquals((error as FramewireError).code, "FW_UNSUPPORTED");
    const direct = await assertRejects(() =>
      adapter.listen({ host: HOST, port: 0, reusePort: true }, () => {
        throw new Error("unreachable");
      })
    );
    assertEquals((direct as FramewireError).code, "FW_UNSUPPORTED");
  }
});
