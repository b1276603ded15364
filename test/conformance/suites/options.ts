/**
 * Options and the error contract: every option is checked before any I/O, unknown keys included,
 * and the same failure gives the same error class and code on every runtime.
 */
import { ConnectionClosedError, FramewireError, type Transport } from "../../../src/index.ts";
import { deepEqual, describe, equal, HOST, ok, rejectsWith, type Scenario, within } from "../kit.ts";

type Options = Record<string, unknown>;

/** Options `listen` must refuse with FW_INVALID_OPTION (or FW_UNSUPPORTED), before binding. */
const BAD_LISTEN: [string, Options, string][] = [
  ["an unknown codec", { codec: "xml" }, "FW_INVALID_OPTION"],
  ["a negative maxConnections", { maxConnections: -1 }, "FW_INVALID_OPTION"],
  ["a string shutdownTimeoutMs", { shutdownTimeoutMs: "5" }, "FW_INVALID_OPTION"],
  ["raw framing with a 3-byte header", { protocol: "raw", framing: { type: "length-prefixed", headerBytes: 3 } }, "FW_INVALID_OPTION"],
  ["raw framing with an empty delimiter", { protocol: "raw", framing: { type: "delimiter", delimiter: "" } }, "FW_INVALID_OPTION"],
  ["a misspelt framing key", { protocol: "raw", framing: { type: "length-prefixed", headerbytes: 2 } }, "FW_INVALID_OPTION"],
  ["a tag that is not a string", { tags: { zone: 5 } }, "FW_INVALID_OPTION"],
  ["a misspelt option", { maxFramesize: 1024 }, "FW_INVALID_OPTION"],
  ["a tls option with no PEM in it (a path or garbage: never a silent plaintext server)", { tls: { cert: "x", key: "y" } }, "FW_INVALID_OPTION"],
  ["maxFrameSize below the minimum", { maxFrameSize: 63 }, "FW_INVALID_OPTION"],
  ["a port above 65535", { port: 70_000 }, "FW_INVALID_OPTION"],
  ["a host that is not a string", { host: 127 }, "FW_INVALID_OPTION"],
  ["an unknown overflow policy", { overflow: "drop-all" }, "FW_INVALID_OPTION"],
  ["maxInboundMessages 0", { maxInboundMessages: 0 }, "FW_INVALID_OPTION"],
  ["a verifyHandshake that is not a function", { verifyHandshake: true }, "FW_INVALID_OPTION"],
  ["tags bigger than a handshake frame", { tags: { big: "x".repeat(70_000) } }, "FW_INVALID_OPTION"],
  ["a handshake timeout longer than a timer can wait (it would fire at once)", { handshakeTimeoutMs: 3e9 }, "FW_INVALID_OPTION"],
  ["a close timeout longer than a timer can wait", { closeTimeoutMs: 3e9 }, "FW_INVALID_OPTION"],
  ["a shutdown timeout longer than a timer can wait", { shutdownTimeoutMs: 3e9 }, "FW_INVALID_OPTION"],
  ["a heartbeat interval longer than a timer can wait", { heartbeatIntervalMs: 3e9 }, "FW_INVALID_OPTION"],
  ["a keepalive delay past the kernel's limit (32,767 s)", { keepAlive: 2 ** 31 * 1000 }, "FW_INVALID_OPTION"],
  ["heartbeat options in raw mode (no heartbeat there)", { protocol: "raw", heartbeatIntervalMs: 1000 }, "FW_INVALID_OPTION"],
  ["allowHalfOpen in framewire mode (it always closes after the peer's FIN)", { allowHalfOpen: true }, "FW_INVALID_OPTION"],
  ["maxFrameSize with delimiter framing (it has maxLineLength)", { protocol: "raw", framing: { type: "delimiter" }, maxFrameSize: 100 }, "FW_INVALID_OPTION"],
  ["maxFrameSize both at the top and in framing", { protocol: "raw", maxFrameSize: 100, framing: { type: "length-prefixed", maxFrameSize: 200 } }, "FW_INVALID_OPTION"],
  ["a framer object without its methods", { protocol: "raw", framing: { createDecoder: () => ({}) } }, "FW_INVALID_OPTION"],
];

/** Options `connect` must refuse before dialling. */
const BAD_CONNECT: [string, Options, string][] = [
  ["a tls option with no PEM in it (never a silent plaintext connection)", { tls: { ca: "x" } }, "FW_INVALID_OPTION"],
  ["a misspelt option", { maxFramesize: 1024 }, "FW_INVALID_OPTION"],
  ["port 0", { port: 0 }, "FW_INVALID_OPTION"],
  ["a port above 65535", { port: 70_000 }, "FW_INVALID_OPTION"],
  ["an app that is not a string", { app: 2 }, "FW_INVALID_OPTION"],
  ["connectTimeoutMs 0", { connectTimeoutMs: 0 }, "FW_INVALID_OPTION"],
  ["both a path and a port", { path: "/tmp/x.sock" }, "FW_INVALID_OPTION"],
  ["a codec object without decode", { codec: { name: "half", encode: () => new Uint8Array(0) } }, "FW_INVALID_OPTION"],
  ["a connect timeout longer than a timer can wait", { connectTimeoutMs: 3e9 }, "FW_INVALID_OPTION"],
];

