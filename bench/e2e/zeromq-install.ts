/**
 * ZeroMQ.js is an optional peer of the benchmark, kept out of the root package: its own
 * bench/zeromq/package.json + package-lock.json, installed with `npm ci` the first time the zmq
 * implementation is requested (bench/zeromq/node_modules is git-ignored).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";

declare const Bun: { spawnSync(cmd: string[], options: { stdout: "inherit"; stderr: "inherit" }): { exitCode: number } };

/** Installs bench/zeromq if needed; true when zeromq can be loaded from there. */
export function ensureZeromq(root: string): boolean {
  const dir = join(root, "bench/zeromq");
  if (existsSync(join(dir, "node_modules/zeromq/package.json"))) return true;
  console.error("zmq: installing zeromq into bench/zeromq (npm ci --prefix bench/zeromq)");
  const r = Bun.spawnSync(["npm", "ci", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error"], { stdout: "inherit", stderr: "inherit" });
  return r.exitCode === 0 && existsSync(join(dir, "node_modules/zeromq/package.json"));
}
