/**
 * `framewire/native`: the core with `listen`/`connect` on the native library (libwebsockets on
 * an I/O thread of its own; see zig/ and ffi/), under Bun, Node (with koffi) and Deno
 * (`--allow-ffi`). Importing never fails: without the library, `adapter.status` says why and
 * the first listen/connect rejects with `FW_NATIVE_UNAVAILABLE`.
 */
import { createTransport } from "../../src/index.ts";
import { NativeAdapter } from "./adapter.ts";

export * from "../../src/index.ts";
export { NativeAdapter } from "./adapter.ts";
export type { NativeAdapterOptions, NativeLogEntry } from "./options.ts";
export type { NativeStatus } from "../../ffi/locate.ts";

const native = new NativeAdapter();
export const { listen, connect } = createTransport(native);
/** The adapter behind this entry's `listen` / `connect`; `adapter.status` says whether the library loaded. */
export const adapter: NativeAdapter = native;
