/**
 * The TLS impls' PKI (rawtls, fwtls), generated once per driver run with the test suite's own
 * generator, `python3 test/fixtures/tls_material.py <dir>` (openssl, EC P-256: milliseconds), into a
 * temporary directory that is removed again: nothing secret is committed or left behind. The PEMs
 * reach the processes inside their RunConfig.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TlsMaterial } from "./common.ts";

export function generateTlsMaterial(root: string): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), "framewire-bench-tls-"));
  try {
    const out = execFileSync("python3", [join(root, "test/fixtures/tls_material.py"), dir], { encoding: "utf8", timeout: 30_000 });
    const pem = JSON.parse(out.trim().split("\n").pop() ?? "") as Record<string, unknown>;
    const { ca, server_cert: cert, server_key: key } = pem;
    if (typeof ca !== "string" || typeof cert !== "string" || typeof key !== "string") throw new Error("tls_material.py printed no ca / server_cert / server_key");
    return { ca, cert, key };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
