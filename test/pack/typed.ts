// A Node user's TypeScript: must type-check with only @types/node (no bun-types, no Deno lib).
import { connect, type Client, type FramewireError, listen, type Server, type SendStatus } from "framewire/node";

type Msg = { kind: "ping"; at: number } | { kind: "pong"; at: number };

export async function roundTrip(): Promise<number> {
  const server: Server<Msg> = await listen<Msg>({ port: 0, codec: "json" });
  server.on("connection", (conn) => conn.on("message", (m) => conn.send({ kind: "pong", at: m.at })));
  server.on("error", (error: FramewireError) => console.error(error.code));
  const client: Client<Msg> = await connect<Msg>({ port: server.port, codec: "json" });
  const status: SendStatus = client.send({ kind: "ping", at: Date.now() });
  const text = await connect({ port: server.port, codec: "text" });
  const s: string extends Parameters<typeof text.send>[0] ? true : false = true;
  void s;
  // @ts-expect-error a Client<Msg> does not take strings
  client.send("nope");
  await Promise.all([client.close(), text.close()]);
  await server.close();
  return status === "closed" ? 0 : 1;
}
