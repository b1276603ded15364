/** `framewire/node`: the core with `listen`/`connect` on Node's `node:net` sockets. */
import { createTransport } from "../../src/index.ts";
import { NodeAdapter } from "./adapter.ts";

export * from "../../src/index.ts";
export { NodeAdapter } from "./adapter.ts";

export const { listen, connect, adapter } = createTransport(new NodeAdapter());
