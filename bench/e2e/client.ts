/** Client process of one e2e run: `bun bench/e2e/client.ts '<json RunConfig>'` (spawned by run.ts). */
import { emit, hardTimeout, parseConfig } from "./common.ts";
import { fwClient } from "./fw.ts";
import { rawClient } from "./raw.ts";

const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, "client");
try {
  await (cfg.impl === "raw" ? rawClient(cfg) : fwClient(cfg));
} catch (error) {
  emit("error", { role: "client", message: String(error) });
  process.exit(2);
}
