// Node user code (plain JavaScript): echo through the installed package.
const { listen, connect } = await import(process.argv[2]);
const server = await listen({ port: 0, codec: "json" });
server.on("connection", (conn) => conn.on("message", (m) => conn.send({ echo: m })));
const client = await connect({ port: server.port, codec: "json" });
const reply = new Promise((resolve) => client.once("message", resolve));
client.send({ n: 1 });
const got = JSON.stringify(await reply);
await client.close();
await server.close();
if (got !== '{"echo":{"n":1}}') throw new Error(`unexpected reply ${got}`);
if (client.adapter.name !== "node") throw new Error(`expected the node adapter, got ${client.adapter.name}`);
console.log(`${process.argv[2]}: echo ok via ${client.adapter.name}`);
