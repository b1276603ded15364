/**
 * `framewire/native`: the core with `listen`/`connect` on framewire's native library
 * (libwebsockets on an I/O thread of its own, loaded with bun:ffi, koffi or Deno.dlopen).
 * Importing this never loads the library: the first `listen`/`connect` does, and rejects with
 * `FW_NATIVE_UNAVAILABLE` (reason on `error.reason`) when it cannot. `loadNative()` checks first.
 */
import { createTransport, InvalidOptionError, type SocketAdapter } from "../../src/index.ts";
import { checkNative, type NativeAvailability } from "../../ffi/load.ts";
import { checkAdapter } from "../../src/options.ts";
import { NativeAdapter } from "./adapter.ts";
import type { NativeAdapterOptions } from "./options.ts";

export * from "../../src/index.ts";
export { NativeAdapter, type NativeStats } from "./adapter.ts";
export type { NativeAdapterOptions, NativeLogEntry } from "./options.ts";
export type { NativeAvailability } from "../../ffi/load.ts";

/**
 * Whether the native library can be used in this process: `{ available: true, path }` or
 * `{ available: false, reason }`. Never throws.
 * @example
 * const native = await loadNative();
 * if (!native.available) log.warn(`native path off: ${native.reason}`); // your logger
 */
export function loadNative(options: { libraryPath?: string } = {}): Promise<NativeAvailability> {
  return checkNative(options);
}

/** What {@link preferNative} chose. */
export type NativeChoice =
  | { readonly native: true; readonly adapter: NativeAdapter; readonly path: string }
  | { readonly native: false; readonly adapter: SocketAdapter; readonly reason: string };

export interface PreferNativeOptions extends NativeAdapterOptions {
  /** Called once, with the reason, when the library cannot be used and `fallback` is chosen. A hook that throws is ignored. */
  readonly onFallback?: (reason: string) => unknown;
}

/**
 * The native adapter where the library loads in this process, else `fallback` (your runtime's
 * adapter) and why — on the result and through `onFallback`, never on stderr. framewire never
 * picks native by itself: measured, it is not faster yet (README, "Status and limits").
 * "Loads" means the file opened and speaks this ABI; a context that then cannot start (its I/O
 * thread, memory) fails the first listen/connect with `FW_NATIVE_UNAVAILABLE`, not a fallback.
 * The native adapter has no TLS: a `tls` listen/connect on the chosen adapter is `FW_UNSUPPORTED`.
 * @example
 * import { adapter as runtime, listen } from "framewire";
 * import { preferNative } from "framewire/native";
 * const chosen = await preferNative(runtime, { onFallback: (reason) => log.warn(`native off: ${reason}`) });
 * const server = await listen({ port: 7000, adapter: chosen.adapter });
 */
export async function preferNative(fallback: SocketAdapter, options?: PreferNativeOptions): Promise<NativeChoice> {
  checkAdapter(fallback, "preferNative's fallback");
  if (options !== undefined && (typeof options !== "object" || options === null)) throw new InvalidOptionError("preferNative's options must be an object");
  const { onFallback, ...adapterOptions } = options ?? {};
  if (onFallback !== undefined && typeof onFallback !== "function") throw new InvalidOptionError("onFallback must be a function");
  const adapter = new NativeAdapter(adapterOptions); // validates the options first
  const availability = await checkNative(adapterOptions.libraryPath === undefined ? {} : { libraryPath: adapterOptions.libraryPath });
  if (availability.available) return { native: true, adapter, path: availability.path };
  try {
    // An async hook's rejection is dropped too, never left unhandled.
    const returned: unknown = onFallback?.(availability.reason);
    if (returned instanceof Promise) returned.catch(() => {});
  } catch {
    // the choice stands; a logging hook must not turn it into a failure
  }
  return { native: false, adapter: fallback, reason: availability.reason };
}

export const { listen, connect, adapter } = createTransport(new NativeAdapter());