async function refused(promise: Promise<unknown>, what: string, code: string): Promise<void> {
  const error = await rejectsWith(within(promise, 5000, what), what);
  ok(error instanceof FramewireError, `${what}: a FramewireError, got ${describe(error)}`);
  equal(error.code, code, `${what}: code (${describe(error)})`);
  const expectedName = code === "FW_INVALID_OPTION" ? "InvalidOptionError" : "UnsupportedError";
  equal(error.name, expectedName, `${what}: class`);
}

/** A port that was free a moment ago. */
async function freePort(transport: Transport): Promise<number> {
  const probe = await transport.listen({ host: HOST, port: 0 });
  const port = probe.port;
  await probe.close();
  return port;
}

export const optionScenarios: Scenario[] = [
  {
    name: "invalid listen options are refused before the port is bound: nothing is left listening",
    timeoutMs: 20_000,
    async run({ transport }) {
      const port = await freePort(transport);
      for (const [what, bad, code] of BAD_LISTEN) {
        await refused(transport.listen({ host: HOST, port, ...bad } as never), `listen with ${what}`, code);
      }
      // Option reads see inherited keys, so they are checked too.
      const inherited = Object.assign(Object.create({ maxFramesize: 100 }) as Record<string, unknown>, { host: HOST, port });
      await refused(transport.listen(inherited as never), "listen with a misspelt option inherited from a prototype", "FW_INVALID_OPTION");
      // Had any of them bound the port, this would fail with FW_SOCKET_ERROR (address in use).
      const server = await transport.listen({ host: HOST, port });
      equal(server.port, port, "the port is still free after every refusal");
      await server.close(200);
    },
  },
  {
    name: "invalid connect options are refused before dialling: the server sees no socket",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0 });
      try {
        for (const [what, bad, code] of BAD_CONNECT) {
          await refused(transport.connect({ host: HOST, port: server.port, ...bad } as never), `connect with ${what}`, code);
        }
        equal(server.stats().accepted, 0, "sockets the server accepted");
      } finally {
        await server.close(200);
      }
    },
  },
  {
    name: "the error contract: the same failure gives the same class and code on every runtime",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await transport.listen({ host: HOST, port: 0, maxFrameSize: 1024 });
      try {
        // The port is taken.
        const taken = await rejectsWith(transport.listen({ host: HOST, port: server.port }), "listen on a port in use");
        deepEqual([taken.name, taken.code, taken instanceof FramewireError], ["SocketError", "FW_SOCKET_ERROR", true], `listen on a port in use (${describe(taken)})`);
        // Nothing listens.
        const refusedPort = await freePort(transport);
        const dial = await rejectsWith(transport.connect({ host: HOST, port: refusedPort }), "connect to a closed port");
        deepEqual([dial.name, dial.code, dial instanceof FramewireError], ["SocketError", "FW_SOCKET_ERROR", true], `connect to a closed port (${describe(dial)})`);

        const client = await transport.connect({ host: HOST, port: server.port, codec: "json" });
        const attempts: [string, () => unknown, string, string][] = [
          ["a message over the server's maxFrameSize", () => client.send("x".repeat(2000)), "FrameTooLargeError", "FW_FRAME_TOO_LARGE"],
          ["a value JSON cannot encode", () => client.send(undefined), "CodecError", "FW_CODEC_ERROR"],
          ["a malformed close code", () => client.close("not a code" as never), "InvalidOptionError", "FW_INVALID_OPTION"],
        ];
        for (const [what, attempt, name, code] of attempts) {
          let thrown: unknown;
          try {
            attempt();
          } catch (error) {
            thrown = error;
          }
          ok(thrown instanceof FramewireError, `${what}: throws a FramewireError (got ${describe(thrown)})`);
          deepEqual([(thrown as Error).name, (thrown as FramewireError).code], [name, code], `${what}: class and code`);
        }
        let misspelt: unknown;
        try {
          client.messages({ keepopen: true } as never);
        } catch (error) {
          misspelt = error;
        }
        equal((misspelt as FramewireError | undefined)?.code, "FW_INVALID_OPTION", `messages({ keepopen }) (${describe(misspelt)})`);
        let badGrace: unknown;
        try {
          void server.close("soon" as never);
        } catch (error) {
          badGrace = error;
        }
        equal((badGrace as FramewireError | undefined)?.code, "FW_INVALID_OPTION", `server.close("soon") (${describe(badGrace)})`);
        equal(client.state, "open", "none of those closed the connection");
        await client.close();
        const drained = await rejectsWith(client.drained(), "drained() after close");
        ok(drained instanceof ConnectionClosedError, `drained() after close rejects with ConnectionClosedError (${describe(drained)})`);
      } finally {
        await server.close(200);
      }
    },
  },
];
