// The conformance suite on the native adapter under Deno (Deno.dlopen), run by `deno test -A`
// (-A includes --allow-ffi); needs the library built (npm run build:native). Sanitizers on, as for
// the Deno adapter: the native context must be stopped, its pending wait returned, by the end of each test.
import { adapter, connect, listen, type NativeAdapter } from "../../adapters/native/index.ts";
import { scenarios } from "../conformance/scenarios.ts";
import { facilities } from "./facilities.ts";

for (const scenario of scenarios) {
  Deno.test({
    name: `[native/deno] ${scenario.name}`,
    sanitizeOps: true,
    sanitizeResources: true,
    fn: async () => {
      const { cleanup, ...ctx } = facilities(["--adapter=native"]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario exceeded ${scenario.timeoutMs} ms`)), scenario.timeoutMs);
      });
      try {
        await Promise.race([scenario.run({ transport: { adapter, listen, connect }, ...ctx }), timeout]);
      } finally {
        clearTimeout(timer);
        // Stops the native context now (its pending nonblocking wait returns), so the op
        // sanitizer sees nothing of it; the scenario closed its sockets itself.
        await (adapter as NativeAdapter).close();
        await cleanup();
      }
    },
  });
}
