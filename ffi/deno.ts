/**
 * The Deno.dlopen loader. A foreign-thread callback blocks the I/O thread 16–45 µs on Deno, so
 * `fwn_wait` is a `nonblocking` symbol (Deno runs it on a thread of its own and resolves a
 * promise); strings and bytes are `"buffer"` parameters (UnsafePointer.of costs ~260 ns); the
 * batch buffers are viewed once with UnsafePointerView.getArrayBuffer.
 */
import type { NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { type NativeType, SYMBOLS, type SymbolName } from "./symbols.ts";
import { type Binding, type Calls, cannotLoad, checkAbi, nulTerminated, SymbolContext } from "./symbol-context.ts";

// Structural view of Deno's FFI, so this file type-checks without Deno's lib.
type DenoPointer = object;
type DenoFfiType = "void" | "u32" | "i32" | "i64" | "pointer" | "buffer" | "function";
interface DenoSymbolDefinition {
  parameters: DenoFfiType[];
  result: DenoFfiType;
  nonblocking?: boolean;
}
interface DenoFfi {
  dlopen(path: string, symbols: Record<string, DenoSymbolDefinition>): { symbols: Calls; close(): void };
  UnsafePointerView: { getArrayBuffer(pointer: DenoPointer, byteLength: number, offset?: number): ArrayBuffer };
}

const DENO_TYPES: Record<NativeType, DenoFfiType> = {
  void: "void",
  u32: "u32",
  i32: "i32",
  i64: "i64",
  ptr: "pointer",
  cstring: "buffer",
  buffer: "buffer",
  callback: "function", // always null here
};

/** Strings cross as NUL-terminated `buffer`s; fwn_wait is `nonblocking` (Deno runs it on a thread of its own). */
function binding(ffi: DenoFfi, calls: Calls): Binding {
  return {
    calls,
    text: nulTerminated,
    view: (base, byteLength) => ffi.UnsafePointerView.getArrayBuffer(base as DenoPointer, byteLength),
    notify: null,
    wait: (ctx, timeoutMs) => calls.fwn_wait(ctx, timeoutMs) as Promise<number>,
  };
}

/** Loads the library at `path` with Deno.dlopen (needs --allow-ffi). Throws NativeUnavailableError. */
export async function loadDeno(path: string): Promise<NativeLibrary> {
  const ffi = (globalThis as unknown as { Deno?: DenoFfi }).Deno;
  if (ffi === undefined) throw new NativeUnavailableError("Deno.dlopen is not available");
  const definitions: Record<string, DenoSymbolDefinition> = {};
  for (const name of Object.keys(SYMBOLS) as SymbolName[]) {
    const spec = SYMBOLS[name];
    definitions[name] = { parameters: spec.parameters.map((t) => DENO_TYPES[t]), result: DENO_TYPES[spec.result], ...(name === "fwn_wait" ? { nonblocking: true } : {}) };
  }
  let fn: Calls;
  let handle: { close(): void };
  try {
    const opened = ffi.dlopen(path, definitions);
    handle = opened;
    fn = opened.symbols;
  } catch (error) {
    throw cannotLoad(path, error);
  }
  checkAbi(path, fn, () => handle.close());
  const bound = binding(ffi, fn);
  return { path, loader: "Deno.dlopen", createContext: (options) => new SymbolContext(bound, options), unload: () => handle.close() };
}
