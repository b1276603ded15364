/**
 * `framewire`: the core with `listen`/`connect` on the sockets of the runtime it runs in —
 * Bun's own sockets under Bun, `Deno.listen`/`Deno.connect` under Deno, `node:net` under Node.
 * `transport.adapter.name` (and `server.adapter.name`, `client.adapter.name`) says which.
 * Import `framewire/bun`, `framewire/node` or `framewire/deno` to choose explicitly.
 */
import type { SocketAdapter } from "../src/adapter.ts";
import { createTransport } from "../src/index.ts";
import { BunAdapter } from "./bun/adapter.ts";
import { DenoAdapter } from "./deno/adapter.ts";
import { NodeAdapter } from "./node/adapter.ts";

export * from "../src/index.ts";
export { BunAdapter } from "./bun/adapter.ts";
export { DenoAdapter } from "./deno/adapter.ts";
export { NodeAdapter } from "./node/adapter.ts";

/** The adapter for the running runtime. */
export function runtimeAdapter(): SocketAdapter {
  const global = globalThis as { Bun?: unknown; Deno?: unknown };
  if (global.Bun !== undefined) return new BunAdapter();
  if (global.Deno !== undefined) return new DenoAdapter();
  return new NodeAdapter();
}

export const { listen, connect, adapter } = createTransport(runtimeAdapter());
