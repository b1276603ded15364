/**
 * The koffi loader (Node). koffi is an optional dependency, loaded lazily: without it the native
 * path is unavailable, never a crash. A koffi callback from a foreign thread blocks that thread
 * 12–46 µs, so the I/O thread never calls into JS here: a blocking `fwn_wait` runs on libuv's
 * thread pool (`.async`) and its completion wakes the pump.
 */
import { createRequire } from "node:module";
import type { ContextOptions, NativeContext, NativeLibrary } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { ABI_VERSION, NativeError, type NativeType, STAT_COUNT, SYMBOLS, type SymbolName } from "./symbols.ts";

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

/** How long one wait may block a pool thread before it is re-issued (stop wakes it sooner). */
const WAIT_TIMEOUT_MS = 10_000;

type Calls = Record<SymbolName, KoffiFunction>;

class KoffiContext implements NativeContext {
  readonly buffers: readonly [Uint8Array, Uint8Array];
  readonly #fn: Calls;
  readonly #ctx: Opaque;
  readonly #statsOut = new BigUint64Array(STAT_COUNT);
  #wake: (() => void) | undefined;
  #stopped = false;
  #freed = false;
  /** The outstanding `.async` wait: the context may be freed only once it returned. */
  #waiting: Promise<void> | undefined;

  constructor(koffi: Koffi, fn: Calls, options: ContextOptions) {
    this.#fn = fn;
    const ctx = fn.fwn_create(options.batchBytes, options.highWater, null) as Opaque | null;
    if (ctx === null) throw new NativeUnavailableError("fwn_create failed (out of memory, or batchBytes below 64 KiB)");
    this.#ctx = ctx;
    const started = fn.fwn_start(ctx) as number;
    if (started !== 0) {
      fn.fwn_stop(ctx);
      fn.fwn_free(ctx);
      throw new NativeUnavailableError(`fwn_start failed (${started}): the I/O thread did not start`);
    }
    const view = (which: number): Uint8Array => {
      const base = fn.fwn_inbuf(ctx, which) as Opaque | null;
      if (base === null) throw new NativeUnavailableError("fwn_inbuf returned null");
      return new Uint8Array(koffi.view(base, options.batchBytes));
    };
    this.buffers = [view(0), view(1)];
  }

  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_listen(this.#ctx, id, host, port, path ?? null, backlog) as number;
  }
  unlisten(id: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_unlisten(this.#ctx, id) as number;
  }
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number, interfaceName: string | undefined): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_connect(this.#ctx, id, host, port, path ?? null, localAddress ?? null, localPort, interfaceName ?? null) as number;
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
    const n = this.#fn.fwn_stats(this.#ctx, out, STAT_COUNT) as number;
    return Array.from(out.subarray(0, Math.max(0, n)), Number);
  }
  onEvents(wake: () => void): void {
    this.#wake = wake;
    queueMicrotask(() => this.#wake?.());
    this.#waitLoop();
  }
  #waitLoop(): void {
    if (this.#stopped || this.#waiting !== undefined) return;
    this.#waiting = new Promise<void>((resolve) => {
      this.#fn.fwn_wait.async(this.#ctx, WAIT_TIMEOUT_MS, (error: unknown, result: unknown) => {
        this.#waiting = undefined;
        resolve();
        if (this.#stopped || error) return;
        if (result === 1) this.#wake?.();
        this.#waitLoop();
      });
    });
  }
  stopNow(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#wake = undefined;
    this.#fn.fwn_stop(this.#ctx); // wakes the outstanding wait with FWN_ERR_STOPPED
  }
  async dispose(): Promise<void> {
    this.stopNow();
    await this.#waiting;
    if (this.#freed) return;
    this.#freed = true;
    this.#fn.fwn_free(this.#ctx);
  }
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
  const fn = {} as Calls;
  let library: KoffiLibrary;
  try {
    library = koffi.load(path);
    for (const name of Object.keys(SYMBOLS) as SymbolName[]) {
      const spec = SYMBOLS[name];
      fn[name] = library.func(name, KOFFI_TYPES[spec.result], spec.parameters.map((t) => KOFFI_TYPES[t]));
    }
  } catch (error) {
    throw new NativeUnavailableError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const version = fn.fwn_abi_version() as number;
  if (version !== ABI_VERSION) {
    library.unload();
    throw new NativeUnavailableError(`${path} speaks ABI version ${version}, this framewire needs ${ABI_VERSION}`);
  }
  return { path, loader: "koffi", createContext: (options) => new KoffiContext(koffi, fn, options), unload: () => library.unload() };
}
