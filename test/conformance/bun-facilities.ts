/**
 * The conformance runner facilities on Bun, shared by the runner on Bun's sockets (bun.test.ts)
 * and the one on the native adapter (native.bun.test.ts). `runtimeArgs` are appended to every
 * runtime fixture's arguments: `--adapter=native` makes the fixtures use the native transport.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildProcess, ConformanceContext, NeverAcceptingPort, UnhandledWatch } from "./kit.ts";
import { lineReader } from "./stdout-lines.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
const PYTHON_FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

/** The runner facilities of one scenario run, and the cleanup that follows it. */
export function facilities(runtimeArgs: readonly string[] = []): Required<Pick<ConformanceContext, "tempPath" | "neverAcceptingPort" | "spawn" | "externalMemory" | "watchUnhandled">> & {
  cleanup(): Promise<void>;
} {
  let dir: string | undefined;
  let serial = 0;
  const children: ReturnType<typeof Bun.spawn>[] = [];
  const spawn = async (kind: "runtime" | "python", script: string, args: readonly string[]): Promise<ChildProcess> => {
    const command = kind === "runtime" ? [process.execPath, join(FIXTURES, `${script}.ts`), ...args, ...runtimeArgs] : ["python3", join(PYTHON_FIXTURES, `${script}.py`), ...args];
    const child = Bun.spawn(command, { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    children.push(child);
    let stderr = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stderr) stderr += decoder.decode(chunk, { stream: true });
    })();
    return {
      readLine: lineReader(child.stdout).read,
      endInput: () => void child.stdin.end(),
      exited: child.exited.then((code) => code ?? 1),
      stderr: () => stderr,
      kill: () => child.kill(),
    };
  };
  return {
    tempPath(name: string): string {
      dir ??= mkdtempSync(join(tmpdir(), "framewire-conformance-"));
      return join(dir, `${++serial}-${name}`);
    },
    async neverAcceptingPort(): Promise<NeverAcceptingPort> {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = await spawn("python", "never_accepts", ["30"]);
      const port = Number((await child.readLine(5_000)).trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`never_accepts.py printed no port`);
      return { port, close: () => child.kill() };
    },
    spawn,
    async externalMemory(): Promise<number> {
      Bun.gc(true);
      return process.memoryUsage().external;
    },
    watchUnhandled(): UnhandledWatch {
      const seen: unknown[] = [];
      const record = (reason: unknown): void => void seen.push(reason);
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
    async cleanup(): Promise<void> {
      for (const child of children) {
        child.kill();
        await child.exited;
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
