/** The conformance suite on Bun's own sockets, run by `bun test`. */
import { test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { adapter, connect, listen } from "../../adapters/bun/index.ts";
import { type ConformanceContext, type NeverAcceptingPort, scenarios } from "./scenarios.ts";

const NEVER_ACCEPTS = fileURLToPath(new URL("../fixtures/never_accepts.py", import.meta.url));

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
    await reader.cancel(); // nothing more to read
  }
  const line = text.slice(0, text.indexOf("\n")).trim();
  const port = Number(line);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`never_accepts.py printed ${JSON.stringify(line)}, not a port`);
  return port;
}

/** The runner facilities of one scenario run, and the cleanup that follows it. */
function facilities(): Required<Pick<ConformanceContext, "tempPath" | "neverAcceptingPort">> & { cleanup(): Promise<void> } {
  let dir: string | undefined;
  let serial = 0;
  const children: ReturnType<typeof Bun.spawn>[] = [];
  return {
    tempPath(name: string): string {
      dir ??= mkdtempSync(join(tmpdir(), "framewire-conformance-"));
      return join(dir, `${++serial}-${name}`);
    },
    async neverAcceptingPort(): Promise<NeverAcceptingPort> {
      // The fixture binds 127.0.0.1 only and lives at most 30 s even if nobody stops it.
      const child = Bun.spawn(["python3", NEVER_ACCEPTS, "30"], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
      children.push(child);
      const port = await portFrom(child.stdout);
      return { port, close: () => child.kill() };
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

for (const scenario of scenarios) {
  test(
    `[bun] ${scenario.name}`,
    async () => {
      const { tempPath, neverAcceptingPort, cleanup } = facilities();
      try {
        await scenario.run({ transport: { adapter, listen, connect }, tempPath, neverAcceptingPort });
      } finally {
        await cleanup();
      }
    },
    scenario.timeoutMs,
  );
}
