/**
 * Where the native library is: an explicit path, else the optional platform package, else the
 * repository's own build (zig/zig-out). Each place that does not hold it adds a reason, so a
 * failure says everywhere it looked.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The optional npm package that ships the prebuilt library for Linux x64 (glibc). */
export const PLATFORM_PACKAGE = "framewire-native-linux-x64-gnu";
export const LIBRARY_FILE = "libframewire_native.so";

export type Located = { readonly found: true; readonly path: string } | { readonly found: false; readonly reason: string };

interface ProcessInfo {
  readonly platform?: string;
  readonly arch?: string;
}

function platform(): ProcessInfo {
  const deno = (globalThis as { Deno?: { build?: { os?: string; arch?: string } } }).Deno;
  if (deno?.build !== undefined) return { platform: deno.build.os, arch: deno.build.arch === "x86_64" ? "x64" : deno.build.arch };
  return (globalThis as { process?: ProcessInfo }).process ?? {};
}

/** The directory holding framewire's package.json (the repository root, or the installed package). */
function packageRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "framewire") return dir;
      } catch {
        // Not ours or unreadable: keep walking up.
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

function fromPlatformPackage(): Located {
  const { platform: os, arch } = platform();
  if (os !== "linux" || arch !== "x64") return { found: false, reason: `${PLATFORM_PACKAGE} is for linux-x64 only (this is ${os ?? "?"}-${arch ?? "?"})` };
  let manifest: string;
  try {
    manifest = createRequire(import.meta.url).resolve(`${PLATFORM_PACKAGE}/package.json`);
  } catch {
    return { found: false, reason: `the optional package ${PLATFORM_PACKAGE} is not installed` };
  }
  const path = join(dirname(manifest), "lib", LIBRARY_FILE);
  return existsSync(path) ? { found: true, path } : { found: false, reason: `${PLATFORM_PACKAGE} has no lib/${LIBRARY_FILE}` };
}

function fromRepository(): Located {
  const root = packageRoot();
  if (root === undefined) return { found: false, reason: "framewire's package root was not found" };
  const path = join(root, "zig", "zig-out", "lib", LIBRARY_FILE);
  return existsSync(path) ? { found: true, path } : { found: false, reason: `no build at ${path} (npm run build:native)` };
}

/**
 * Finds the library. `libraryPath`, when given, is the only place looked at: asking for one
 * file and silently getting another would hide a deployment mistake.
 */
export function locateLibrary(libraryPath?: string): Located {
  if (libraryPath !== undefined) {
    return existsSync(libraryPath) ? { found: true, path: libraryPath } : { found: false, reason: `no file at libraryPath ${libraryPath}` };
  }
  const reasons: string[] = [];
  for (const place of [fromPlatformPackage, fromRepository]) {
    const located = place();
    if (located.found) return located;
    reasons.push(located.reason);
  }
  return { found: false, reason: reasons.join("; ") };
}
