// The conformance suite on the native adapter under Node (koffi), against the built output;
// needs the library built (npm run build:native).
import { test } from "node:test";
import { adapter, connect, listen } from "../../dist/adapters/native/index.js";
import { scenarios } from "../../dist/test/conformance/scenarios.js";
import { facilities, openHandles } from "./facilities.mjs";

for (const scenario of scenarios) {
  test(`[native/node] ${scenario.name}`, { timeout: scenario.timeoutMs }, async () => {
    const { cleanup, ...ctx } = facilities(["--adapter=native"]);
    try {
      await scenario.run({ transport: { adapter, listen, connect }, openHandles, ...ctx });
    } finally {
      await cleanup();
    }
  });
}
