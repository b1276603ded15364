/**
 * The protocol at its edges: codes and reasons from peers, close reasons, FIN at awkward moments,
 * heartbeat timing, one consumer per connection, GOAWAY while listeners run.
 */
import { type CloseInfo, CodecError, type Connection, type FramewireError } from "../../../src/index.ts";
import {
  deepEqual,
  describe,
  encoder,
  equal,
  HELLO,
  helloWith,
  HOST,
  jsonFields,
  ok,
  RawPeer,
  rejectsWith,
  type Scenario,
  sleep,
  startChildServer,
  typed,
  u32,
  until,
  within,
  withServer,
} from "../kit.ts";

/** A GOAWAY or REJECT body as a peer may write it. */
function reasonFrame(type: 0x03 | 0x07, fields: Record<string, unknown>): Uint8Array {
  return typed(type, encoder.encode(JSON.stringify(fields)));
}

/** Connects a raw peer that has completed the handshake (WELCOME received). */
async function handshaken(transport: Parameters<Scenario["run"]>[0]["transport"], port: number, allowHalfOpen = false): Promise<RawPeer> {
  const peer = await RawPeer.connect(transport, port, allowHalfOpen);
  peer.write(HELLO);
  await until(() => peer.frames().length >= 1, 5000, "WELCOME");
  return peer;
}

