/**
 * Resumable sessions: across connections cut with an RST at random points (a fault-injecting
 * proxy in its own process), every message arrives exactly once, in order, byte-identical, in
 * both directions; a session that is gone is reported, its unacknowledged messages handed back;
 * a token for another session is refused.
 */
import type { Client, Connection, FramewireError, Server } from "../../../src/index.ts";
import { type ConformanceContext, deepEqual, equal, HOST, need, ok, type Scenario, sleep, until, within, withServer } from "../kit.ts";

/** Message `i` of a stream: its number, then bytes derived from it (so corruption shows). */
function numbered(i: number, tag: number): Uint8Array {
  const m = new Uint8Array(16);
  const view = new DataView(m.buffer);
  view.setUint32(0, i);
  m[4] = tag;
  for (let k = 5; k < 16; k++) m[k] = (i * 31 + k * 7 + tag) & 0xff;
  return m;
}

/** Checks that `m` is message `expected` of stream `tag`; returns a description of what is wrong, or "". */
function wrong(m: Uint8Array, expected: number, tag: number): string {
  const want = numbered(expected, tag);
  if (m.length !== want.length) return `length ${m.length}`;
  for (let k = 0; k < want.length; k++) if (m[k] !== want[k]) return `message ${new DataView(m.buffer, m.byteOffset).getUint32(0)} where ${expected} was due (byte ${k})`;
  return "";
}

/** Sends `count` numbered messages, waiting whenever `send` says backpressure or there is no connection. */
async function sendAll(send: (m: Uint8Array) => string, drained: () => Promise<void>, count: number, tag: number, stop: () => boolean): Promise<void> {
  for (let i = 0; i < count && !stop(); ) {
    const status = send(numbered(i, tag));
    if (status === "queued" || status === "backpressure") i++;
    if (status !== "queued") await drained().catch(() => sleep(5));
  }
}

/** The server side of the streams: whichever connection carries the session now. */
function serverStreams(server: Server<Uint8Array>, count: number) {
  const state = { received: 0, error: "", current: undefined as Connection<Uint8Array> | undefined, resumed: 0, sessions: new Set<string>() };
  let wake: (() => void) | undefined;
  server.on("connection", (c) => {
    // A new session's WELCOME may have been cut before the client read it: send on a connection
    // once it is known to be the client's (it resumed, or the client spoke on it).
    const adopt = (): void => {
      if (state.current === c) return;
      state.current = c;
      state.sessions.add(c.sessionId);
      wake?.();
    };
    if (c.resumed) {
      state.resumed++;
      adopt();
    }
    c.on("message", (m) => {
      adopt();
      const problem = wrong(m, state.received, 1);
      if (problem !== "" && state.error === "") state.error = `server: ${problem}`;
      state.received++;
    });
  });
  const send = (m: Uint8Array): string => {
    const c = state.current;
    if (c === undefined || c.state !== "open") return "offline";
    return c.send(m);
  };
  const drained = async (): Promise<void> => {
    const c = state.current;
    if (c !== undefined && c.state === "open") {
      await c.drained();
      return;
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, 50);
    });
  };
  return { state, sending: (stop: () => boolean) => sendAll(send, drained, count, 2, stop) };
}

/** Streams `count` numbered messages each way through a proxy that cuts `cuts` connections after `minBytes`–`maxBytes` bytes each. */
async function throughCuts(ctx: ConformanceContext, count: number, cuts: number, minBytes: number, maxBytes: number): Promise<void> {
      const { transport } = ctx;
      const spawn = need(ctx, "spawn");
      const server = await transport.listen({ host: HOST, port: 0, resume: true, heartbeatIntervalMs: 0 });
      const streams = serverStreams(server, count);
      const proxy = await spawn("python", "cut_proxy", [String(server.port), "--cuts", String(cuts), "--min-bytes", String(minBytes), "--max-bytes", String(maxBytes), "--seed", "11", "--lifetime", "110"]);
      const proxyPort = Number((await proxy.readLine(10_000)).replace("PORT ", ""));
      await withServer(server, async () => {
        const client = await transport.connect({
          host: HOST,
          port: proxyPort,
          resume: true,
          heartbeatIntervalMs: 0,
          reconnect: { initialDelayMs: 5, maxDelayMs: 50, jitter: "none", retryFirstConnect: true },
        });
        let clientReceived = 0;
        let clientError = "";
        const handedBack: FramewireError[] = [];
        client.on("unacknowledged", (u) => void handedBack.push(u.error));
        const losses: string[] = [];
        client.on("disconnected", (info) => void losses.push(info.error?.code ?? info.code));
        client.on("message", (m) => {
          const problem = wrong(m, clientReceived, 2);
          if (problem !== "" && clientError === "") clientError = `client: ${problem}`;
          clientReceived++;
        });
        let stop = false;
        try {
          await within(
            Promise.all([
              sendAll((m) => client.send(m), () => client.drained(), count, 1, () => stop),
              streams.sending(() => stop),
              until(() => (streams.state.received >= count && clientReceived >= count) || streams.state.error !== "" || clientError !== "", 100_000, "both streams complete"),
            ]),
            105_000,
            `the streams (server got ${streams.state.received}, client got ${clientReceived})`,
          );
        } finally {
          stop = true;
        }
        equal(streams.state.error, "", `server side order (losses: ${[...new Set(losses)].join(",")}; handed back: ${handedBack.map((e) => e.code).join(",")})`);
        equal(clientError, "", "client side order");
        await sleep(100); // nothing more may arrive: duplicates would show up as extra messages
        equal(streams.state.received, count, "the server received each message once");
        equal(clientReceived, count, "the client received each message once");
        let seenCuts = 0;
        for (;;) {
          const line = await proxy.readLine(200).catch(() => "");
          if (line.startsWith("CUT ")) seenCuts++;
          else break;
        }
        ok(seenCuts >= cuts, `the proxy cut ${seenCuts} connections`);
        // A cut inside a handshake leaves no resumed connection for the server to count.
        ok(streams.state.resumed >= (minBytes > 1000 ? cuts : 1), `${streams.state.resumed} resumed connections`);
        equal(streams.state.sessions.size, 1, "one session throughout");
        deepEqual(handedBack, [], "nothing handed back");
        // With tiny budgets most cuts land in handshakes, many in the first connect()'s own retries.
        ok(client.stats().reconnects >= (minBytes > 1000 ? cuts : 1), `the client reconnected ${client.stats().reconnects} times`);
        await client.close();
      });
      proxy.kill();
}

