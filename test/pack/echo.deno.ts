// Deno user code: echo through the installed package via an npm: specifier (Deno.args[0]).
const { listen, connect } = await import(Deno.args[0]);
const server = await listen({ port: 0, codec: "json" });
type Conn = { on(event: "message", fn: (m: unknown) => void): void; send(m: unknown): string };
server.on("connection", (conn: Conn) => conn.on("message", (m) => conn.send({ echo: m })));
const client = await connect({ port: server.port, codec: "json" });
const reply = new Promise((resolve) => client.once("message", resolve));
client.send({ n: 1 });
const got = JSON.stringify(await reply);
await client.close();
await server.close();
if (got !== '{"echo":{"n":1}}') throw new Error(`unexpected reply ${got}`);
if (client.adapter.name !== "deno") throw new Error(`expected the deno adapter, got ${client.adapter.name}`);
console.log(`${Deno.args[0]}: echo ok via ${client.adapter.name}`);
