/** `framewire/bun`: the core with `listen`/`connect` on Bun's own sockets. */
import { createTransport } from "../../src/index.ts";
import { BunAdapter } from "./adapter.ts";

export * from "../../src/index.ts";
export { BunAdapter } from "./adapter.ts";

export const { listen, connect, adapter } = createTransport(new BunAdapter());
