/**
 * Process entry of one e2e run on Deno: `deno run -A bench/e2e/deno.ts server|client '<json RunConfig>'`
 * (spawned by run.ts). framewire comes from its Deno entry, adapters/deno/index.ts.
 */
import * as entry from "../../adapters/deno/index.ts";
import { failAndExit, familyOf, hardTimeout, parseConfig } from "./common.ts";
import { fwClient, fwServer, useTransport } from "./fw.ts";
import { rawDenoClient, rawDenoServer } from "./raw-deno.ts";
import { zmqClient, zmqServer } from "./zmq.ts";

const role = process.argv[2] === "server" ? "server" : "client";
const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, role);
// fwnative: the same public API from framewire/native.
useTransport(cfg.impl === "fwnative" ? await import("../../adapters/native/index.ts") : entry);
try {
  const run =
    role === "server" ? { raw: rawDenoServer, fw: fwServer, zmq: zmqServer } : { raw: rawDenoClient, fw: fwClient, zmq: zmqClient };
  await run[familyOf(cfg.impl)](cfg);
} catch (error) {
  failAndExit(role, error);
}
