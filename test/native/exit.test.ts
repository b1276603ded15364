/** A process using the native adapter exits cleanly: with connections open (process.exit), or by itself once all closed. */
import { describe, expect, test } from "bun:test";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./exit-child.ts", import.meta.url));

async function run(mode: string): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, CHILD, mode], { stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill(), 10_000);
  const code = await child.exited;
  clearTimeout(timer);
  return { code, signal: child.signalCode === null || child.signalCode === undefined ? null : String(child.signalCode), stdout: await new Response(child.stdout).text(), stderr: await new Response(child.stderr).text() };
}

describe("process exit", () => {
  test("process.exit(0) with open native connections exits 0, no crash", async () => {
    for (let i = 0; i < 3; i++) {
      const result = await run("exit");
      expect(result).toMatchObject({ code: 0, signal: null, stderr: "" });
    }
  }, 40_000);

  test("a process whose last native connection closed exits by itself", async () => {
    const result = await run("return");
    expect(result).toMatchObject({ code: 0, signal: null, stdout: "closed\n", stderr: "" });
  }, 15_000);
});
