/**
 * Finding and loading the native library: an explicit path, else the platform package npm
 * installed beside framewire, else a build in this repository (`npm run build:native`). Every
 * miss is kept as part of the reason, so "not available" always says where it looked and why.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { loadWithBun } from "./bun.ts";
import { loadWithDeno } from "./deno.ts";
import type { NativeBinding } from "./library.ts";
import { loadWithKoffi } from "./node.ts";
import { ABI_VERSION } from "./symbols.ts";

/** The optional dependency that carries the prebuilt library for this platform. */
export const PLATFORM_PACKAGE = "framewire-native-linux-x64-gnu";
export const LIBRARY_FILE = "libframewire_native.so";

/** Whether the native library can be used here, and if not, why. */
export type NativeStatus =
  | { readonly available: true; readonly path: string; readonly loader: string }
  | { readonly available: false; readonly reason: string };

export type LoadResult = { readonly binding: NativeBinding } | { readonly reason: string };

/** Where the library may be, in order, each with why it is not there when it is not. */
function candidates(libraryPath: string | undefined): { paths: string[]; misses: string[] } {
  if (libraryPath !== undefined) return { paths: [libraryPath], misses: [] };
  const paths: string[] = [];
  const misses: string[] = [];
  const { platform = "unknown", arch = "unknown" } = (globalThis as { process?: { platform?: string; arch?: string } }).process ?? {};
  if (platform !== "linux" || arch !== "x64") {
    misses.push(`${PLATFORM_PACKAGE} is built for linux-x64 only (this is ${platform}-${arch})`);
  } else {
    try {
      const manifest = createRequire(import.meta.url).resolve(`${PLATFORM_PACKAGE}/package.json`);
      paths.push(manifest.replace(/package\.json$/, `lib/${LIBRARY_FILE}`));
    } catch {
      misses.push(`the optional package ${PLATFORM_PACKAGE} is not installed`);
    }
  }
  // A build in the repository: ffi/ under Bun and Deno (sources), dist/ffi/ under Node.
  const here = fileURLToPath(import.meta.url).replace(/[^/]*$/, "");
  for (const up of ["../zig/zig-out/lib/", "../../zig/zig-out/lib/"]) paths.push(normalize(here + up + LIBRARY_FILE));
  return { paths, misses };
}

/** Resolves `..` segments of an absolute POSIX path. */
function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "..") out.pop();
    else if (part !== "." && part !== "") out.push(part);
  }
  return `/${out.join("/")}`;
}

function loadWith(path: string): NativeBinding {
  const runtime = globalThis as { Bun?: unknown; Deno?: unknown };
  if (runtime.Bun !== undefined) return loadWithBun(path);
  if (runtime.Deno !== undefined) return loadWithDeno(path);
  return loadWithKoffi(path);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Finds and loads the library (never throws): the binding, or why there is none. */
export function loadNativeLibrary(libraryPath?: string): LoadResult {
  const { paths, misses } = candidates(libraryPath);
  for (const path of paths) {
    if (!existsSync(path)) {
      if (libraryPath !== undefined || !path.includes("zig-out")) misses.push(`${path} does not exist`);
      continue;
    }
    let binding: NativeBinding;
    try {
      binding = loadWith(path);
    } catch (error) {
      misses.push(`${path} did not load: ${describe(error)}`);
      continue;
    }
    if (binding.abiVersion !== ABI_VERSION) {
      misses.push(`${path} has ABI version ${binding.abiVersion}, this framewire needs ${ABI_VERSION}`);
      continue;
    }
    return { binding };
  }
  if (libraryPath === undefined) misses.push("no build in this repository (npm run build:native)");
  return { reason: misses.join("; ") };
}
