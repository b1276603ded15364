// The conformance suite on node:net, run by Node's own test runner against the built output.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { adapter, connect, listen } from "../../dist/adapters/node/index.js";
import { scenarios } from "../../dist/test/conformance/scenarios.js";

const NEVER_ACCEPTS = fileURLToPath(new URL("../fixtures/never_accepts.py", import.meta.url));

// Handles a test may see: sockets, servers, timers. Counted to prove nothing leaks.
const openHandles = () => process.getActiveResourcesInfo().filter((kind) => kind !== "TTYWrap" && kind !== "PipeWrap").length;

/** Resolves with the port `child` prints on its first stdout line; rejects if it exits first or takes over 5 s. */
function portFrom(child) {
  return new Promise((resolve, reject) => {
    let text = "";
    const done = (error, port) => {
      clearTimeout(timer);
      child.stdout.removeListener("data", onData);
      child.removeListener("exit", onExit);
      child.removeListener("error", onError);
      child.stdout.destroy(); // nothing more to read
      if (error) reject(error);
      else resolve(port);
    };
    const onData = (chunk) => {
      text += chunk;
      const newline = text.indexOf("\n");
      if (newline < 0) return;
      const port = Number(text.slice(0, newline).trim());
      if (Number.isInteger(port) && port > 0 && port < 65536) done(undefined, port);
      else done(new Error(`never_accepts.py printed ${JSON.stringify(text.slice(0, newline))}, not a port`));
    };
    const onExit = (code, signal) => done(new Error(`never_accepts.py exited (${code ?? signal}) before printing its port`));
    const onError = (error) => done(new Error(`cannot run python3 ${NEVER_ACCEPTS}: ${error.message}`));
    const timer = setTimeout(() => done(new Error("never_accepts.py printed no port within 5 s")), 5_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/** The runner facilities of one scenario run, and the cleanup that follows it. */
function facilities() {
  let dir;
  let serial = 0;
  const children = [];
  const stop = (child) => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  return {
    tempPath(name) {
      dir ??= mkdtempSync(join(tmpdir(), "framewire-conformance-"));
      return join(dir, `${++serial}-${name}`);
    },
    async neverAcceptingPort() {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = spawn("python3", [NEVER_ACCEPTS, "30"], { stdio: ["ignore", "pipe", "inherit"] });
      const exited = new Promise((resolve) => {
        child.once("exit", resolve);
        child.once("error", resolve);
      });
      children.push({ child, exited });
      const port = await portFrom(child);
      return { port, close: () => stop(child) };
    },
    async cleanup() {
      for (const { child, exited } of children) {
        stop(child);
        await exited;
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

for (const scenario of scenarios) {
  test(`[node] ${scenario.name}`, { timeout: scenario.timeoutMs }, async () => {
    const { tempPath, neverAcceptingPort, cleanup } = facilities();
    try {
      await scenario.run({ transport: { adapter, listen, connect }, openHandles, tempPath, neverAcceptingPort });
    } finally {
      await cleanup();
    }
  });
}