export const resumeScenarios: Scenario[] = [
  {
    name: "resume: 100,000 numbered messages each way through 20 RST cuts arrive exactly once, in order, byte-identical",
    timeoutMs: 120_000,
    run: (ctx) => throughCuts(ctx, 100_000, 20, 2000, 120_000),
  },
  {
    name: "resume: cuts inside handshakes, ACKs and the first frames (30 cuts after 1-400 bytes) lose and repeat nothing",
    timeoutMs: 60_000,
    run: (ctx) => throughCuts(ctx, 3000, 30, 1, 400),
  },
  {
    name: "resume: an expired session is reported and its unacknowledged messages handed back; a token of another session is refused",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      // The server acknowledges only after 1,000 messages or 10 s: what the client sends stays unacknowledged.
      const server = await transport.listen({ host: HOST, port: 0, resume: { sessionTtlMs: 200, ackEveryMessages: 1000, ackDelayMs: 10_000 } });
      const connections: Connection<Uint8Array>[] = [];
      const serverHandedBack: { sessionId: string; messages: Uint8Array[] }[] = [];
      server.on("connection", (c) => void connections.push(c));
      server.on("unacknowledged", (u) => void serverHandedBack.push(u));
      await withServer(server, async () => {
        const client: Client<Uint8Array> = await transport.connect({ host: HOST, port: server.port, resume: true, reconnect: { initialDelayMs: 600, jitter: "none" } });
        const statuses: string[] = [];
        void (async () => {
          for await (const s of client.status()) statuses.push(s.type);
        })();
        const handedBack: { messages: Uint8Array[]; error: FramewireError }[] = [];
        client.on("unacknowledged", (u) => void handedBack.push(u));
        const firstSession = client.sessionId;
        for (let i = 0; i < 3; i++) client.send(numbered(i, 1));
        await until(() => connections[0]?.stats().framesIn === 3, 2000, "the server received three");
        // The server sends two the client acknowledges only later; then the link dies.
        connections[0]?.send(numbered(0, 2));
        await sleep(50);
        connections[0]?.destroy();
        // The client comes back after 600 ms; the session waited only 200.
        await until(() => statuses.includes("reconnected"), 5000, "reconnected");
        ok(statuses.includes("session-expired"), `a session-expired status (${statuses.join(",")})`);
        equal(handedBack.length, 1, "the client was handed its unacknowledged messages once");
        equal(handedBack[0]?.messages.length, 3, "all three");
        equal(handedBack[0]?.error.code, "FW_SESSION_EXPIRED", "with the code");
        ok(client.sessionId !== firstSession, "a new session");
        equal(serverHandedBack.length, 0, "the client acknowledged what the server sent (its ACK timer is 20 ms)");

        // Someone else's token: the session id of a live session with a wrong secret.
        const raw = await transport.connect({ host: HOST, port: server.port, protocol: "raw", framing: { type: "none" } });
        const got: Uint8Array[] = [];
        raw.on("message", (m) => void got.push(m));
        const json = new TextEncoder().encode(JSON.stringify({ resume: { token: `${client.sessionId}.${"0".repeat(32)}`, received: 0, maxUnackedBytes: 65536 } }));
        const hello = new Uint8Array(4 + 5 + json.length);
        new DataView(hello.buffer).setUint32(0, 1 + 4 + json.length);
        hello.set([0x01, 0x46, 0x57, 1, 1], 4);
        hello.set(json, 9);
        raw.send(hello);
        await until(() => got.reduce((a, b) => a + b.length, 0) >= 6, 2000, "an answer to the forged token");
        const answer = new TextDecoder().decode(Uint8Array.from(got.flatMap((b) => [...b])).subarray(5));
        equal(got[0]?.[4], 0x03, `a REJECT (${answer})`);
        ok(answer.includes("FW_SESSION_INVALID"), `with FW_SESSION_INVALID (${answer})`);
        await raw.closed();
        equal(client.state, "open", "the real client is untouched");
        await client.close();
      });
    },
  },
  {
    name: "resume: a session that resumes again and again still fits maxDetachedBytes (what a resume acknowledged is not counted twice)",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const spawn = need(ctx, "spawn");
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 0, resume: { maxDetachedBytes: 150_000, sessionTtlMs: 10_000 } });
      let current: Connection<Uint8Array> | undefined;
      let resumed = 0;
      const handedBack: number[] = [];
      server.on("connection", (c) => {
        current = c;
        if (c.resumed) resumed++;
      });
      server.on("unacknowledged", (u) => void handedBack.push(u.messages.length));
      // Each connection is cut after 40-60 KB; the client acknowledges only through the handshake.
      const proxy = await spawn("python", "cut_proxy", [String(server.port), "--cuts", "4", "--min-bytes", "40000", "--max-bytes", "60000", "--seed", "2", "--lifetime", "25"]);
      const proxyPort = Number((await proxy.readLine(10_000)).replace("PORT ", ""));
      await withServer(server, async () => {
        const client = await transport.connect({
          host: HOST,
          port: proxyPort,
          heartbeatIntervalMs: 0,
          resume: { ackDelayMs: 60_000, ackEveryBytes: 1 << 30, ackEveryMessages: 1 << 30 },
          reconnect: { initialDelayMs: 5, maxDelayMs: 20, jitter: "none" },
        });
        const expired: string[] = [];
        client.on("session-expired", (e) => void expired.push(e.sessionId));
        let got = 0;
        client.on("message", () => void got++);
        const payload = new Uint8Array(10_000);
        // Four rounds of 100 KB (each below maxDetachedBytes), on whichever connection is open (one
        // just cut answers "closed": send again); the next round once the client has this one.
        for (let round = 1; round <= 4; round++) {
          for (let sent = 0; sent < 10; ) {
            if (current?.state === "open" && current.send(payload) !== "closed") sent++;
            else await sleep(2);
          }
          await until(() => got === 10 * round || expired.length > 0, 10_000, `round ${round}: ${got}/${10 * round} arrived`);
        }
        ok(resumed >= 3, `the session resumed ${resumed} times`);
        deepEqual(expired, [], "the session never expired");
        deepEqual(handedBack, [], "the server handed nothing back");
        await client.close();
      });
      proxy.kill();
    },
  },
  {
    name: "resume: a HELLO announcing maxUnackedBytes below 1024 (which would mean an ACK per few bytes) is refused",
    timeoutMs: 10_000,
    async run(ctx) {
      const { transport } = ctx;
      const server = await transport.listen({ host: HOST, port: 0, resume: true });
      await withServer(server, async () => {
        for (const bound of [0, 1023]) {
          const raw = await transport.connect({ host: HOST, port: server.port, protocol: "raw", framing: { type: "none" } });
          const got: Uint8Array[] = [];
          raw.on("message", (m) => void got.push(m));
          const json = new TextEncoder().encode(JSON.stringify({ resume: { maxUnackedBytes: bound } }));
          const hello = new Uint8Array(9 + json.length);
          new DataView(hello.buffer).setUint32(0, 5 + json.length);
          hello.set([0x01, 0x46, 0x57, 1, 1], 4);
          hello.set(json, 9);
          raw.send(hello);
          await within(raw.closed(), 2000, `${bound}: the server closes`);
          const answer = new TextDecoder().decode(Uint8Array.from(got.flatMap((b) => [...b])).subarray(5));
          equal(got[0]?.[4], 0x03, `${bound}: a REJECT (${answer})`);
          ok(answer.includes("FW_PROTOCOL_ERROR"), `${bound}: FW_PROTOCOL_ERROR (${answer})`);
        }
      });
    },
  },
  {
    name: "resume: a server without resume leaves it off, and an old-style client is served without it",
    timeoutMs: 10_000,
    async run(ctx) {
      const { transport } = ctx;
      const plain = await transport.listen({ host: HOST, port: 0 });
      await withServer(plain, async () => {
        const back = new Promise<Uint8Array>((resolve) => plain.once("connection", (c) => c.once("message", resolve)));
        const client = await transport.connect({ host: HOST, port: plain.port, resume: true });
        equal(client.connection.session, undefined, "no session with a server that has resume off");
        client.send(numbered(7, 1));
        equal(wrong(await within(back, 2000, "a message"), 7, 1), "", "it still works");
        await client.close();
      });
      const resuming = await transport.listen({ host: HOST, port: 0, resume: true });
      await withServer(resuming, async () => {
        const accepted = new Promise<Connection<Uint8Array>>((resolve) => resuming.once("connection", resolve));
        const client = await transport.connect({ host: HOST, port: resuming.port });
        const serverSide = await within(accepted, 2000, "the server's connection");
        equal(client.connection.session, undefined, "a client that does not ask gets no session");
        equal(serverSide.session, undefined, "and the server keeps none for it");
        await client.close();
      });
    },
  },
];
