// What every interop peer needs to know about the runtime it runs in, without runtime types.
export const runtime = globalThis.Bun ? "bun" : globalThis.Deno ? "deno" : "node";
export const args = runtime === "deno" ? globalThis.Deno.args : process.argv.slice(2);
export const entry = {
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
