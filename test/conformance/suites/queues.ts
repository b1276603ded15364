/**
 * The outbound side under pressure: drop-oldest with refused messages, re-entrant listeners and
 * control frames in the queue, codecs that answer with something other than bytes, broadcast.
 */
import type { Connection, FramewireError } from "../../../src/index.ts";
import { deepEqual, describe, equal, HOST, ok, type Scenario, sleep, until, within, withServer } from "../kit.ts";

export const queueScenarios: Scenario[] = [
  {
    name: "drop-oldest: a send refused by the framing evicts nothing",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, protocol: "raw", framing: { type: "delimiter" } });
      await withServer(server, async () => {
        server.on("connection", (conn) => conn.pause()); // never reads: the client's queue fills
        const client = await transport.connect({
          host: HOST,
          port: server.port,
          protocol: "raw",
          framing: { type: "delimiter" },
          codec: "text",
          overflow: "drop-oldest",
          highWaterMark: 64 * 1024,
          maxBufferedBytes: 64 * 1024,
        });
        let drops = 0;
        client.on("drop", (d) => (drops += d.messages));
        const line = "y".repeat(1000);
        for (let round = 0; round < 400 && drops === 0; round++) {
          for (let i = 0; i < 64; i++) client.send(line);
          await sleep(1);
        }
        ok(drops > 0, "the queue filled up and evicted");
        const before = { drops: client.stats().drops, buffered: client.bufferedAmount, events: drops };
        let thrown: unknown;
        try {
          client.send(`${line}\n${line}`); // contains the delimiter: refused
        } catch (error) {
          thrown = error;
        }
        equal((thrown as FramewireError | undefined)?.code, "FW_CODEC_ERROR", `the refused send (${describe(thrown)})`);
        deepEqual({ drops: client.stats().drops, buffered: client.bufferedAmount, events: drops }, before, "nothing evicted for it");
        client.destroy();
      });
    },
  },
  {
    name: "drop-oldest never evicts control frames: a server that fills its queue in its connection listener still completes the handshake",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text", overflow: "drop-oldest", highWaterMark: 512, maxBufferedBytes: 1024 });
      await withServer(server, async () => {
        const drops: number[] = [];
        server.on("connection", (conn) => {
          conn.on("drop", (d) => drops.push(d.messages));
          // Queued in the same tick as WELCOME, before it is written.
          for (let i = 0; i < 3; i++) conn.send(`${i}:${"w".repeat(600)}`);
        });
        const client = await within(transport.connect({ host: HOST, port: server.port, codec: "text" }), 5000, "connect");
        const got: string[] = [];
        client.on("message", (m) => got.push(m.slice(0, 2)));
        await until(() => got.length >= 1, 5000, "a message after the handshake");
        await sleep(50);
        deepEqual(got, ["2:"], "the newest message survives, the evicted ones are reported");
        deepEqual(drops, [1, 1], "two evictions, one message each (WELCOME is not a message)");
        await client.close();
      });
    },
  },
  {
    name: "a drop listener that sends or closes re-entrantly does not corrupt the stream",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      await withServer(server, async () => {
        const received: string[] = [];
        const errors: string[] = [];
        let resume: () => void = () => {};
        server.on("connection", (conn) => {
          conn.pause();
          resume = () => conn.resume();
          conn.on("message", (m) => received.push(m));
          conn.on("error", (e) => errors.push(e.code));
        });
        const client = await transport.connect({ host: HOST, port: server.port, codec: "text", overflow: "drop-oldest", highWaterMark: 16 * 1024, maxBufferedBytes: 16 * 1024 });
        const queued = new Set<string>();
        let nested = 0;
        client.on("drop", () => {
          // Re-entrant: a new message from inside the eviction of another.
          const text = `nested-${nested++}-${"n".repeat(300)}`;
          const status = client.send(text);
          if (status === "queued" || status === "backpressure") queued.add(text);
        });
        for (let round = 0; round < 200 && nested < 20; round++) {
          for (let i = 0; i < 40; i++) {
            const text = `m-${round}-${i}-${"m".repeat(700)}`;
            const status = client.send(text);
            if (status === "queued" || status === "backpressure") queued.add(text);
          }
          await sleep(1);
        }
        ok(nested >= 20, `drop listener ran (${nested}x)`);
        resume();
        await sleep(500);
        await client.close();
        await until(() => errors.length > 0 || received.length > 0, 5000, "the server read the stream");
        deepEqual(errors, [], "the server saw no framing or protocol error");
        ok(received.every((m) => m.startsWith("m-") || m.startsWith("nested-")), "every message arrived whole");
        ok(received.some((m) => m.startsWith("nested-")), "messages sent from the drop listener arrived");
      });
    },
  },
  {
    name: "a codec that returns something other than bytes: send() throws CodecError, nothing is queued, the connection goes on",
    timeoutMs: 10_000,
    async run({ transport }) {
      type Odd = { kind: "ok" | "arraybuffer" | "string" | "number" | "null" };
      const odd = {
        name: "odd",
        encode(value: Odd): Uint8Array {
          switch (value.kind) {
            case "ok":
              return new TextEncoder().encode("ok");
            case "arraybuffer":
              return new ArrayBuffer(8) as unknown as Uint8Array;
            case "string":
              return "abc" as unknown as Uint8Array;
            case "number":
              return 12 as unknown as Uint8Array;
            default:
              return null as unknown as Uint8Array;
          }
        },
        decode: (bytes: Uint8Array): Odd => ({ kind: new TextDecoder().decode(bytes) === "ok" ? "ok" : "null" }),
      };
      const server = await transport.listen({ host: HOST, port: 0, codec: odd });
      await withServer(server, async () => {
        const got: Odd[] = [];
        server.on("connection", (conn) => conn.on("message", (m) => got.push(m)));
        const client = await transport.connect({ host: HOST, port: server.port, codec: odd });
        for (const kind of ["arraybuffer", "string", "number", "null"] as const) {
          let thrown: unknown;
          try {
            client.send({ kind });
          } catch (error) {
            thrown = error;
          }
          deepEqual([(thrown as Error | undefined)?.name, (thrown as FramewireError | undefined)?.code], ["CodecError", "FW_CODEC_ERROR"], `encode returning ${kind}`);
          equal(client.bufferedAmount, 0, `${kind}: nothing queued`);
        }
        client.send({ kind: "ok" });
        await until(() => got.length === 1, 5000, "the good message");
        deepEqual(got, [{ kind: "ok" }], "only the good message arrived");
        let broadcastError: unknown;
        try {
          server.broadcast({ kind: "arraybuffer" });
        } catch (error) {
          broadcastError = error;
        }
        equal((broadcastError as FramewireError | undefined)?.code, "FW_CODEC_ERROR", "broadcast with a codec that returns no bytes");
        equal(client.state, "open", "still open");
        await client.close();
      });
    },
  },
  {
    name: "broadcast: a filter that throws stops the broadcast before anyone got the message",
    timeoutMs: 10_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      await withServer(server, async () => {
        const clients = await Promise.all([0, 1, 2].map(() => transport.connect({ host: HOST, port: server.port, codec: "text" })));
        await until(() => server.connectionCount === 3, 5000, "three connections");
        const got: string[] = [];
        for (const c of clients) c.on("message", (m) => got.push(m));
        let seen = 0;
        let thrown: unknown;
        try {
          server.broadcast("news", () => {
            if (++seen === 2) throw new Error("filter bug");
            return true;
          });
        } catch (error) {
          thrown = error;
        }
        equal((thrown as Error | undefined)?.message, "filter bug", "the filter's error reaches the caller");
        await sleep(100);
        deepEqual(got, [], "nobody got the message");
        const serverSide = [...server.connections.values()] as Connection<string>[];
        deepEqual(server.broadcast("all", (c) => c.id === serverSide[0]?.id), { queued: 1, backpressure: 0, dropped: 0, full: 0, tooLarge: 0, closed: 0 }, "a working filter");
        await Promise.all(clients.map((c) => c.close()));
      });
    },
  },
];
