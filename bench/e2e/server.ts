/** Server process of one e2e run on Bun: `bun bench/e2e/server.ts '<json RunConfig>'` (spawned by run.ts). */
import * as entry from "../../adapters/bun/index.ts";
import { failAndExit, familyOf, hardTimeout, parseConfig } from "./common.ts";
import { fwServer, useTransport } from "./fw.ts";
import { rawServer } from "./raw.ts";
import { zmqServer } from "./zmq.ts";

const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, "server");
// fwnative: the same public API from framewire/native.
useTransport(cfg.impl === "fwnative" ? await import("../../adapters/native/index.ts") : entry);
try {
  await { raw: rawServer, fw: fwServer, zmq: zmqServer }[familyOf(cfg.impl)](cfg);
} catch (error) {
  failAndExit("server", error);
}
