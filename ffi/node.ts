/**
 * The koffi loader (Node). koffi blocks the foreign thread for 12–46 µs per callback, so the I/O
 * thread never calls into JS here: a `fwn_wait` runs on koffi's async pool instead and its
 * completion wakes JS. The pending call also keeps Node's event loop alive while the context lives.
 */
import { createRequire } from "node:module";
import { bindingOf } from "./context.ts";
import type { LoaderPlatform, NativeBinding, NativeSymbols, Waker } from "./library.ts";
import { type AbiType, SYMBOLS } from "./symbols.ts";

/** The part of koffi used here (koffi is an optional dependency: loaded only when native is asked for). */
interface Koffi {
  load(path: string): { func(name: string, result: string, parameters: string[]): KoffiFunction };
  view(pointer: unknown, length: number): ArrayBuffer;
}
type KoffiFunction = ((...args: unknown[]) => unknown) & { async(...args: unknown[]): void };

const KOFFI_TYPES: Readonly<Record<AbiType, string>> = { u32: "uint32_t", i32: "int32_t", i64: "int64_t", pointer: "void *", buffer: "void *", void: "void" };

/** How long one wait may sleep before it is called again (it returns at once when records are waiting). */
const WAIT_MS = 1000;

export function loadWithKoffi(path: string): NativeBinding {
  const koffi = createRequire(import.meta.url)("koffi") as Koffi;
  const lib = koffi.load(path);
  const functions: Record<string, KoffiFunction> = {};
  for (const [name, spec] of Object.entries(SYMBOLS)) functions[name] = lib.func(name, KOFFI_TYPES[spec.result], spec.parameters.map((t) => KOFFI_TYPES[t]));
  const wait = functions["fwn_wait"] as KoffiFunction;
  const platform: LoaderPlatform<object> = {
    loader: "koffi",
    symbols: functions as unknown as NativeSymbols<object>,
    view: (pointer, length) => new Uint8Array(koffi.view(pointer, length)),
    waker(onWake): Waker<object> {
      let waiting = false;
      let stopped = false;
      let freeLater: (() => void) | undefined;
      const loop = (ctx: object): void => {
        waiting = true;
        wait.async(ctx, WAIT_MS, (error: unknown, result: unknown) => {
          waiting = false;
          if (stopped || (error !== null && error !== undefined) || (result as number) < 0) {
            freeLater?.();
            freeLater = undefined;
            return;
          }
          if (result === 1) onWake();
          if (!stopped) loop(ctx);
          else {
            freeLater?.();
            freeLater = undefined;
          }
        });
      };
      return {
        notify: null,
        attach: loop,
        detach(free) {
          stopped = true;
          if (waiting) freeLater = free; // fwn_stop woke it: it returns soon, then frees
          else free();
        },
      };
    },
  };
  return bindingOf(path, platform);
}
