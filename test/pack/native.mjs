// User code from an installed package: framewire/native with the platform package installed
// beside it (and no toolchain used): the library must be found there and carry real traffic.
const { loadNative, listen, connect, preferNative } = await import("framewire/native");
const { adapter: runtime } = await import("framewire");
const native = await loadNative();
if (!native.available) throw new Error(`native not available: ${native.reason}`);
if (!native.path.includes("node_modules/framewire-native-linux-x64-gnu/lib/")) throw new Error(`loaded from ${native.path}, not the platform package`);
const server = await listen({ port: 0, codec: "json" });
server.on("connection", (conn) => conn.on("message", (m) => conn.send({ echo: m })));
const client = await connect({ port: server.port, codec: "json" });
const reply = new Promise((resolve) => client.once("message", resolve));
client.send({ n: 1 });
const got = JSON.stringify(await reply);
await client.close();
await server.close();
if (got !== '{"echo":{"n":1}}') throw new Error(`unexpected reply ${got}`);
if (client.adapter.name !== "native") throw new Error(`expected the native adapter, got ${client.adapter.name}`);
// The explicit choice a deployment makes: native here, since the library loads.
const chosen = await preferNative(runtime);
if (!chosen.native || chosen.adapter.name !== "native") throw new Error(`preferNative chose ${chosen.adapter.name}: ${chosen.reason}`);
console.log(`framewire/native: echo ok via ${client.adapter.name}, library ${native.path}`);
