/** Client process of one e2e run on Bun: `bun bench/e2e/client.ts '<json RunConfig>'` (spawned by run.ts). */
import * as entry from "../../adapters/bun/index.ts";
import { failAndExit, familyOf, hardTimeout, parseConfig } from "./common.ts";
import { fwClient, useTransport } from "./fw.ts";
import { rawClient } from "./raw.ts";
import { zmqClient } from "./zmq.ts";

const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, "client");
// fwnative: the same public API from framewire/native.
useTransport(cfg.impl === "fwnative" ? await import("../../adapters/native/index.ts") : entry);
try {
  await { raw: rawClient, fw: fwClient, zmq: zmqClient }[familyOf(cfg.impl)](cfg);
} catch (error) {
  failAndExit("client", error);
}
