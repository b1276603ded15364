/**
 * Process entry of one e2e run on Node: `node bench/e2e/.build/node.mjs server|client '<json RunConfig>'`.
 * run.ts bundles this file (and common/parser/raw-node/fw) with `Bun.build({ target: "node" })`
 * into bench/e2e/.build/node.mjs; framewire itself is NOT bundled: it is imported at run time from
 * the package's Node output, dist/adapters/node/index.js (run `npm run build` first).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { failAndExit, familyOf, hardTimeout, parseConfig } from "./common.ts";
import { fwClient, fwServer, type Transport, useTransport } from "./fw.ts";
import { rawNodeClient, rawNodeServer } from "./raw-node.ts";
import { zmqClient, zmqServer } from "./zmq.ts";

const role = process.argv[2] === "server" ? "server" : "client";
const cfg = parseConfig();
hardTimeout(cfg.hardTimeoutMs, role);
try {
  if (familyOf(cfg.impl) === "fw") {
    // A computed specifier, so the bundler leaves the import alone and Node loads dist/ itself.
    const entry = resolve(process.cwd(), cfg.impl === "fwnative" ? "dist/adapters/native/index.js" : "dist/adapters/node/index.js");
    useTransport((await import(pathToFileURL(entry).href)) as Transport);
  }
  const run =
    role === "server" ? { raw: rawNodeServer, fw: fwServer, zmq: zmqServer } : { raw: rawNodeClient, fw: fwClient, zmq: zmqClient };
  await run[familyOf(cfg.impl)](cfg);
} catch (error) {
  failAndExit(role, error);
}
