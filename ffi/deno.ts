/**
 * The Deno.dlopen loader (needs --allow-ffi). As with koffi, no foreign-thread callback: a
 * `nonblocking` fwn_wait runs on Deno's blocking pool and its promise wakes JS (and keeps the
 * event loop alive while the context lives).
 */
import { bindingOf } from "./context.ts";
import type { LoaderPlatform, NativeBinding, NativeSymbols, Waker } from "./library.ts";
import { type AbiType, SYMBOLS } from "./symbols.ts";

/** The part of Deno's FFI used here, declared structurally (no Deno lib needed to compile it). */
interface DenoFfi {
  dlopen(path: string, symbols: Record<string, { parameters: string[]; result: string; nonblocking?: boolean }>): { symbols: Record<string, (...args: unknown[]) => unknown> };
  UnsafePointerView: new (pointer: unknown) => { getArrayBuffer(length: number): ArrayBuffer };
}

const DENO_TYPES: Readonly<Record<AbiType, string>> = { u32: "u32", i32: "i32", i64: "i64", pointer: "pointer", buffer: "buffer", void: "void" };

const WAIT_MS = 1000;

export function loadWithDeno(path: string): NativeBinding {
  const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const definitions = Object.fromEntries(
    Object.entries(SYMBOLS).map(([name, spec]) => [
      name,
      { parameters: spec.parameters.map((t) => DENO_TYPES[t]), result: DENO_TYPES[spec.result], ...("blocking" in spec ? { nonblocking: true } : {}) },
    ]),
  );
  const symbols = deno.dlopen(path, definitions).symbols;
  const wait = symbols["fwn_wait"] as (ctx: object, ms: number) => Promise<number>;
  const platform: LoaderPlatform<object> = {
    loader: "Deno.dlopen",
    symbols: symbols as unknown as NativeSymbols<object>,
    view: (pointer, length) => new Uint8Array(new deno.UnsafePointerView(pointer).getArrayBuffer(length)),
    waker(onWake): Waker<object> {
      let stopped = false;
      let waiting: Promise<unknown> | undefined;
      const loop = async (ctx: object): Promise<void> => {
        while (!stopped) {
          const result = await wait(ctx, WAIT_MS);
          if (result < 0 || stopped) return;
          if (result === 1) onWake();
        }
      };
      return {
        notify: null,
        attach(ctx) {
          waiting = loop(ctx);
        },
        detach(free) {
          stopped = true;
          // fwn_stop woke the wait: free once it has returned.
          void (waiting ?? Promise.resolve()).then(free, free);
        },
      };
    },
  };
  return bindingOf(path, platform);
}
