/**
 * The bun:ffi loader. The I/O thread wakes JS through a threadsafe JSCallback (it only enqueues,
 * ~1 µs on the I/O thread); Uint8Arrays are passed straight as pointers (the fastest argument);
 * the batch buffers are viewed once with toArrayBuffer.
 */
import type { ContextOptions, NativeContext, NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { ABI_VERSION, NativeError, type NativeType, STAT_COUNT, SYMBOLS, type SymbolName } from "./symbols.ts";

// Structural view of bun:ffi, so this file type-checks without bun-types.
type Pointer = number;
type BunFfiType = "void" | "u32" | "i32" | "i64_fast" | "ptr" | "function";
interface BunSymbols {
  fwn_abi_version(): number;
  fwn_create(batch: number, high: number, notify: Pointer | null): Pointer | null;
  fwn_start(ctx: Pointer): number;
  fwn_listen(ctx: Pointer, id: number, host: Uint8Array, port: number, path: Uint8Array | null, backlog: number): number;
  fwn_unlisten(ctx: Pointer, id: number): number;
  fwn_connect(ctx: Pointer, id: number, host: Uint8Array, port: number, path: Uint8Array | null, local: Uint8Array | null, localPort: number, iface: Uint8Array | null): number;
  fwn_connect_abort(ctx: Pointer, id: number): number;
  fwn_send(ctx: Pointer, conn: number, bytes: Uint8Array, len: number): number;
  fwn_end(ctx: Pointer, conn: number): number;
  fwn_close(ctx: Pointer, conn: number): number;
  fwn_pause(ctx: Pointer, conn: number, paused: number): number;
  fwn_set_option(ctx: Pointer, conn: number, option: number, value: number): number;
  fwn_inbuf(ctx: Pointer, which: number): Pointer | null;
  fwn_swap(ctx: Pointer): number;
  fwn_wait(ctx: Pointer, timeout: number): number;
  fwn_stats(ctx: Pointer, out: Uint8Array, count: number): number;
  fwn_stop(ctx: Pointer): number;
  fwn_free(ctx: Pointer): number;
}
interface BunJSCallback {
  readonly ptr: Pointer | null;
  close(): void;
}
interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: BunFfiType[]; returns: BunFfiType }>): { symbols: BunSymbols; close(): void };
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

const encoder = new TextEncoder();

/** NUL-terminated UTF-8, or null. */
function cstring(text: string | undefined): Uint8Array | null {
  return text === undefined ? null : encoder.encode(`${text}\0`);
}

function definitions(): Record<string, { args: BunFfiType[]; returns: BunFfiType }> {
  const out: Record<string, { args: BunFfiType[]; returns: BunFfiType }> = {};
  for (const name of Object.keys(SYMBOLS) as SymbolName[]) {
    const spec = SYMBOLS[name];
    out[name] = { args: spec.parameters.map((t) => BUN_TYPES[t]), returns: BUN_TYPES[spec.result] };
  }
  return out;
}

class BunContext implements NativeContext {
  readonly buffers: readonly [Uint8Array, Uint8Array];
  readonly #fn: BunSymbols;
  readonly #ctx: Pointer;
  readonly #notify: BunJSCallback;
  readonly #statsOut = new BigUint64Array(STAT_COUNT);
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(ffi: BunFfi, fn: BunSymbols, options: ContextOptions) {
    this.#fn = fn;
    // The I/O thread calls this; Bun enqueues it onto the JS thread.
    this.#notify = new ffi.JSCallback(() => this.#wake?.(), { args: [], returns: "void", threadsafe: true });
    const ctx = fn.fwn_create(options.batchBytes, options.highWater, this.#notify.ptr);
    if (ctx === null || ctx === 0) {
      this.#notify.close();
      throw new NativeUnavailableError("fwn_create failed (out of memory, or batchBytes below 64 KiB)");
    }
    this.#ctx = ctx;
    const started = fn.fwn_start(ctx);
    if (started !== 0) {
      fn.fwn_stop(ctx);
      fn.fwn_free(ctx);
      this.#notify.close();
      throw new NativeUnavailableError(`fwn_start failed (${started}): the I/O thread did not start`);
    }
    const view = (which: number): Uint8Array => {
      const base = fn.fwn_inbuf(ctx, which);
      if (base === null) throw new NativeUnavailableError("fwn_inbuf returned null");
      return new Uint8Array(ffi.toArrayBuffer(base, 0, options.batchBytes));
    };
    this.buffers = [view(0), view(1)];
  }

  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_listen(this.#ctx, id, cstring(host) as Uint8Array, port, cstring(path), backlog);
  }
  unlisten(id: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_unlisten(this.#ctx, id);
  }
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number, interfaceName: string | undefined): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_connect(this.#ctx, id, cstring(host) as Uint8Array, port, cstring(path), cstring(localAddress), localPort, cstring(interfaceName));
  }
  connectAbort(id: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_connect_abort(this.#ctx, id);
  }
  send(conn: number, bytes: Uint8Array): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_send(this.#ctx, conn, bytes, bytes.length);
  }
  end(conn: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_end(this.#ctx, conn);
  }
  close(conn: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_close(this.#ctx, conn);
  }
  pause(conn: number, paused: boolean): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_pause(this.#ctx, conn, paused ? 1 : 0);
  }
  setOption(conn: number, option: number, value: number): number {
    if (this.#closed) return NativeError.STOPPED;
    return this.#fn.fwn_set_option(this.#ctx, conn, option, value);
  }
  swap(): number {
    if (this.#closed) return 0;
    return Number(this.#fn.fwn_swap(this.#ctx));
  }
  stats(): number[] {
    if (this.#closed) return [];
    const out = this.#statsOut;
    const n = this.#fn.fwn_stats(this.#ctx, new Uint8Array(out.buffer), STAT_COUNT);
    return Array.from(out.subarray(0, Math.max(0, n)), Number);
  }
  onEvents(wake: () => void): void {
    this.#wake = wake;
    // Arms the context: the first swap that finds nothing makes the next record notify.
    queueMicrotask(() => this.#wake?.());
  }
  stopNow(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake = undefined;
    this.#fn.fwn_stop(this.#ctx);
  }
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.stopNow();
    // No wait is ever outstanding on Bun, and no notify runs after fwn_stop returned.
    this.#fn.fwn_free(this.#ctx);
    this.#notify.close();
  }
}

/** Loads the library at `path` with bun:ffi. Throws NativeUnavailableError. */
export async function loadBun(path: string): Promise<NativeLibrary> {
  let ffi: BunFfi;
  try {
    ffi = (await import("bun:ffi" as string)) as BunFfi;
  } catch (error) {
    throw new NativeUnavailableError("bun:ffi is not available", { cause: error });
  }
  let fn: BunSymbols;
  let handle: { close(): void };
  try {
    handle = ffi.dlopen(path, definitions());
    fn = (handle as unknown as { symbols: BunSymbols }).symbols;
  } catch (error) {
    throw new NativeUnavailableError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const version = fn.fwn_abi_version();
  if (version !== ABI_VERSION) {
    handle.close();
    throw new NativeUnavailableError(`${path} speaks ABI version ${version}, this framewire needs ${ABI_VERSION}`);
  }
  return {
    path,
    loader: "bun:ffi",
    createContext: (options) => new BunContext(ffi, fn, options),
    unload: () => handle.close(),
  };
}
