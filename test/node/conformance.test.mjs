// The conformance suite on node:net, run by Node's own test runner against the built output.
import { test } from "node:test";
import { adapter, connect, listen } from "../../dist/adapters/node/index.js";
import { scenarios } from "../../dist/test/conformance/scenarios.js";
import { facilities, openHandles } from "./facilities.mjs";

for (const scenario of scenarios) {
  test(`[node] ${scenario.name}`, { timeout: scenario.timeoutMs }, async () => {
    const { cleanup, ...ctx } = facilities();
    try {
      await scenario.run({ transport: { adapter, listen, connect }, openHandles, ...ctx });
    } finally {
      await cleanup();
    }
  });
}
