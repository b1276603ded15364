/**
 * The smallest ambient view of the `node:*` modules the loaders use (Node, Bun and Deno all
 * provide them), so ffi/ type-checks without @types/node; merges harmlessly with it.
 * Compile-time only; nothing in the emitted declarations refers to it.
 */
declare module "node:fs" {
  export function existsSync(path: string): boolean;
  export function readFileSync(path: string, encoding: "utf8"): string;
}
declare module "node:module" {
  export function createRequire(url: string): { (id: string): unknown; resolve(id: string): string };
}
declare module "node:path" {
  export function dirname(path: string): string;
  export function join(...paths: string[]): string;
}
declare module "node:url" {
  export function fileURLToPath(url: string): string;
}
interface ImportMeta {
  readonly url: string;
}
