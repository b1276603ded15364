/** The conformance suite on Bun's own sockets, run by `bun test`. */
import { test } from "bun:test";
import { adapter, connect, listen } from "../../adapters/bun/index.ts";
import { facilities } from "./bun-facilities.ts";
import { scenarios } from "./scenarios.ts";

for (const scenario of scenarios) {
  test(
    `[bun] ${scenario.name}`,
    async () => {
      const { cleanup, ...ctx } = facilities();
      try {
        await scenario.run({ transport: { adapter, listen, connect }, ...ctx });
      } finally {
        await cleanup();
      }
    },
    scenario.timeoutMs,
  );
}
