// What every interop peer needs to know about the runtime it runs in, without runtime types.
export const runtime = globalThis.Bun ? "bun" : globalThis.Deno ? "deno" : "node";
const argv = runtime === "deno" ? globalThis.Deno.args : process.argv.slice(2);
/** A last argument `--native`: this peer runs on the native adapter (framewire/native) instead of the runtime's sockets. */
export const native = argv.at(-1) === "--native";
export const args = native ? argv.slice(0, -1) : argv;
export const entry = native
  ? { bun: "../../adapters/native/index.ts", deno: "../../adapters/native/index.ts", node: "../../dist/adapters/native/index.js" }[runtime]
  : {
      bun: "../../adapters/bun/index.ts",
      deno: "../../adapters/deno/index.ts",
      node: "../../dist/adapters/node/index.js",
    }[runtime];
export function exit(code) {
  if (runtime === "deno") globalThis.Deno.exit(code);
  else process.exit(code);
}
export function print(line) {
  console.log(line);
}
/** A file's text (the TLS material), with each runtime's own file API. */
export async function readText(path) {
  if (runtime === "bun") return await globalThis.Bun.file(path).text();
  if (runtime === "deno") return globalThis.Deno.readTextFileSync(path);
  const { readFileSync } = await import("node:fs");
  return readFileSync(path, "utf8");
}
