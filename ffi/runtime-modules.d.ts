/**
 * The smallest ambient view of the `node:*` modules the loaders use (Bun and Deno provide them
 * too), so ffi/ compiles without @types/node; these merge harmlessly with @types/node's.
 * Compile-time only.
 */
declare module "node:fs" {
  export function existsSync(path: string): boolean;
}
declare module "node:module" {
  export function createRequire(from: string): { (id: string): unknown; resolve(id: string): string };
}
declare module "node:url" {
  export function fileURLToPath(url: string): string;
  export function pathToFileURL(path: string): { readonly href: string };
}
interface ImportMeta {
  url: string;
}
declare module "node:dns" {
  export const promises: { lookup(hostname: string, options: { family?: number }): Promise<{ address: string; family: number }> };
}
