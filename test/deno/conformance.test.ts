// The conformance suite on Deno.listen/Deno.connect, run by `deno test` with its op and resource
// sanitizers on: a scenario that leaves a socket, timer or pending op behind fails.
import { adapter, connect, listen } from "../../adapters/deno/index.ts";
import { type ConformanceContext, type NeverAcceptingPort, scenarios } from "../conformance/scenarios.ts";

const NEVER_ACCEPTS = decodeURIComponent(new URL("../fixtures/never_accepts.py", import.meta.url).pathname);

/** The port `stream`'s first line names; cancels the stream once read. Fails after 5 s or at EOF. */
async function portFrom(stream: ReadableStream<Uint8Array>): Promise<number> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("never_accepts.py printed no port within 5 s")), 5_000);
  });
  let text = "";
  try {
    while (!text.includes("\n")) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error(`never_accepts.py exited before printing its port (got ${JSON.stringify(text)})`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel(); // closes the pipe: nothing more to read
  }
  const line = text.slice(0, text.indexOf("\n")).trim();
  const port = Number(line);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`never_accepts.py printed ${JSON.stringify(line)}, not a port`);
  return port;
}

function stop(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGTERM");
  } catch {
    // already exited
  }
}

/** The runner facilities of one scenario run, and the cleanup that follows it. */
function facilities(): Required<Pick<ConformanceContext, "tempPath" | "neverAcceptingPort">> & { cleanup(): Promise<void> } {
  let dir: string | undefined;
  let serial = 0;
  const children: Deno.ChildProcess[] = [];
  return {
    tempPath(name: string): string {
      dir ??= Deno.makeTempDirSync({ prefix: "framewire-conformance-" });
      return `${dir}/${++serial}-${name}`;
    },
    async neverAcceptingPort(): Promise<NeverAcceptingPort> {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = new Deno.Command("python3", { args: [NEVER_ACCEPTS, "30"], stdin: "null", stdout: "piped", stderr: "inherit" }).spawn();
      children.push(child);
      const port = await portFrom(child.stdout);
      return { port, close: () => stop(child) };
    },
    async cleanup(): Promise<void> {
      for (const child of children) {
        stop(child);
        await child.status; // releases the child's resource before the sanitizers look
      }
      if (dir !== undefined) Deno.removeSync(dir, { recursive: true });
    },
  };
}

for (const scenario of scenarios) {
  Deno.test({
    name: `[deno] ${scenario.name}`,
    sanitizeOps: true,
    sanitizeResources: true,
    fn: async () => {
      const { tempPath, neverAcceptingPort, cleanup } = facilities();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`scenario exceeded ${scenario.timeoutMs} ms`)), scenario.timeoutMs);
      });
      try {
        await Promise.race([scenario.run({ transport: { adapter, listen, connect }, tempPath, neverAcceptingPort }), timeout]);
      } finally {
        clearTimeout(timer);
        await cleanup();
      }
    },
  });
}