export const protocolScenarios: Scenario[] = [
  {
    name: "a peer's GOAWAY: well-formed codes are taken (and marked remote), malformed ones are a protocol error, reasons lose their control characters",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        const errors: FramewireError[] = [];
        server.on("connection", (conn) => {
          conn.on("close", (info) => closes.push(info));
          conn.on("error", (error) => errors.push(error));
        });
        const cases: [Record<string, unknown>, string, boolean][] = [
          [{ code: "APP_BYE", reason: "line one\nFAKE LOG LINE\r\u2028" }, "APP_BYE", true],
          [{ code: "FW_NORMAL", reason: "done" }, "FW_NORMAL", false],
          [{ code: "FW_FROM_THE_FUTURE", reason: "" }, "FW_PEER_ERROR", true],
          [{ code: "FW_EVIL\nINJECTED", reason: "" }, "FW_PROTOCOL_ERROR", false],
          [{ code: "lower_case", reason: "" }, "FW_PROTOCOL_ERROR", false],
          [{ code: "X".repeat(65), reason: "" }, "FW_PROTOCOL_ERROR", false],
          [{ code: 7, reason: "" }, "FW_PROTOCOL_ERROR", false],
        ];
        for (const [fields] of cases) {
          const peer = await handshaken(transport, server.port);
          peer.write(reasonFrame(0x07, fields));
        }
        await until(() => closes.length === cases.length, 5000, `${closes.length}/${cases.length} closes`);
        const byCode = (code: string) => closes.filter((c) => c.code === code);
        for (const [fields, code, peerError] of cases) {
          ok(byCode(code).length > 0, `GOAWAY ${JSON.stringify(fields)} closes with ${code}; got ${closes.map((c) => c.code).join(", ")}`);
          if (code === "FW_PROTOCOL_ERROR") continue;
          const info = byCode(code)[0] as CloseInfo;
          equal(info.remote, true, `${code}: remote`);
          equal(info.error?.name === "PeerError", peerError, `${code}: PeerError on the close info`);
        }
        const app = byCode("APP_BYE")[0] as CloseInfo;
        ok(!/[\n\r\u2028]/.test(app.reason), `the peer's reason lost its line breaks: ${JSON.stringify(app.reason)}`);
        equal((app.error as FramewireError & { peerCode?: string }).peerCode, "APP_BYE", "PeerError.peerCode");
        equal(byCode("FW_PROTOCOL_ERROR").length, 4, "malformed codes");
        // A peer's error is not this side's: no error event for it; only the protocol errors are.
        equal(errors.length, 4, `error events (${errors.map((e) => e.code).join(", ")})`);
      });
    },
  },
  {
    name: "close(code, reason): a long reason is cut to 256 bytes, not an exception; the peer sees the code",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => conn.on("close", (info) => closes.push(info)));
        const client = await transport.connect({ host: HOST, port: server.port });
        const long = "é".repeat(10_000);
        const info = await within(client.close("APP_DONE", long), 5000, "close with a long reason");
        equal(info.code, "APP_DONE", "local close code");
        await until(() => closes.length === 1, 5000, "the server saw the close");
        const seen = closes[0] as CloseInfo;
        deepEqual([seen.code, seen.remote], ["APP_DONE", true], "the server's close info");
        ok(encoder.encode(seen.reason).length <= 256 && seen.reason.length >= 100 && long.startsWith(seen.reason), `reason cut to 256 bytes at a character boundary (${encoder.encode(seen.reason).length} bytes)`);
      });
    },
  },
  {
    name: "FIN during the handshake gets REJECT FW_PROTOCOL_ERROR, then FIN; a BOM or a non-string tag in HELLO is a protocol error",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const quitter = await RawPeer.connect(transport, server.port, true);
        void quitter.client.close(); // FIN, and keep reading
        await until(() => quitter.closeInfo !== undefined, 5000, "the server closed too");
        const frames = quitter.frames();
        equal(frames.length, 1, "one frame before the server's FIN");
        const reject = jsonFields(frames[0] as Uint8Array);
        deepEqual([reject.type, reject.fields.code], [0x03, "FW_PROTOCOL_ERROR"], "REJECT before FIN");

        for (const body of ["\ufeff{}", '{"tags":{"zone":5}}', '{"app":3}']) {
          const peer = await RawPeer.connect(transport, server.port);
          peer.write(helloWith(body));
          await until(() => peer.frames().length >= 1, 5000, `an answer to HELLO ${JSON.stringify(body)}`);
          const answer = jsonFields(peer.frames()[0] as Uint8Array);
          deepEqual([answer.type, answer.fields.code], [0x03, "FW_PROTOCOL_ERROR"], `REJECT for HELLO ${JSON.stringify(body)}`);
          await peer.client.close();
        }
      });
    },
  },
  {
    name: "a stream that ends inside a frame closes with FW_MALFORMED_FRAME, never silently (raw and framewire)",
    timeoutMs: 10_000,
    async run({ transport }) {
      for (const protocol of ["raw", "framewire"] as const) {
        const server = await transport.listen({ host: HOST, port: 0, protocol });
        await withServer(server, async () => {
          const closes: CloseInfo[] = [];
          const received: number[] = [];
          server.on("connection", (conn) => {
            conn.on("message", (m) => received.push(m.length));
            conn.on("close", (info) => closes.push(info));
          });
          const peer = await (protocol === "raw" ? RawPeer.connect(transport, server.port, true) : handshaken(transport, server.port, true));
          const whole = protocol === "raw" ? [...u32(2), 1, 2] : [...typed(0x00, [1, 2])];
          const cut = protocol === "raw" ? [...u32(10), 1, 2, 3] : [...u32(11), 0x00, 1, 2, 3];
          peer.write(Uint8Array.from([...whole, ...cut]));
          await sleep(50);
          void peer.client.close(); // FIN after 3 of the 10 announced bytes
          await until(() => closes.length === 1, 5000, `${protocol}: the server closed`);
          deepEqual(received, [2], `${protocol}: the whole frame was delivered`);
          equal(closes[0]?.code, "FW_MALFORMED_FRAME", `${protocol}: close code (${closes[0]?.reason})`);
        });
      }
    },
  },
  {
    name: "heartbeat: a silent peer is closed at heartbeatTimeoutMs, even when that is shorter than the interval",
    timeoutMs: 15_000,
    async run({ transport }) {
      for (const [interval, timeout] of [
        [1000, 300],
        [200, 400],
      ] as const) {
        const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: interval, heartbeatTimeoutMs: timeout });
        await withServer(server, async () => {
          const closes: { info: CloseInfo; at: number }[] = [];
          let openedAt = 0;
          server.on("connection", (conn) => {
            openedAt = performance.now();
            conn.on("close", (info) => closes.push({ info, at: performance.now() }));
          });
          const peer = await RawPeer.connect(transport, server.port);
          peer.write(HELLO); // then silence: PINGs go unanswered
          await until(() => closes.length === 1, 5000, `interval ${interval}, timeout ${timeout}: closed`);
          const elapsed = (closes[0]?.at as number) - openedAt;
          equal(closes[0]?.info.code, "FW_HEARTBEAT_TIMEOUT", "close code");
          ok(elapsed >= timeout - 5 && elapsed <= timeout + 150, `interval ${interval}, timeout ${timeout}: closed after ${Math.round(elapsed)} ms (expected ${timeout}-${timeout + 150})`);
          // The short timeout must not take an answering peer for a dead one.
          const client = await transport.connect({ host: HOST, port: server.port });
          await sleep(timeout * 3);
          equal(client.state, "open", "an answering client stays open");
          await client.close();
        });
      }
    },
  },
  {
    name: "one consumer per connection: iterating with a message listener throws FW_INVALID_USE; break closes, keepOpen keeps every later message",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      await withServer(server, async () => {
        const serverSide: Connection<string>[] = [];
        server.on("connection", (conn) => serverSide.push(conn));
        const client = await transport.connect({ host: HOST, port: server.port, codec: "text" });
        await until(() => serverSide.length === 1, 5000, "server side");
        const conn = serverSide[0] as Connection<string>;
        const listener = (): void => {};
        client.on("message", listener);
        let error: unknown;
        try {
          client[Symbol.asyncIterator]();
        } catch (e) {
          error = e;
        }
        equal((error as FramewireError | undefined)?.code, "FW_INVALID_USE", `iterating a client with a listener (${describe(error)})`);
        client.off("message", listener);
        const iterator = client.messages({ keepOpen: true });
        error = undefined;
        try {
          client.on("message", listener);
        } catch (e) {
          error = e;
        }
        equal((error as FramewireError | undefined)?.code, "FW_INVALID_USE", `a listener while iterating (${describe(error)})`);

        // keepOpen: leave after two messages; the rest waits for the next consumer, in order.
        for (let i = 0; i < 10; i++) conn.send(`m${i}`);
        const first: string[] = [];
        for await (const m of { [Symbol.asyncIterator]: () => iterator }) {
          first.push(m);
          if (first.length === 2) break;
        }
        equal(client.state, "open", "keepOpen: still open after break");
        const rest: string[] = [];
        client.on("message", (m) => rest.push(m));
        await until(() => rest.length === 8, 5000, `${rest.length}/8 later messages`);
        deepEqual([...first, ...rest], Array.from({ length: 10 }, (_, i) => `m${i}`), "every message, in order");

        // Default: break closes the connection in order.
        const other = await transport.connect({ host: HOST, port: server.port, codec: "text" });
        await until(() => serverSide.length === 2, 5000, "second server side");
        (serverSide[1] as Connection<string>).send("only");
        for await (const m of other) {
          equal(m, "only", "the one message");
          break;
        }
        const info = await within(other.closed(), 5000, "closed after break");
        deepEqual([info.code, info.remote], ["FW_NORMAL", false], "break closed it in order");
        await client.close();
      });
    },
  },
  {
    name: "GOAWAY from the peer: the connection is closing while goaway listeners run, and a second GOAWAY changes nothing",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      await withServer(server, async () => {
        const events: string[] = [];
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => {
          conn.on("goaway", (reason) => {
            events.push(`goaway ${reason.code} ${conn.state} ${conn.send(Uint8Array.from([1]))}`);
            void conn.close("APP_TOO", "from the listener"); // must not add a GOAWAY of its own
          });
          conn.on("close", (info) => closes.push(info));
        });
        const peer = await handshaken(transport, server.port);
        peer.write(Uint8Array.from([...reasonFrame(0x07, { code: "APP_BYE", reason: "one" }), ...reasonFrame(0x07, { code: "APP_AGAIN", reason: "two" })]));
        await until(() => closes.length === 1, 5000, "closed");
        deepEqual(events, ["goaway APP_BYE closing closed"], "one goaway event, while closing; send() answers closed");
        deepEqual([closes[0]?.code, closes[0]?.remote], ["APP_BYE", true], "the first GOAWAY's code");
        const after = peer.frames().slice(1); // everything after WELCOME
        deepEqual(after.map((f) => f[0]), [], "the server sent nothing back: no DATA, no GOAWAY");
        await peer.client.close();
      });
    },
  },
  {
    name: "a PONG the peer was not asked for sets no round-trip time",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, heartbeatIntervalMs: 60_000 });
      await withServer(server, async () => {
        let conn: Connection<Uint8Array> | undefined;
        server.on("connection", (c) => (conn = c));
        const peer = await handshaken(transport, server.port);
        // Timestamps a forger might try: 0 (RTT = the server's uptime), 1, and far in the past.
        for (const at of [0, 1, 1e6]) {
          const body = new Uint8Array(8);
          new DataView(body.buffer).setFloat64(0, at);
          peer.write(typed(0x05, body));
        }
        peer.write(typed(0x00, [7])); // a DATA frame after them, to know they were read
        await until(() => (conn?.stats().framesIn ?? 0) === 1, 5000, "the frames were read");
        deepEqual([conn?.stats().rttMs, conn?.stats().srttMs], [undefined, undefined], "no RTT from unsolicited PONGs");
        await peer.client.close();
      });
    },
  },
  {
    name: "destroy() inside a message listener: the rest of the chunk is not delivered",
    timeoutMs: 10_000,
    async run({ transport }) {
      for (const listeners of [1, 2]) {
        const server = await transport.listen({ host: HOST, port: 0 });
        await withServer(server, async () => {
          const got: string[] = [];
          server.on("connection", (conn) => {
            for (let i = 0; i < listeners; i++) {
              conn.on("message", (m) => {
                got.push(`${i}:${m[0]}`);
                conn.destroy();
              });
            }
          });
          const peer = await handshaken(transport, server.port);
          peer.write(Uint8Array.from([1, 2, 3, 4, 5].flatMap((n) => [...typed(0x00, [n])]))); // one write, one chunk
          await until(() => peer.closeInfo !== undefined, 5000, "the server destroyed the connection");
          await sleep(50);
          // Every listener of the first message runs; no later message is delivered.
          deepEqual(got, listeners === 1 ? ["0:1"] : ["0:1", "1:1"], `${listeners} listener(s): only the first message`);
        });
      }
    },
  },
  {
    name: "maxConnections: refused sockets that linger (no FIN) do not hold the slots",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, maxConnections: 1 });
      await withServer(server, async () => {
        const first = await transport.connect({ host: HOST, port: server.port });
        const lingering: RawPeer[] = [];
        for (let i = 0; i < 3; i++) {
          const peer = await RawPeer.connect(transport, server.port, true); // reads REJECT, never sends FIN
          await until(() => peer.frames().length >= 1, 5000, "REJECT");
          equal(jsonFields(peer.frames()[0] as Uint8Array).fields.code, "FW_SERVER_FULL", "refused while full");
          lingering.push(peer);
        }
        await first.close();
        await until(() => server.connectionCount === 0, 5000, "the slot is free");
        const next = await within(transport.connect({ host: HOST, port: server.port }), 5000, "a client after the first left");
        equal(next.state, "open", "the next client got the slot");
        await next.close();
        for (const peer of lingering) peer.client.destroy();
      });
    },
  },
  {
    name: "a custom codec's error text stays local: the peer is told only that decoding failed",
    timeoutMs: 10_000,
    async run({ transport }) {
      const secret = "postgres://admin:hunter2@db.internal";
      const leaky = {
        name: "leaky",
        encode: (value: Uint8Array): Uint8Array => value,
        decode: (bytes: Uint8Array): Uint8Array => {
          if (bytes[0] === 0xee) throw new CodecError(`cannot parse row for ${secret}`);
          return bytes;
        },
      };
      const server = await transport.listen({ host: HOST, port: 0, codec: leaky });
      await withServer(server, async () => {
        const closes: CloseInfo[] = [];
        server.on("connection", (conn) => conn.on("close", (info) => closes.push(info)));
        const peer = await handshaken(transport, server.port);
        peer.write(typed(0x00, [0xee]));
        await until(() => peer.frames().some((f) => f[0] === 0x07), 5000, "GOAWAY");
        const goaway = jsonFields(peer.frames().find((f) => f[0] === 0x07) as Uint8Array);
        deepEqual(goaway.fields, { code: "FW_CODEC_ERROR", reason: "codec failed to decode" }, "what the peer was told");
        await until(() => closes.length === 1, 5000, "closed");
        ok(String((closes[0]?.error?.cause as Error | undefined)?.message).includes(secret), "the detail is kept locally, on cause");
      });
    },
  },
  {
    name: "a hostile server's WELCOME with a heartbeat no timer can take is a protocol error, not a busy loop",
    timeoutMs: 10_000,
    async run({ transport }) {
      // A raw server that answers any HELLO with a WELCOME announcing heartbeatMs 3e9.
      const welcome = typed(0x02, [0x01, ...encoder.encode(JSON.stringify({ session: "s", maxFrameSize: 65536, heartbeatMs: 3e9 }))]);
      const server = await transport.listen({ host: HOST, port: 0, protocol: "raw", framing: { type: "none" } });
      await withServer(server, async () => {
        server.on("connection", (conn) => conn.once("message", () => conn.send(welcome)));
        const error = await rejectsWith(transport.connect({ host: HOST, port: server.port }), "connect to the hostile server");
        equal(error.code, "FW_PROTOCOL_ERROR", `the client's error (${describe(error)})`);
      });
    },
  },
  {
    name: "heartbeat: after a stall of our own event loop, the peer's waiting PINGs count before we judge it silent",
    timeoutMs: 20_000,
    async run(ctx) {
      const { transport } = ctx;
      // The server pings every 100 ms from another process (so our stall does not stop it).
      const server = await startChildServer(ctx, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 10_000 });
      try {
        const client = await transport.connect({ host: HOST, port: server.port, codec: "text", heartbeatTimeoutMs: 300 });
        await sleep(150);
        const stallEnd = performance.now() + 500;
        while (performance.now() < stallEnd); // our own event loop stalls past the 300 ms timeout
        await sleep(300);
        equal(client.state, "open", "the client did not blame the server for its own stall");
        await client.close();
        equal((await server.stop()).code, 0, "the server process exit code");
      } finally {
        server.process.kill();
      }
    },
  },
];
