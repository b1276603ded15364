/**
 * Failing application code (throws and async rejections in listeners and `verifyHandshake`) and
 * tiny frame limits, against a server in a child process: each failure closes only its own
 * connection, with a code and a generic reason, and the process lives on.
 */
import type { CloseInfo, HandshakeRejectedError } from "../../../src/index.ts";
import {
  decoder,
  deepEqual,
  equal,
  helloWith,
  HOST,
  jsonFields,
  noSecret,
  ok,
  RawPeer,
  rejectsWith,
  type Scenario,
  startChildServer,
  typed,
  until,
  within,
} from "../kit.ts";

/** What the fixture's failing handlers throw; no byte of it may reach a peer. */
const SECRET = "db password=hunter2 at /srv/secret";

export const handlerScenarios: Scenario[] = [
  {
    name: "failing handlers (throws, async rejections, verifyHandshake) close only their connection; the server process survives and tells peers no error text",
    timeoutMs: 40_000,
    async run(ctx) {
      const { transport } = ctx;
      const server = await startChildServer(ctx);
      try {
        const port = server.port;
        const good = await transport.connect({ host: HOST, port, codec: "text" });
        const echo = async (after: string): Promise<void> => {
          const reply = new Promise<string>((resolve) => good.once("message", resolve));
          good.send(`still here after ${after}`);
          equal(await within(reply, 5000, `echo after ${after}`), `echo:still here after ${after}`, `the bystander's echo after ${after}`);
        };

        // verifyHandshake that rejects, throws, or answers a malformed code: FW_HANDLER_ERROR, no text.
        for (const fail of ["verify-reject", "verify-throw", "verify-badcode"]) {
          const error = (await rejectsWith(transport.connect({ host: HOST, port, codec: "text", tags: { fail } }), fail)) as HandshakeRejectedError;
          equal(error.name, "HandshakeRejectedError", `${fail}: error class`);
          equal(error.reasonCode, "FW_HANDLER_ERROR", `${fail}: reasonCode`);
          equal(error.reason, "verifyHandshake failed", `${fail}: reason`);
          noSecret(error.message, SECRET, `${fail}: the client's error`);
          await echo(fail);
        }
        const refused = (await rejectsWith(transport.connect({ host: HOST, port, codec: "text", tags: { fail: "verify-code" } }), "verify-code")) as HandshakeRejectedError;
        deepEqual([refused.reasonCode, refused.reason], ["BAD_TOKEN", "unknown token"], "a deliberate rejection keeps its code and reason");

        // An async `connection` listener that rejects closes that connection after the handshake.
        const doomed = await transport.connect({ host: HOST, port, codec: "text", tags: { fail: "connection-reject" } });
        const doomedInfo = await within(doomed.closed(), 5000, "connection-reject: closed by the server");
        deepEqual([doomedInfo.code, doomedInfo.remote, doomedInfo.reason], ["FW_HANDLER_ERROR", true, "connection listener failed"], "connection-reject: close info");
        equal(doomedInfo.error?.name, "PeerError", "connection-reject: the error is the peer's");
        await echo("connection-reject");

        // An async `message` listener that rejects, one that throws, one that throws a 20 KB message.
        for (const message of ["reject", "throw", "long-error", "throw-odd", "reject-odd"]) {
          const victim = await transport.connect({ host: HOST, port, codec: "text" });
          victim.send(message);
          const info: CloseInfo = await within(victim.closed(), 5000, `${message}: closed by the server`);
          deepEqual([info.code, info.remote, info.reason], ["FW_HANDLER_ERROR", true, "message listener failed"], `${message}: close info`);
          await echo(message);
        }

        // The bytes on the wire, seen by a raw peer: GOAWAY with the code and no error text.
        const peer = await RawPeer.connect(transport, port);
        peer.write(helloWith("{}"));
        peer.write(typed(0x00, [...new TextEncoder().encode("reject")]));
        await until(() => peer.frames().some((f) => f[0] === 0x07), 5000, "GOAWAY after the rejecting listener");
        const goaway = jsonFields(peer.frames().find((f) => f[0] === 0x07) as Uint8Array);
        deepEqual(goaway.fields, { code: "FW_HANDLER_ERROR", reason: "message listener failed" }, "GOAWAY fields");
        noSecret(decoder.decode(peer.bytes()), SECRET, "the raw peer's bytes");
        await peer.client.close();

        await echo("the end");
        await good.close();
        const { code, stats, stderr } = await server.stop();
        equal(code, 0, `the server process exit code (stderr: ${stderr.slice(0, 1000)})`);
        ok(stats !== undefined, "the server printed its stats before exiting");
        // 3 failed verdicts (detail kept locally), 1 connection listener, 5 message listeners, 1 raw peer.
        equal(stats?.handlerErrors, 10, "HandlerErrors the server saw locally (reject and error events)");
      } finally {
        server.process.kill();
      }
    },
  },
  {
    name: "maxFrameSize 64 works end to end; a HELLO announcing less is refused; broadcast counts peers it cannot reach instead of throwing",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      const server = await startChildServer(ctx, { maxFrameSize: 64 });
      try {
        const port = server.port;
        // Both sides at the minimum: the handshake frames are not held to it.
        const small = await transport.connect({ host: HOST, port, codec: "text", maxFrameSize: 64 });
        const reply = new Promise<string>((resolve) => small.once("message", resolve));
        small.send("x".repeat(59));
        equal(await within(reply, 5000, "echo at the limit"), `echo:${"x".repeat(59)}`, "a 64-byte echo");
        let tooLarge: (Error & { code?: string }) | undefined;
        try {
          small.send("x".repeat(65));
        } catch (error) {
          tooLarge = error as Error & { code?: string };
        }
        deepEqual([tooLarge?.name, tooLarge?.code], ["FrameTooLargeError", "FW_FRAME_TOO_LARGE"], "sending past the server's limit throws");
        equal(small.state, "open", "and the connection stays open");

        // A HELLO announcing a limit below 64 is refused with a code.
        for (const limit of [0, 63]) {
          const peer = await RawPeer.connect(transport, port);
          peer.write(helloWith(`{"maxFrameSize":${limit}}`));
          await until(() => peer.frames().length > 0, 5000, `an answer to maxFrameSize ${limit}`);
          const answer = jsonFields(peer.frames()[0] as Uint8Array);
          deepEqual([answer.type, answer.fields.code], [0x03, "FW_PROTOCOL_ERROR"], `REJECT for maxFrameSize ${limit}`);
          await peer.client.close();
        }

        // broadcast of 100 bytes: the 64-byte peers are counted, the others served, the server lives.
        const tiny = await RawPeer.connect(transport, port);
        tiny.write(helloWith('{"maxFrameSize":64}'));
        await until(() => tiny.frames().length > 0, 5000, "WELCOME for the 64-byte raw peer");
        const big = await transport.connect({ host: HOST, port, codec: "text" });
        const got: string[] = [];
        big.on("message", (m) => got.push(m));
        big.send("broadcast:100");
        await until(() => got.some((m) => m.startsWith("result:")), 5000, "the broadcast result");
        const result = JSON.parse((got.find((m) => m.startsWith("result:")) as string).slice(7)) as Record<string, number>;
        deepEqual([result.queued, result.tooLarge], [1, 2], `broadcast result ${JSON.stringify(result)}`);
        ok(got.includes("x".repeat(100)), "the peer that can take it got the broadcast");
        equal(small.state, "open", "the 64-byte client is still open");
        await Promise.all([small.close(), big.close(), tiny.client.close()]);
        const { code, stderr } = await server.stop();
        equal(code, 0, `the server process exit code (stderr: ${stderr.slice(0, 1000)})`);
      } finally {
        server.process.kill();
      }
    },
  },
  {
    name: "async listeners that reject on a client close it with FW_HANDLER_ERROR; nothing is left unhandled",
    timeoutMs: 15_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, codec: "text" });
      try {
        const peerCloses: CloseInfo[] = [];
        server.on("connection", (conn) => {
          conn.on("close", (info) => peerCloses.push(info));
          conn.send("hello");
        });
        for (const listeners of [1, 2]) {
          const client = await transport.connect({ host: HOST, port: server.port, codec: "text" });
          const errors: string[] = [];
          client.on("error", (e) => errors.push(`${e.name} ${e.code}`));
          // One listener takes the hot path, two the general one; both must see the rejection.
          for (let i = 0; i < listeners; i++) {
            client.on("message", async () => {
              await Promise.resolve();
              throw new Error("client-side failure");
            });
          }
          const info = await within(client.closed(), 5000, `${listeners} listener(s): closed`);
          deepEqual([info.code, info.remote], ["FW_HANDLER_ERROR", false], `${listeners} listener(s): close info`);
          deepEqual(errors, ["HandlerError FW_HANDLER_ERROR"], `${listeners} listener(s): one error event`);
          equal(((info.error as Error).cause as Error).message, "client-side failure", "the cause is kept locally");
        }
        await until(() => peerCloses.length === 2, 5000, "the server saw both closes");
        deepEqual(peerCloses.map((i) => [i.code, i.reason]), [["FW_HANDLER_ERROR", "message listener failed"], ["FW_HANDLER_ERROR", "message listener failed"]], "what the server was told");
      } finally {
        await server.close(500);
      }
    },
  },
];
