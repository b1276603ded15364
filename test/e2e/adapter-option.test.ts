/** The `adapter` option: one server or client on other sockets than its entry point's. */
import { expect, test } from "bun:test";
import { connect, listen } from "../../adapters/bun/index.ts";
import { NodeAdapter } from "../../adapters/node/adapter.ts";
import { HOST, within } from "./helpers.ts";

test("listen and connect with adapter: node:net sockets under Bun's entry point, traffic both ways", async () => {
  const server = await listen({ host: HOST, port: 0, adapter: new NodeAdapter() });
  try {
    expect(server.adapter.name).toBe("node");
    server.on("connection", (conn) => conn.on("message", (m) => conn.send(Uint8Array.from(m).reverse())));
    const client = await connect({ host: HOST, port: server.port, adapter: new NodeAdapter() });
    expect(client.adapter.name).toBe("node");
    const reply = new Promise<Uint8Array>((resolve) => client.once("message", resolve));
    client.send(Uint8Array.of(1, 2, 3));
    expect([...(await within(reply, 3000, "echo"))]).toEqual([3, 2, 1]);
    await client.close();
  } finally {
    await server.close(200);
  }
});

test("an adapter option that is not an adapter: FW_INVALID_OPTION from listen and connect", async () => {
  for (const bad of [null, 42, "native", { listen() {} }]) {
    // @ts-expect-error -- not a SocketAdapter
    await expect(listen({ host: HOST, port: 0, adapter: bad })).rejects.toMatchObject({ code: "FW_INVALID_OPTION" });
    // @ts-expect-error -- not a SocketAdapter
    await expect(connect({ host: HOST, port: 1, adapter: bad })).rejects.toMatchObject({ code: "FW_INVALID_OPTION" });
  }
});
