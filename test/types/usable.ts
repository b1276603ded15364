/**
 * Compile-time fixtures: the public types must work the way users write code — options held in
 * variables, codecs chosen at run time, generic wrappers, typed codes. `tsc -p test/types`
 * compiles this file; a line marked `@ts-expect-error` must NOT compile (tsc fails if it does).
 */
import {
  type Client,
  type ClientOptions,
  type CloseInfo,
  type CodecName,
  connect,
  ErrorCode,
  type FramewireError,
  jsonCodec,
  listen,
  type Reason,
  type Server,
  type ServerOptions,
} from "../../adapters/auto.ts";

type Msg = { kind: "ping"; at: number } | { kind: "pong"; at: number };

export async function optionsInVariables(port: number): Promise<void> {
  // An options object typed with the exported type, then passed on.
  const clientOptions: ClientOptions<Msg> = { host: "127.0.0.1", port, codec: "json" };
  const client: Client<Msg> = await connect(clientOptions);
  client.send({ kind: "ping", at: 1 });
  // @ts-expect-error — not a Msg
  client.send({ kind: "other" });

  const serverOptions: ServerOptions<Msg> = { port: 0, codec: "cbor", maxFrameSize: 4096 };
  const server: Server<Msg> = await listen(serverOptions);
  server.on("connection", (conn) => conn.on("message", (m: Msg) => conn.send(m)));

  // A codec name from a CodecName variable: the type is the caller's to name.
  const name: CodecName = Math.random() > 2 ? "json" : "cbor";
  const byName = await connect<Msg>({ port, codec: name });
  byName.send({ kind: "pong", at: 2 });

  // Literal codecs still pick the message type by themselves.
  const bytes = await connect({ port });
  bytes.send(new Uint8Array(1));
  // @ts-expect-error — a buffer client sends bytes
  bytes.send("text");
  const text = await connect({ port, codec: "text" });
  text.send("hello");
  const limited = await connect({ port, codec: jsonCodec<Msg>({ maxDepth: 8 }) });
  limited.send({ kind: "ping", at: 3 });
}

/** A generic wrapper around connect. */
export async function connectWithDefaults<T>(options: ClientOptions<T>): Promise<Client<T>> {
  return connect({ connectTimeoutMs: 2000, ...options });
}

export async function listeners(client: Client<Msg>): Promise<void> {
  // Async listeners are fine: a rejection closes the connection with FW_HANDLER_ERROR.
  client.on("message", async (m) => {
    await Promise.resolve(m);
  });
  client.on("goaway", (reason: Reason) => void reason.code);
  client.on("close", (info: CloseInfo) => {
    switch (info.code) {
      case "FW_NORMAL":
      case ErrorCode.HEARTBEAT_TIMEOUT:
      case "BAD_TOKEN": // an application's own code
        break;
    }
    // @ts-expect-error — a typo in a framewire code does not compile
    if (info.code === "FW_NORAML") return;
  });
  client.on("error", (error: FramewireError) => {
    if (error.code === "FW_QUEUE_FULL") return;
    // @ts-expect-error — error codes are framewire's own union
    if (error.code === "FW_QUEUE_FUL") return;
  });
  await client.close("APP_DONE", "bye");
  // @ts-expect-error — a typo in a framewire close code does not compile
  await client.close("FW_NORAML");
  // @ts-expect-error — unknown options do not compile
  await connect({ port: 1, maxFramesize: 1 });
}

export async function iteration(client: Client<Msg>): Promise<void> {
  for await (const m of client) if (m.kind === "ping") break;
  for await (const m of client.messages({ keepOpen: true })) void m.at;
}
