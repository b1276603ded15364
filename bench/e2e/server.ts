/** Server process of one e2e run on Bun: `bun bench/e2e/server.ts '<json RunConfig>'` (spawned by run.ts). */
import * as entry from "../../adapters/bun/index.ts";
import { emit, hardTimeout, parseConfig } from "./common.ts";
import { fwServer, useTransport } from "./fw.ts";
import { rawServer } from "./raw.ts";

const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, "server");
useTransport(entry);
try {
  await (cfg.impl === "raw" ? rawServer(cfg) : fwServer(cfg));
} catch (error) {
  emit("error", { role: "server", message: String(error) });
  process.exit(2);
}
