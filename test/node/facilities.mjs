// The conformance runner facilities on Node, shared by the runner on node:net
// (conformance.test.mjs) and the one on the native adapter (native-conformance.test.mjs).
// `runtimeArgs` are appended to every runtime fixture's arguments: `--adapter=native` makes the
// fixtures use the native transport.
import { spawn as spawnProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

const FIXTURES = fileURLToPath(new URL("../../dist/test/conformance/fixtures/", import.meta.url));
const PYTHON_FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

// A gc() for externalMemory, without needing --expose-gc on the command line.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");

// Handles a test may see: sockets, servers, timers. Counted to prove nothing leaks.
export const openHandles = () => process.getActiveResourcesInfo().filter((kind) => kind !== "TTYWrap" && kind !== "PipeWrap").length;

/** Line-by-line reading of a child's stdout for `readLine`. */
function lineReader(stream) {
  let text = "";
  let ended = false;
  let wake = () => {};
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    text += chunk;
    wake();
  });
  stream.on("end", () => {
    ended = true;
    wake();
  });
  return async (timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = text.indexOf("\n");
      if (newline >= 0) {
        const line = text.slice(0, newline);
        text = text.slice(newline + 1);
        return line;
      }
      if (ended) throw new Error(`child's stdout ended (partial line ${JSON.stringify(text)})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the child within ${timeoutMs} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  };
}

/** The runner facilities of one scenario run, and the cleanup that follows it. */
export function facilities(runtimeArgs = []) {
  let dir;
  let serial = 0;
  const children = [];
  const running = (child) => child.exitCode === null && child.signalCode === null;
  const spawn = async (kind, script, args) => {
    const child =
      kind === "runtime"
        ? spawnProcess(process.execPath, [join(FIXTURES, `${script}.js`), ...args, ...runtimeArgs], { stdio: ["pipe", "pipe", "pipe"] })
        : spawnProcess("python3", [join(PYTHON_FIXTURES, `${script}.py`), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const exited = new Promise((resolve) => {
      child.once("exit", (code) => resolve(code ?? 1));
      child.once("error", () => resolve(1));
    });
    children.push({ child, exited });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.stdin.on("error", () => {}); // the child may exit before reading its input
    return {
      readLine: lineReader(child.stdout),
      endInput: () => child.stdin.end(),
      exited,
      stderr: () => stderr,
      kill: () => {
        if (running(child)) child.kill();
      },
    };
  };
  return {
    tempPath(name) {
      dir ??= mkdtempSync(join(tmpdir(), "framewire-conformance-"));
      return join(dir, `${++serial}-${name}`);
    },
    async neverAcceptingPort() {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = await spawn("python", "never_accepts", ["30"]);
      const port = Number((await child.readLine(5_000)).trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("never_accepts.py printed no port");
      return { port, close: () => child.kill() };
    },
    spawn,
    async externalMemory() {
      gc();
      return process.memoryUsage().arrayBuffers;
    },
    watchUnhandled() {
      const seen = [];
      const record = (reason) => void seen.push(reason);
      process.on("unhandledRejection", record);
      process.on("uncaughtException", record);
      return {
        stop() {
          process.off("unhandledRejection", record);
          process.off("uncaughtException", record);
          return seen;
        },
      };
    },
    async cleanup() {
      for (const { child, exited } of children) {
        if (running(child)) child.kill();
        await exited;
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
