/** The conformance suite on the native adapter under Bun (bun:ffi), run by `bun test`; needs the library built (npm run build:native). */
import { test } from "bun:test";
import { adapter, connect, listen } from "../../adapters/native/index.ts";
import { facilities } from "./bun-facilities.ts";
import { scenarios } from "./scenarios.ts";

for (const scenario of scenarios) {
  test(
    `[native/bun] ${scenario.name}`,
    async () => {
      const { cleanup, ...ctx } = facilities(["--adapter=native"]);
      try {
        await scenario.run({ transport: { adapter, listen, connect }, ...ctx });
      } finally {
        await cleanup();
      }
    },
    scenario.timeoutMs,
  );
}
