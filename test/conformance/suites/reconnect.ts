/**
 * Reconnect and the offline queue: a client that loses its server redials with the configured
 * backoff, keeps its listeners and iterators, queues (bounded) while it has no connection, and
 * stops when a refusal would only repeat or when it is closed — at any point of the loop.
 */
import { type Client, type ClientStatusEntry, type CloseInfo, type Connection, QueueFullError, ReconnectFailedError } from "../../../src/index.ts";
import { deepEqual, describe, equal, HOST, need, ok, rejectsWith, type Scenario, sleep, startChildServer, until, within, withServer } from "../kit.ts";

/** Every status a client goes through, with when it happened (ms, `performance.now()`). */
function record<T>(client: Client<T>): { entries: (ClientStatusEntry & { at: number })[]; done: Promise<void> } {
  const entries: (ClientStatusEntry & { at: number })[] = [];
  const done = (async () => {
    for await (const entry of client.status()) entries.push({ ...entry, at: performance.now() });
  })();
  return { entries, done };
}

const types = (entries: readonly ClientStatusEntry[]): string[] => entries.map((e) => e.type);

export const reconnectScenarios: Scenario[] = [
  {
    name: "reconnect: a killed server's client redials with the configured backoff (jitter within bounds), and the same Client, listener and iterator carry on",
    timeoutMs: 40_000,
    async run(ctx) {
      const { transport } = ctx;
      const first = await startChildServer(ctx);
      const port = first.port;
      let second: Awaited<ReturnType<typeof startChildServer>> | undefined;
      const client = await transport.connect({ host: HOST, port, codec: "text", reconnect: { initialDelayMs: 100, multiplier: 2, maxDelayMs: 1600, jitter: 0.2 } });
      try {
        const status = record(client);
        const heard: string[] = [];
        const listener = (m: string): void => void heard.push(m);
        client.on("message", listener);
        client.send("one");
        await until(() => heard.includes("echo:one"), 5000, "the first echo");
        const sameClient = client;
        first.process.kill();
        await within(first.process.exited, 10_000, "the killed server exits");
        await until(() => client.state !== "open", 5000, "the client notices the server is gone");
        // Let three or four attempts fail (refused), then bring a server back on the same port.
        await sleep(900);
        second = await startChildServer(ctx, { port });
        await until(() => status.entries.some((e) => e.type === "reconnected"), 10_000, "reconnected");
        equal(client.state, "open", "open again");
        client.send("two");
        await until(() => heard.includes("echo:two"), 5000, "an echo on the new connection, through the same listener");
        ok(sameClient === client, "the same Client object");

        const seq = status.entries;
        equal(seq[0]?.type, "disconnected", `the first status after the kill (${types(seq).join(",")})`);
        const waits = seq.filter((e) => e.type === "reconnecting") as (ClientStatusEntry & { type: "reconnecting"; attempt: number; delayMs: number; at: number })[];
        const dials = seq.filter((e) => e.type === "connecting") as (ClientStatusEntry & { attempt: number; at: number })[];
        ok(waits.length >= 3, `at least three attempts before the server came back (${waits.length})`);
        for (const [i, wait] of waits.entries()) {
          equal(wait.attempt, i + 1, "attempts count from 1");
          const base = Math.min(1600, 100 * 2 ** i);
          ok(wait.delayMs >= Math.floor(base * 0.8) && wait.delayMs <= Math.ceil(base * 1.2), `attempt ${i + 1}: delay ${wait.delayMs} ms within ${base} ± 20%`);
          const dial = dials[i];
          if (dial !== undefined) {
            const waited = dial.at - wait.at;
            // Timers are late on a busy machine, never early.
            ok(waited >= wait.delayMs - 5 && waited <= wait.delayMs + 250, `attempt ${i + 1}: dialled ${Math.round(waited)} ms after it was scheduled for ${wait.delayMs} ms`);
          }
        }
        // Each wait is followed by its dial; the last dial succeeds.
        const tail = types(seq.slice(1));
        const expected = waits.flatMap(() => ["reconnecting", "connecting"]).concat("connected", "reconnected");
        deepEqual(tail.slice(0, expected.length), expected, "the status sequence");
        equal(client.stats().reconnects, 1, "one reconnect counted");

        // An iterator opened before a cut keeps going after it.
        client.off("message", listener);
        const iterated: string[] = [];
        const iterating = (async () => {
          for await (const m of client) {
            iterated.push(m as string);
            if (iterated.length === 2) break;
          }
        })();
        client.send("three");
        await until(() => iterated.length === 1, 5000, "the iterator's first message");
        second.process.kill();
        await within(second.process.exited, 10_000, "the second server exits");
        await until(() => client.state !== "open", 5000, "the second loss");
        second = await startChildServer(ctx, { port });
        await until(() => client.state === "open", 10_000, "reconnected a second time");
        client.send("four");
        await within(iterating, 5000, "the iterator's second message, after the reconnect");
        deepEqual(iterated, ["echo:three", "echo:four"], "what the iterator saw");
        await within(client.close(), 5000, "close");
        await within(status.done, 2000, "the status iterator ends after close");
        equal(status.entries.at(-1)?.type, "closed", "the last status is closed");
      } finally {
        client.destroy();
        await second?.stop();
        first.process.kill();
      }
    },
  },
  {
    name: "reconnect: close() during the backoff wait, during a dial and during a handshake ends the loop at once",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const spawn = need(ctx, "spawn");
      for (const phase of ["backoff", "dial", "handshake"] as const) {
        const server = await transport.listen({ host: HOST, port: 0 });
        const port = server.port;
        const client = await transport.connect({ host: HOST, port, reconnect: { initialDelayMs: phase === "backoff" ? 10_000 : 1000, jitter: "none", connectTimeoutMs: 20_000 } });
        const status = record(client);
        await server.close(0);
        await until(() => status.entries.some((e) => e.type === "disconnected"), 5000, `${phase}: the loss`);
        // What the next dial finds on the port: nothing (backoff: it never gets there), a listener
        // that never accepts (the dial hangs), or a raw server that never answers HELLO.
        let hold: { close(): Promise<unknown> | void } | undefined;
        if (phase === "dial") {
          const child = await spawn("python", "never_accepts", ["20", String(port)]);
          equal(Number((await child.readLine(5000)).trim()), port, "the never-accepting listener took the port");
          hold = { close: () => child.kill() };
        } else if (phase === "handshake") {
          hold = await transport.listen({ host: HOST, port, protocol: "raw" });
        }
        try {
          // The first redial comes a second after the loss. On a loaded machine the python listener
          // can take longer than that, and that dial is refused: wait for one that stays pending
          // (it hangs on the never-accepting listener, or waits for an answer to HELLO).
          if (phase !== "backoff") {
            let since: number | undefined;
            await until(() => {
              if (client.state !== "connecting") since = undefined;
              else since ??= performance.now();
              return since !== undefined && performance.now() - since >= 150;
            }, 8000, `${phase}: a dial started and stays pending`);
          }
          equal(client.state, phase === "backoff" ? "disconnected" : "connecting", `${phase}: where the loop is`);
          const t0 = performance.now();
          const info: CloseInfo = await within(client.close(), 1000, `${phase}: close() resolves at once`);
          ok(performance.now() - t0 < 500, `${phase}: closed in ${Math.round(performance.now() - t0)} ms`);
          equal(info.code, "FW_NORMAL", `${phase}: close code`);
          equal(client.state, "closed", `${phase}: state`);
          await within(status.done, 1000, `${phase}: the status iterator ends`);
          equal(status.entries.at(-1)?.type, "closed", `${phase}: last status`);
          // Nothing dials any more.
          const dials = status.entries.filter((e) => e.type === "connecting").length;
          await sleep(150);
          equal(status.entries.filter((e) => e.type === "connecting").length, dials, `${phase}: no dial after close`);
        } finally {
          client.destroy();
          await hold?.close();
        }
      }
    },
  },
  {
    name: "reconnect: a refusal that would repeat stops the loop with its typed error; maxAttempts ends it with FW_RECONNECT_FAILED",
    timeoutMs: 20_000,
    async run(ctx) {
      const { transport } = ctx;
      let hellos = 0;
      const server = await transport.listen({ host: HOST, port: 0, verifyHandshake: () => ++hellos === 1 });
      const connections: Connection<Uint8Array>[] = [];
      server.on("connection", (c) => void connections.push(c));
      await withServer(server, async () => {
        const client = await transport.connect({ host: HOST, port: server.port, reconnect: { initialDelayMs: 20 } });
        await until(() => connections.length === 1, 2000, "the server's connection");
        await connections[0]?.close();
        const info = await within(client.closed(), 5000, "the client gives up after the REJECT");
        equal(info.error?.name, "HandshakeRejectedError", `the close error (${describe(info.error)})`);
        equal((info.error as { reasonCode?: string } | undefined)?.reasonCode, "FW_HANDSHAKE_REJECTED", "the server's code");
        await sleep(200);
        equal(hellos, 2, "one refused attempt, then no more");
      });

      const gone = await transport.listen({ host: HOST, port: 0 });
      const client = await transport.connect({ host: HOST, port: gone.port, reconnect: { initialDelayMs: 10, maxAttempts: 3, jitter: "none" } });
      const status = record(client);
      await gone.close(0);
      const info = await within(client.closed(), 5000, "gives up after maxAttempts");
      ok(info.error instanceof ReconnectFailedError, `a ReconnectFailedError (${describe(info.error)})`);
      equal(info.error?.code, "FW_RECONNECT_FAILED", "its code");
      equal((info.error as ReconnectFailedError).attempts, 3, "after three attempts");
      await within(status.done, 1000, "status ends");
      equal(status.entries.filter((e) => e.type === "connecting").length, 3, "three dials");
      const sent = client.send(new Uint8Array(1));
      equal(sent, "closed", "send() after giving up");
      await rejectsWith(client.drained(), "drained() after giving up");
    },
  },
  {
    name: "offline queue: sends while disconnected wait in order and bounded; every overflow policy, TTL expiry, and offline: false",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      const received: string[] = [];
      const connections: Connection<string>[] = [];
      server.on("connection", (c) => {
        connections.push(c);
        c.on("message", (m) => void received.push(m));
      });
      await withServer(server, async () => {
        /** A client whose connection the server then drops: it redials after `delayMs`. */
        const disconnected = async (options: Record<string, unknown>, delayMs = 300): Promise<Client<string>> => {
          const before = connections.length;
          const client = await transport.connect({ host: HOST, port: server.port, codec: "text", reconnect: { initialDelayMs: delayMs, jitter: "none" }, ...options });
          await until(() => connections.length === before + 1, 2000, "connected");
          void connections[before]?.close();
          await until(() => client.state === "disconnected", 2000, "disconnected");
          return client;
        };
        const expectReceived = async (want: string[], what: string): Promise<void> => {
          await until(() => received.length >= want.length, 5000, `${what}: ${received.length}/${want.length} arrived`);
          await sleep(50);
          deepEqual(received, want, `${what}: what the server received, in order`);
          received.length = 0;
        };
        const names = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `m${from + i}`);

        // drop-oldest: the newest five are kept; the evictions are reported.
        let client = await disconnected({ offline: { maxMessages: 5, overflow: "drop-oldest" } });
        const evicted: number[] = [];
        client.on("drop", (d) => void evicted.push(d.messages));
        const statuses = names(8).map((m) => client.send(m));
        deepEqual(statuses, Array(8).fill("queued"), "drop-oldest: every send is queued");
        equal(evicted.reduce((a, b) => a + b, 0), 3, "drop-oldest: three evicted, reported");
        equal(client.stats().offlineQueued, 5, "drop-oldest: five wait");
        await expectReceived(names(5, 3), "drop-oldest");
        client.send("after");
        await expectReceived(["after"], "drop-oldest, once reconnected");
        await client.close();

        // drop-newest: the first five are kept; the rest are refused at send().
        client = await disconnected({ offline: { maxMessages: 5, overflow: "drop-newest" } });
        deepEqual(names(8).map((m) => client.send(m)), [...Array(5).fill("queued"), ...Array(3).fill("dropped")], "drop-newest: send() results");
        await expectReceived(names(5), "drop-newest");
        await client.close();

        // error: the sixth send throws, nothing changes.
        client = await disconnected({ offline: { maxBytes: 10, overflow: "error" } });
        deepEqual(["aa", "bb", "cc", "dd", "ee"].map((m) => client.send(m)), Array(5).fill("queued"), "error: five fit in 10 bytes");
        let thrown: unknown;
        try {
          client.send("ff");
        } catch (error) {
          thrown = error;
        }
        ok(thrown instanceof QueueFullError, `error: a QueueFullError (${describe(thrown)})`);
        await expectReceived(["aa", "bb", "cc", "dd", "ee"], "error");
        await client.close();

        // TTL: what waited too long is dropped, with reason "expired".
        client = await disconnected({ offline: { ttlMs: 600 } }, 1000);
        const expired: { messages: number; reason?: string }[] = [];
        client.on("drop", (d) => void expired.push(d));
        client.send("stale");
        await sleep(700);
        client.send("fresh");
        await expectReceived(["fresh"], "ttl");
        deepEqual(expired, [{ messages: 1, bytes: 5, reason: "expired" }], "ttl: the expiry was reported");
        await client.close();

        // offline: false fails fast.
        client = await disconnected({ offline: false });
        equal(client.send("nope"), "offline", "offline: false");
        await until(() => client.state === "open", 5000, "reconnected");
        await client.close();
      });
    },
  },
  {
    name: "without resume, a lost connection reports what never reached the kernel: never more than what did not arrive",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const server = await transport.listen({ host: HOST, port: 0 });
      let received = 0;
      let serverSide: Connection<Uint8Array> | undefined;
      server.on("connection", (c) => {
        serverSide = c;
        c.pause(); // reads nothing: the client's queue backs up past the kernel's buffers
        c.on("message", () => void received++);
      });
      await withServer(server, async () => {
        const client = await transport.connect({ host: HOST, port: server.port, highWaterMark: 64 * 1024 * 1024, reconnect: { initialDelayMs: 10_000 } });
        const reports: { messages: number; bytes: number }[] = [];
        client.on("undelivered", (u) => void reports.push(u));
        const payload = new Uint8Array(1024);
        const sent = 20_000; // 20 MiB: well past what loopback's kernel buffers take
        for (let i = 0; i < sent; i++) client.send(payload);
        await sleep(300);
        const flushed = client.stats().bytesOut;
        serverSide?.destroy();
        await until(() => reports.length === 1, 5000, "the undelivered report");
        const report = reports[0] as { messages: number; bytes: number };
        ok(report.messages > 0, `some messages never left (${report.messages})`);
        ok(received + report.messages <= sent, `delivered (${received}) + reported (${report.messages}) <= sent (${sent})`);
        // Everything the socket had not accepted is reported (frames are 1029 bytes on the wire).
        ok(report.messages >= sent - Math.floor(flushed / 1029), `reported ${report.messages}, at least ${sent - Math.floor(flushed / 1029)} never left`);
        equal(report.bytes, report.messages * 1024, "payload bytes of the reported messages");
        equal(client.stats().undelivered, report.messages, "counted in stats");
        await client.close();
      });
    },
  },
];
