// The conformance suite on Deno.listen/Deno.connect, run by `deno test` with its op and resource
// sanitizers on: a scenario that leaves a socket, timer or pending op behind fails.
import { adapter, connect, listen } from "../../adapters/deno/index.ts";
import { scenarios } from "../conformance/scenarios.ts";
import { facilities } from "./facilities.ts";

for (const scenario of scenarios) {
  Deno.test({
    name: `[deno] ${scenario.name}`,
    sanitizeOps: true,
    sanitizeResources: true,
    fn: async () => {
      const { cleanup, ...ctx } = facilities();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario exceeded ${scenario.timeoutMs} ms`)), scenario.timeoutMs);
      });
      try {
        await Promise.race([scenario.run({ transport: { adapter, listen, connect }, ...ctx }), timeout]);
      } finally {
        clearTimeout(timer);
        await cleanup();
      }
    },
  });
}
