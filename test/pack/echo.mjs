// User code from an installed package, on whichever runtime runs it (Bun, Node or Deno):
// a JSON echo through the import specifier given as the first argument.
const runtime = globalThis.Bun ? "bun" : globalThis.Deno ? "deno" : "node";
const specifier = runtime === "deno" ? globalThis.Deno.args[0] : process.argv[2];
const { listen, connect } = await import(specifier);

const server = await listen({ port: 0, codec: "json" });
server.on("connection", (conn) => conn.on("message", (m) => conn.send({ echo: m })));
const client = await connect({ port: server.port, codec: "json" });
const reply = new Promise((resolve) => client.once("message", resolve));
client.send({ n: 1 });
const got = JSON.stringify(await reply);
await client.close();
await server.close();
if (got !== '{"echo":{"n":1}}') throw new Error(`unexpected reply ${got}`);
if (client.adapter.name !== runtime) throw new Error(`expected the ${runtime} adapter, got ${client.adapter.name}`);
console.log(`${specifier}: echo ok via ${client.adapter.name}`);
