/**
 * The bun:ffi loader. Wake-ups come through a threadsafe JSCallback the I/O thread calls once
 * after JS armed the context (bun:ffi queues it to the JS thread, ~1 µs on the caller).
 */
import { bindingOf } from "./context.ts";
import type { LoaderPlatform, NativeBinding, NativeSymbols, Waker } from "./library.ts";
import { type AbiType, SYMBOLS } from "./symbols.ts";

/** The part of bun:ffi used here, declared structurally (no bun-types needed to compile it). */
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: string[]; returns: string }>): { symbols: Record<string, (...args: unknown[]) => unknown>; close(): void };
  JSCallback: new (fn: () => void, definition: { args: string[]; returns: string; threadsafe: boolean }) => { readonly ptr: number | null; close(): void };
  toArrayBuffer(pointer: number, offset: number, length: number): ArrayBuffer;
}

const BUN_TYPES: Readonly<Record<AbiType, string>> = { u32: "u32", i32: "i32", i64: "i64", pointer: "ptr", buffer: "ptr", void: "void" };

function bunFfi(): BunFfi {
  // bun:ffi exists only under Bun; import.meta.require loads it synchronously there.
  return (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
}

export function loadWithBun(path: string): NativeBinding {
  const ffi = bunFfi();
  const definitions = Object.fromEntries(
    Object.entries(SYMBOLS).map(([name, spec]) => [name, { args: spec.parameters.map((t) => BUN_TYPES[t]), returns: BUN_TYPES[spec.result] }]),
  );
  const symbols = ffi.dlopen(path, definitions).symbols as unknown as NativeSymbols<number>;
  const platform: LoaderPlatform<number> = {
    loader: "bun:ffi",
    symbols,
    view: (pointer, length) => new Uint8Array(ffi.toArrayBuffer(pointer as number, 0, length)),
    waker(onWake): Waker<number> {
      const callback = new ffi.JSCallback(onWake, { args: [], returns: "void", threadsafe: true });
      // A JSCallback does not hold the event loop open; this timer does, while the context lives.
      const keepAlive = setInterval(() => {}, 1 << 30);
      return {
        notify: callback.ptr,
        attach() {},
        detach(free) {
          clearInterval(keepAlive);
          free(); // fwn_stop joined the I/O thread: no notify can come from it any more
          // A call the thread queued before it stopped may still be pending in Bun's queue.
          (setTimeout(() => callback.close(), 100) as { unref?: () => void }).unref?.();
        },
      };
    },
  };
  return bindingOf(path, platform);
}
