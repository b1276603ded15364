/** `framewire/deno`: the core with `listen`/`connect` on Deno's own sockets. */
import { createTransport } from "../../src/index.ts";
import { DenoAdapter } from "./adapter.ts";

export * from "../../src/index.ts";
export { DenoAdapter } from "./adapter.ts";

export const { listen, connect, adapter } = createTransport(new DenoAdapter());
