// The conformance runner facilities on Deno, shared by the runner on Deno.listen/Deno.connect
// (conformance.test.ts) and the one on the native adapter (native-conformance.test.ts).
// `runtimeArgs` are appended to every runtime fixture's arguments: `--adapter=native` makes the
// fixtures use the native transport.
import type { ChildProcess, ConformanceContext, NeverAcceptingPort, UnhandledWatch } from "../conformance/kit.ts";
import { lineReader } from "../conformance/stdout-lines.ts";

const FIXTURES = decodeURIComponent(new URL("../conformance/fixtures/", import.meta.url).pathname);
const PYTHON_FIXTURES = decodeURIComponent(new URL("../fixtures/", import.meta.url).pathname);

/** The runner facilities of one scenario run, and the cleanup that follows it. */
export function facilities(runtimeArgs: readonly string[] = []): Required<Pick<ConformanceContext, "tempPath" | "neverAcceptingPort" | "spawn" | "externalMemory" | "watchUnhandled">> & {
  cleanup(): Promise<void>;
} {
  let dir: string | undefined;
  let serial = 0;
  const children: { process: Deno.ChildProcess; stdout: { cancel(): Promise<void> }; stderrDone: Promise<void>; writer: WritableStreamDefaultWriter<Uint8Array> }[] = [];
  const spawn = async (kind: "runtime" | "python", script: string, args: readonly string[]): Promise<ChildProcess> => {
    const command =
      kind === "runtime"
        ? new Deno.Command(Deno.execPath(), { args: ["run", "-A", `${FIXTURES}${script}.ts`, ...args, ...runtimeArgs], stdin: "piped", stdout: "piped", stderr: "piped" })
        : new Deno.Command("python3", { args: [`${PYTHON_FIXTURES}${script}.py`, ...args], stdin: "piped", stdout: "piped", stderr: "piped" });
    const process = command.spawn();
    let stderr = "";
    const stderrDone = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of process.stderr) stderr += decoder.decode(chunk, { stream: true });
    })();
    const stdout = lineReader(process.stdout);
    const writer = process.stdin.getWriter();
    children.push({ process, stdout, stderrDone, writer });
    let exited = false;
    const status = process.status.then((s) => {
      exited = true;
      return s.code;
    });
    return {
      readLine: stdout.read,
      endInput: () => void writer.close().catch(() => {}),
      exited: status,
      stderr: () => stderr,
      kill: () => {
        if (exited) return;
        try {
          process.kill("SIGTERM");
        } catch {
          // already exited
        }
      },
    };
  };
  return {
    tempPath(name: string): string {
      dir ??= Deno.makeTempDirSync({ prefix: "framewire-conformance-" });
      return `${dir}/${++serial}-${name}`;
    },
    async neverAcceptingPort(): Promise<NeverAcceptingPort> {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = await spawn("python", "never_accepts", ["30"]);
      const port = Number((await child.readLine(5_000)).trim());
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error("never_accepts.py printed no port");
      return { port, close: () => child.kill() };
    },
    spawn,
    async externalMemory(): Promise<number> {
      (globalThis as { gc?: () => void }).gc?.();
      return Deno.memoryUsage().external;
    },
    watchUnhandled(): UnhandledWatch {
      const seen: unknown[] = [];
      // Recorded and kept from ending the test module: the scenario fails with what it saw.
      const onRejection = (event: PromiseRejectionEvent): void => {
        event.preventDefault();
        seen.push(event.reason);
      };
      const onError = (event: ErrorEvent): void => {
        event.preventDefault();
        seen.push(event.error);
      };
      globalThis.addEventListener("unhandledrejection", onRejection);
      globalThis.addEventListener("error", onError);
      return {
        stop() {
          globalThis.removeEventListener("unhandledrejection", onRejection);
          globalThis.removeEventListener("error", onError);
          return seen;
        },
      };
    },
    async cleanup(): Promise<void> {
      for (const child of children) {
        try {
          child.process.kill("SIGTERM");
        } catch {
          // already exited
        }
        await child.process.status; // releases the child's resource before the sanitizers look
        await child.writer.close().catch(() => {});
        await child.stdout.cancel();
        await child.stderrDone;
      }
      if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
    },
  };
}
