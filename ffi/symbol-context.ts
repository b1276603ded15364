/**
 * The one NativeContext over the library's symbols, shared by the three loaders. A loader gives
 * it what differs per runtime ({@link Binding}): how strings cross, how a batch buffer is
 * viewed, and how JS learns that records are pending — the library's notify callback (bun:ffi)
 * or a wait that blocks off the JS thread (koffi `.async`, Deno `nonblocking`).
 */
import type { ContextOptions, NativeContext } from "./library.ts";
import { NativeUnavailableError } from "../src/errors.ts";
import { ABI_VERSION, NativeError, STAT_COUNT, type SymbolName } from "./symbols.ts";

/** The bound symbols, as the runtime's FFI calls them. */
export type Calls = Record<SymbolName, (...args: unknown[]) => unknown>;

/** What one runtime's FFI does differently. */
export interface Binding {
  readonly calls: Calls;
  /** A string argument (`cstring`): NUL-terminated bytes or the string itself; `undefined` → null pointer. */
  text(value: string | undefined): unknown;
  /** The library's batch buffer at `base`, `byteLength` bytes, as an ArrayBuffer over the same memory. */
  view(base: unknown, byteLength: number): ArrayBuffer;
  /** fwn_create's notify callback (a function pointer), or null where JS waits instead. */
  readonly notify: unknown;
  /** One blocking fwn_wait run off the JS thread: resolves 1 when records are pending. Absent where the library notifies. */
  wait?(ctx: unknown, timeoutMs: number): Promise<number>;
  /** After fwn_free (bun:ffi closes its JSCallback here). */
  released?(): void;
}

/** How long one wait may block its thread before it is re-issued (fwn_stop wakes it sooner). */
const WAIT_TIMEOUT_MS = 10_000;

function isNull(pointer: unknown): boolean {
  return pointer === null || pointer === undefined || pointer === 0;
}

export class SymbolContext implements NativeContext {
  readonly buffers: readonly [Uint8Array, Uint8Array];
  readonly #binding: Binding;
  readonly #fn: Calls;
  readonly #ctx: unknown;
  readonly #statsOut = new BigUint64Array(STAT_COUNT);
  #wake: (() => void) | undefined;
  #stopped = false;
  #freed = false;
  /** The outstanding wait: the context may be freed only once it returned. */
  #waiting: Promise<void> | undefined;

  constructor(binding: Binding, options: ContextOptions) {
    this.#binding = binding;
    const fn = (this.#fn = binding.calls);
    const ctx = fn.fwn_create(options.batchBytes, options.highWater, binding.notify);
    if (isNull(ctx)) throw new NativeUnavailableError("fwn_create failed (out of memory, or batchBytes below 64 KiB)");
    this.#ctx = ctx;
    const started = fn.fwn_start(ctx) as number;
    if (started !== 0) {
      fn.fwn_stop(ctx);
      fn.fwn_free(ctx);
      throw new NativeUnavailableError(`fwn_start failed (${started}): the I/O thread did not start`);
    }
    const view = (which: number): Uint8Array => {
      const base = fn.fwn_inbuf(ctx, which);
      if (isNull(base)) throw new NativeUnavailableError("fwn_inbuf returned null");
      return new Uint8Array(binding.view(base, options.batchBytes));
    };
    try {
      this.buffers = [view(0), view(1)];
    } catch (error) {
      // The I/O thread is running: stop it before the context (and a notify callback) goes.
      fn.fwn_stop(ctx);
      fn.fwn_free(ctx);
      throw error;
    }
  }

  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    const b = this.#binding;
    return this.#fn.fwn_listen(this.#ctx, id, b.text(host), port, b.text(path), backlog) as number;
  }
  unlisten(id: number): number {
    if (this.#stopped) return NativeError.STOPPED;
    return this.#fn.fwn_unlisten(this.#ctx, id) as number;
  }
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number, interfaceName: string | undefined): number {
    if (this.#stopped) return NativeError.STOPPED;
    const b = this.#binding;
    return this.#fn.fwn_connect(this.#ctx, id, b.text(host), port, b.text(path), b.text(localAddress), localPort, b.text(interfaceName)) as number;
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
    // Arms the context: the first swap that finds nothing makes the next record wake us.
    queueMicrotask(() => this.#wake?.());
    this.#waitLoop();
  }
  /** The library's notify, on the JS thread (bun:ffi's threadsafe JSCallback lands here). */
  notified(): void {
    this.#wake?.();
  }
  #waitLoop(): void {
    const wait = this.#binding.wait;
    if (wait === undefined || this.#stopped || this.#waiting !== undefined) return;
    this.#waiting = wait(this.#ctx, WAIT_TIMEOUT_MS).then(
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
    this.#fn.fwn_stop(this.#ctx); // wakes an outstanding wait with FWN_ERR_STOPPED; no notify after it returns
  }
  async dispose(): Promise<void> {
    this.stopNow();
    await this.#waiting;
    if (this.#freed) return;
    this.#freed = true;
    this.#fn.fwn_free(this.#ctx);
    this.#binding.released?.();
  }
}

/** The error for a library the runtime's FFI could not open or bind. */
export function cannotLoad(path: string, error: unknown): NativeUnavailableError {
  return new NativeUnavailableError(`cannot load ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

/** Refuses (and unloads) a library that speaks another ABI version. */
export function checkAbi(path: string, calls: Calls, unload: () => void): void {
  const version = calls.fwn_abi_version() as number;
  if (version === ABI_VERSION) return;
  unload();
  throw new NativeUnavailableError(`${path} speaks ABI version ${version}, this framewire needs ${ABI_VERSION}`);
}

const encoder = new TextEncoder();

/** A `cstring` argument as NUL-terminated UTF-8 bytes (bun:ffi, Deno), or null. */
export function nulTerminated(text: string | undefined): Uint8Array | null {
  return text === undefined ? null : encoder.encode(`${text}\0`);
}
