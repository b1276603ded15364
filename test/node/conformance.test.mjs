// The conformance suite on node:net, run by Node's own test runner against the built output.
import { test } from "node:test";
import { adapter, connect, listen } from "../../dist/adapters/node/index.js";
import { scenarios } from "../../dist/test/conformance/scenarios.js";

// Handles a test may see: sockets, servers, timers. Counted to prove nothing leaks.
const openHandles = () => process.getActiveResourcesInfo().filter((kind) => kind !== "TTYWrap" && kind !== "PipeWrap").length;

for (const scenario of scenarios) {
  test(`[node] ${scenario.name}`, { timeout: scenario.timeoutMs }, () =>
    scenario.run({ transport: { adapter, listen, connect }, openHandles }),
  );
}
