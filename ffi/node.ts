/**
 * The koffi loader (Node). koffi is an optional dependency, loaded lazily: without it the native
 * path is unavailable, never a crash. A koffi callback from a foreign thread blocks that thread
 * 12–46 µs, so the I/O thread never calls into JS here: a blocking `fwn_wait` runs on libuv's
 * thread pool (`.async`) and its completion wakes the pump.
 */
import { createRequire } from "node:module";
import type { NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { type NativeType, SYMBOLS, type SymbolName } from "./symbols.ts";
import { type Binding, cannotLoad, checkAbi, SymbolContext } from "./symbol-context.ts";

// Structural view of koffi, so this file type-checks without koffi installed.
type Opaque = object;
interface KoffiFunction {
  (...args: unknown[]): unknown;
  async(...args: [...unknown[], (error: unknown, result: unknown) => void]): void;
}
interface KoffiLibrary {
  func(name: string, result: string, parameters: string[]): KoffiFunction;
  unload(): void;
}
interface Koffi {
  load(path: string): KoffiLibrary;
  view(pointer: Opaque, length: number): ArrayBuffer;
}

const KOFFI_TYPES: Record<NativeType, string> = {
  void: "void",
  u32: "uint32_t",
  i32: "int32_t",
  i64: "int64_t",
  ptr: "void *",
  cstring: "const char *",
  buffer: "void *", // a TypedArray is passed by reference
  callback: "void *", // always null here
};

/** koffi passes JS strings and null as `const char *` itself; the blocking wait runs on libuv's pool. */
function binding(koffi: Koffi, calls: Record<SymbolName, KoffiFunction>): Binding {
  return {
    calls,
    text: (value) => value ?? null,
    view: (base, byteLength) => koffi.view(base as Opaque, byteLength),
    notify: null,
    wait: (ctx, timeoutMs) =>
      new Promise<number>((resolve, reject) => {
        calls.fwn_wait.async(ctx, timeoutMs, (error: unknown, result: unknown) => (error ? reject(error) : resolve(result as number)));
      }),
  };
}

function loadKoffi(): Koffi {
  try {
    return createRequire(import.meta.url)("koffi") as Koffi;
  } catch (error) {
    throw new NativeUnavailableError("the optional dependency koffi is not installed (npm install koffi)", { cause: error });
  }
}

/** Loads the library at `path` with koffi. Throws NativeUnavailableError. */
export async function loadNode(path: string): Promise<NativeLibrary> {
  const koffi = loadKoffi();
  const fn = {} as Record<SymbolName, KoffiFunction>;
  let library: KoffiLibrary;
  try {
    library = koffi.load(path);
    for (const name of Object.keys(SYMBOLS) as SymbolName[]) {
      const spec = SYMBOLS[name];
      fn[name] = library.func(name, KOFFI_TYPES[spec.result], spec.parameters.map((t) => KOFFI_TYPES[t]));
    }
  } catch (error) {
    throw cannotLoad(path, error);
  }
  checkAbi(path, fn, () => library.unload());
  const bound = binding(koffi, fn);
  return { path, loader: "koffi", createContext: (options) => new SymbolContext(bound, options), unload: () => library.unload() };
}
