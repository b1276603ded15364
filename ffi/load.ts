/**
 * Finds and loads the native library with the running runtime's FFI: bun:ffi under Bun,
 * Deno.dlopen under Deno, koffi under Node. Loaders are imported lazily so that a runtime never
 * parses another runtime's loader, and `framewire` never loads any of them.
 */
import { NativeUnavailableError } from "../src/errors.ts";
import type { NativeLibrary } from "./library.ts";
import { locateLibrary } from "./locate.ts";

/** What {@link checkNative} reports. */
export type NativeAvailability = { readonly available: true; readonly path: string; readonly loader: string } | { readonly available: false; readonly reason: string };

/** Locates and loads the library. Rejects with NativeUnavailableError (its `reason` says why). */
export async function loadLibrary(libraryPath?: string): Promise<NativeLibrary> {
  const located = locateLibrary(libraryPath);
  if (!located.found) throw new NativeUnavailableError(located.reason);
  const global = globalThis as { Bun?: unknown; Deno?: unknown };
  if (global.Bun !== undefined) return (await import("./bun.ts")).loadBun(located.path);
  if (global.Deno !== undefined) return (await import("./deno.ts")).loadDeno(located.path);
  return (await import("./node.ts")).loadNode(located.path);
}

/**
 * Whether the native path can be used here, without throwing: the library is found, loads, and
 * speaks this framewire's ABI version.
 */
export async function checkNative(options: { libraryPath?: string } = {}): Promise<NativeAvailability> {
  try {
    const library = await loadLibrary(options.libraryPath);
    library.unload(); // a check only: the adapter loads its own
    return { available: true, path: library.path, loader: library.loader };
  } catch (error) {
    if (error instanceof NativeUnavailableError) return { available: false, reason: error.reason };
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
