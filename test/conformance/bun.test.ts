/** The conformance suite on Bun's own sockets, run by `bun test`. */
import { test } from "bun:test";
import { adapter, connect, listen } from "../../adapters/bun/index.ts";
import { scenarios } from "./scenarios.ts";

for (const scenario of scenarios) {
  test(`[bun] ${scenario.name}`, () => scenario.run({ transport: { adapter, listen, connect } }), scenario.timeoutMs);
}
