/**
 * `framewire/native`: the core with `listen`/`connect` on framewire's native library
 * (libwebsockets on an I/O thread of its own, loaded with bun:ffi, koffi or Deno.dlopen).
 * Importing this never loads the library: the first `listen`/`connect` does, and rejects with
 * `FW_NATIVE_UNAVAILABLE` (reason on `error.reason`) when it cannot. `loadNative()` checks first.
 */
import { createTransport } from "../../src/index.ts";
import { checkNative, type NativeAvailability } from "../../ffi/load.ts";
import { NativeAdapter } from "./adapter.ts";

export * from "../../src/index.ts";
export { NativeAdapter, type NativeStats } from "./adapter.ts";
export type { NativeAdapterOptions, NativeLogEntry } from "./options.ts";
export type { NativeAvailability } from "../../ffi/load.ts";

/**
 * Whether the native library can be used in this process: `{ available: true, path }` or
 * `{ available: false, reason }`. Never throws.
 * @example
 * const native = await loadNative();
 * if (!native.available) console.warn(`native path off: ${native.reason}`);
 */
export function loadNative(options: { libraryPath?: string } = {}): Promise<NativeAvailability> {
  return checkNative(options);
}

export const { listen, connect, adapter } = createTransport(new NativeAdapter());
