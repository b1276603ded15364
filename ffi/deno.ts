/**
 * The Deno.dlopen loader. A foreign-thread callback blocks the I/O thread 16–45 µs on Deno, so
 * `fwn_wait` is a `nonblocking` symbol (Deno runs it on a thread of its own and resolves a
 * promise); strings and bytes are `"buffer"` parameters (UnsafePointer.of costs ~260 ns); the
 * batch buffers are viewed once with UnsafePointerView.getArrayBuffer.
 */
import type { ContextOptions, NativeContext, NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { ABI_VERSION, NativeError, type NativeType, STAT_COUNT, SYMBOLS, type SymbolName } from "./symbols.ts";

// Structural view of Deno's FFI, so this file type-checks without Deno's lib.
type DenoPointer = object;
type DenoFfiType = "void" | "u32" | "i32" | "i64" | "pointer" | "buffer" | "function";
interface DenoSymbolDefinition {
  parameters: DenoFfiType[];
  result: DenoFfiType;
  nonblocking?: boolean;
}
type DenoCall = (...args: unknown[]) => unknown;
interface DenoFfi {
  dlopen(path: string, symbols: Record<string, DenoSymbolDefinition>): { symbols: Record<SymbolName, DenoCall>; close(): void };
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

const WAIT_TIMEOUT_MS = 10_000;
const encoder = new TextEncoder();

function cstring(text: string | undefined): Uint8Array | null {
  return text === undefined ? null : encoder.encode(`${text}\0`);
}

class DenoContext implements NativeContext {
  readonly buffers: readonly [Uint8Array, Uint8Array];
  readonly #fn: Record<SymbolName, DenoCall>;
  readonly #ctx: DenoPointer;
  readonly #statsOut = new BigUint64Array(STAT_COUNT);
  #wake: (() => void) | undefined;
  #stopped = false;
  #freed = false;
  #waiting: Promise<void> | undefined;

  constructor(ffi: DenoFfi, fn: Record<SymbolName, DenoCall>, options: ContextOptions) {
    this.#fn = fn;
    const ctx = fn.fwn_create(options.batchBytes, options.highWater, null) as DenoPointer | null;
    if (ctx === null) throw new NativeUnavailableError("fwn_create failed (out of memory, or batchBytes below 64 KiB)");
    this.#ctx = ctx;
    const started = fn.fwn_start(ctx) as number;
    if (started !== 0) {
      fn.fwn_stop(ctx);
      fn.fwn_free(ctx);
      throw new NativeUnavailableError(`fwn_start failed (${started}): the I/O thread did not start`);
    }
    const view = (which: number): Uint8Array => {
      const base = fn.fwn_inbuf(ctx, which) as DenoPointer | null;
      if (base === null) throw new NativeUnavailableError("fwn_inbuf returned null");
      return new Uint8Array(ffi.UnsafePointerView.getArrayBuffer(base, options.batchBytes));
    };
    this.buffers = [view(0), view(1)];
  }

  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_listen(this.#ctx, id, cstring(host), port, cstring(path), backlog) as number;
  }
  unlisten(id: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_unlisten(this.#ctx, id) as number;
  }
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number, interfaceName: string | undefined): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_connect(this.#ctx, id, cstring(host), port, cstring(path), cstring(localAddress), localPort, cstring(interfaceName)) as number;
  }
  connectAbort(id: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_connect_abort(this.#ctx, id) as number;
  }
  send(conn: number, bytes: Uint8Array): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_send(this.#ctx, conn, bytes, bytes.length) as number;
  }
  end(conn: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_end(this.#ctx, conn) as number;
  }
  close(conn: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_close(this.#ctx, conn) as number;
  }
  pause(conn: number, paused: boolean): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_pause(this.#ctx, conn, paused ? 1 : 0) as number;
  }
  setOption(conn: number, option: number, value: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_set_option(this.#ctx, conn, option, value) as number;
  }
  swap(): number {
    if (this.#stopped) return 0;
    return Number(this.#fn.fwn_swap(this.#ctx) as number | bigint);
  }
  stats(): number[] {
    if (this.#stopped) return [];
    const out = this.#statsOut;
    const n = this.#fn.fwn_stats(this.#ctx, new Uint8Array(out.buffer), STAT_COUNT) as number;
    return Array.from(out.subarray(0, Math.max(0, n)), Number);
  }
  onEvents(wake: () => void): void {
    this.#wake = wake;
    queueMicrotask(() => this.#wake?.());
    this.#waitLoop();
  }
  #waitLoop(): void {
    if (this.#stopped || this.#waiting !== undefined) return;
    const pending = this.#fn.fwn_wait(this.#ctx, WAIT_TIMEOUT_MS) as Promise<number>;
    this.#waiting = pending.then(
      (result) => {
        this.#waiting = undefined;
        if (this.#stopped) return;
        if (result === 1) this.#wake?.();
        this.#waitLoop();
      },
      () => {
        this.#waiting = undefined;
      },
    );
  }
  stopNow(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake = undefined;
    this.#fn.fwn_stop(this.#ctx);
  }
  async dispose(): Promise<void> {
    this.stopNow();
    await this.#waiting;
    if (this.#freed) return;
    this.#freed = true;
    this.#fn.fwn_free(this.#ctx);
  }
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
  let fn: Record<SymbolName, DenoCall>;
  let handle: { close(): void };
  try {
    const opened = ffi.dlopen(path, definitions);
    handle = opened;
    fn = opened.symbols;
  } catch (error) {
    throw new NativeUnavailableError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const version = fn.fwn_abi_version() as number;
  if (version !== ABI_VERSION) {
    handle.close();
    throw new NativeUnavailableError(`${path} speaks ABI version ${version}, this framewire needs ${ABI_VERSION}`);
  }
  return { path, loader: "Deno.dlopen", createContext: (options) => new DenoContext(ffi, fn, options), unload: () => handle.close() };
}
