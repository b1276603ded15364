/** Server process of one e2e run: `bun bench/e2e/server.ts '<json RunConfig>'` (spawned by run.ts). */
import { emit, hardTimeout, parseConfig } from "./common.ts";
import { fwServer } from "./fw.ts";
import { rawServer } from "./raw.ts";

const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, "server");
try {
  await (cfg.impl === "raw" ? rawServer(cfg) : fwServer(cfg));
} catch (error) {
  emit("error", { role: "server", message: String(error) });
  process.exit(2);
}
