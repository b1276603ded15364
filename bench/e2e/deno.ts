/**
 * Process entry of one e2e run on Deno: `deno run -A bench/e2e/deno.ts server|client '<json RunConfig>'`
 * (spawned by run.ts). framewire comes from its Deno entry, adapters/deno/index.ts.
 */
import * as entry from "../../adapters/deno/index.ts";
import { emit, hardTimeout, parseConfig } from "./common.ts";
import { fwClient, fwServer, useTransport } from "./fw.ts";
import { rawDenoClient, rawDenoServer } from "./raw-deno.ts";

const role = process.argv[2] === "server" ? "server" : "client";
const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, role);
useTransport(entry);
try {
  if (role === "server") await (cfg.impl === "raw" ? rawDenoServer(cfg) : fwServer(cfg));
  else await (cfg.impl === "raw" ? rawDenoClient(cfg) : fwClient(cfg));
} catch (error) {
  emit("error", { role, message: String(error) });
  process.exit(2);
}
