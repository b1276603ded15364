/**
 * The neutral view of the native library the adapter uses. Each loader (bun.ts, node.ts,
 * deno.ts) implements it on its runtime's FFI; nothing here names a bun:ffi, koffi or Deno type.
 */

/** Sizes of one context (see fwn_create). */
export interface ContextOptions {
  /** Bytes of each of the two batch buffers (at least 64 KiB). */
  readonly batchBytes: number;
  /** Bytes `send` accepts per connection before it answers short. */
  readonly highWater: number;
}

/**
 * One native context: an I/O thread and its sockets. Every method is called on the JS thread.
 * Strings are UTF-8; `undefined` passes a null pointer. Once stopped, calls never reach the
 * library (it may be freed): they answer FWN_ERR_STOPPED, `swap` 0, `stats` [].
 */
export interface NativeContext {
  /** The two batch buffers, made once (stable for the context's life). */
  readonly buffers: readonly [Uint8Array, Uint8Array];
  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number;
  unlisten(id: number): number;
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number, interfaceName: string | undefined): number;
  connectAbort(id: number): number;
  /** Bytes accepted (the library copies them), or -1 once closed or ending. */
  send(conn: number, bytes: Uint8Array): number;
  end(conn: number): number;
  close(conn: number): number;
  pause(conn: number, paused: boolean): number;
  setOption(conn: number, option: number, value: number): number;
  /** Takes the filled batch: `which * 2^32 + used`. `used` 0 arms the wake. */
  swap(): number;
  /** The FWN_STAT_* counters. */
  stats(): number[];
  /**
   * Calls `wake` on the JS thread (never inside another call) whenever records may be pending,
   * until `dispose`. The callee swaps until a swap returns 0 bytes (which re-arms the wake).
   */
  onEvents(wake: () => void): void;
  /**
   * Stops the I/O thread (every socket closes; no wake after it resolves) and frees the context
   * once no wait is outstanding. Idempotent.
   */
  dispose(): Promise<void>;
  /** fwn_stop only, synchronously: for a process that is exiting (memory is left to the OS). */
  stopNow(): void;
}

/** A loaded library. */
export interface NativeLibrary {
  /** Where it was loaded from. */
  readonly path: string;
  /** Which loader: "bun:ffi", "koffi" or "Deno.dlopen". */
  readonly loader: string;
  /** A new context, already started. Throws NativeUnavailableError when it cannot be created. */
  createContext(options: ContextOptions): NativeContext;
  /** Unloads the library (dlclose). Only once every context made from it is disposed. */
  unload(): void;
}

/** Splits a swap result into the buffer index and the bytes used. */
export function splitSwap(result: number): { which: 0 | 1; used: number } {
  const which = result >= 2 ** 32 ? 1 : 0;
  return { which, used: result - which * 2 ** 32 };
}
