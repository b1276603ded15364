/**
 * The bun:ffi loader. The I/O thread wakes JS through a threadsafe JSCallback (it only enqueues,
 * ~1 µs on the I/O thread); Uint8Arrays are passed straight as pointers (the fastest argument);
 * the batch buffers are viewed once with toArrayBuffer.
 */
import type { ContextOptions, NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { type NativeType, SYMBOLS, type SymbolName } from "./symbols.ts";
import { type Calls, cannotLoad, checkAbi, nulTerminated, SymbolContext } from "./symbol-context.ts";

// Structural view of bun:ffi, so this file type-checks without bun-types.
type Pointer = number;
type BunFfiType = "void" | "u32" | "i32" | "i64_fast" | "ptr" | "function";
interface BunJSCallback {
  readonly ptr: Pointer | null;
  close(): void;
}
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: BunFfiType[]; returns: BunFfiType }>): { symbols: Calls; close(): void };
  toArrayBuffer(ptr: Pointer, byteOffset: number, byteLength: number): ArrayBuffer;
  JSCallback: new (fn: () => void, definition: { args: BunFfiType[]; returns: BunFfiType; threadsafe: boolean }) => BunJSCallback;
}

const BUN_TYPES: Record<NativeType, BunFfiType> = {
  void: "void",
  u32: "u32",
  i32: "i32",
  i64: "i64_fast", // a number while it is a safe integer (swap results are)
  ptr: "ptr",
  cstring: "ptr",
  buffer: "ptr",
  callback: "function",
};

function definitions(): Record<string, { args: BunFfiType[]; returns: BunFfiType }> {
  const out: Record<string, { args: BunFfiType[]; returns: BunFfiType }> = {};
  for (const name of Object.keys(SYMBOLS) as SymbolName[]) {
    const spec = SYMBOLS[name];
    out[name] = { args: spec.parameters.map((t) => BUN_TYPES[t]), returns: BUN_TYPES[spec.result] };
  }
  return out;
}

/** A context whose I/O thread calls a threadsafe JSCallback, which Bun enqueues onto the JS thread. */
function createContext(ffi: BunFfi, calls: Calls, options: ContextOptions): SymbolContext {
  let context: SymbolContext | undefined;
  const notify = new ffi.JSCallback(() => context?.notified(), { args: [], returns: "void", threadsafe: true });
  try {
    context = new SymbolContext(
      {
        calls,
        text: nulTerminated,
        view: (base, byteLength) => ffi.toArrayBuffer(base as Pointer, 0, byteLength),
        notify: notify.ptr,
        released: () => notify.close(), // no notify runs after fwn_stop returned
      },
      options,
    );
  } catch (error) {
    notify.close();
    throw error;
  }
  return context;
}

/** Loads the library at `path` with bun:ffi. Throws NativeUnavailableError. */
export async function loadBun(path: string): Promise<NativeLibrary> {
  let ffi: BunFfi;
  try {
    ffi = (await import("bun:ffi" as string)) as BunFfi;
  } catch (error) {
    throw new NativeUnavailableError("bun:ffi is not available", { cause: error });
  }
  let calls: Calls;
  let handle: { close(): void };
  try {
    const opened = ffi.dlopen(path, definitions());
    handle = opened;
    calls = opened.symbols;
  } catch (error) {
    throw cannotLoad(path, error);
  }
  checkAbi(path, calls, () => handle.close());
  return {
    path,
    loader: "bun:ffi",
    createContext: (options) => createContext(ffi, calls, options),
    unload: () => handle.close(),
  };
}
