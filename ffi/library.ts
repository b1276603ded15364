/**
 * What the native adapter sees of the library, whatever loaded it: a {@link NativeBinding} that
 * opens {@link NativeContext}s. No bun:ffi, koffi or Deno type crosses this line.
 */

/** A loaded library (one per path and process). */
export interface NativeBinding {
  /** The file it was loaded from. */
  readonly path: string;
  /** `"bun:ffi"`, `"koffi"` or `"Deno.dlopen"`. */
  readonly loader: string;
  /** What the library's fwn_abi_version() answered. */
  readonly abiVersion: number;
  /**
   * Creates and starts a context (its I/O thread). `onWake` runs on the JS thread whenever event
   * records may be waiting: call {@link NativeContext.takeBatch} until it returns nothing.
   * @throws Error when the library cannot create or start one
   */
  open(batchBytes: number, highWaterBytes: number, onWake: () => void): NativeContext;
}

/** One batch of event records: `bytes[0, used)`, valid until the next takeBatch. */
export interface NativeBatch {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly used: number;
}

/** One library context. Every id is a u32; results follow the ABI (negative: AbiError). */
export interface NativeContext {
  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number;
  unlisten(id: number): number;
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number): number;
  connectAbort(id: number): number;
  /** Bytes accepted (0..length; the library copied them), or AbiError.CLOSED. */
  send(conn: number, bytes: Uint8Array): number;
  end(conn: number): number;
  close(conn: number): number;
  pause(conn: number, paused: boolean): number;
  setOption(conn: number, option: number, value: number): number;
  /** The filled batch, or undefined when nothing is waiting. */
  takeBatch(): NativeBatch | undefined;
  /** The FWN_STAT_* counters. */
  stats(): readonly number[];
  /** Stops the I/O thread (every socket closes) and frees the context once nothing waits inside it. Idempotent. */
  dispose(): void;
}

/**
 * The library's functions as one loader exposes them; `H` is its pointer type (a number under
 * bun:ffi, an object under koffi and Deno). Strings are passed as NUL-terminated bytes.
 */
export interface NativeSymbols<H> {
  fwn_abi_version(): number;
  fwn_create(batchBytes: number, highWater: number, notify: unknown): H | null;
  fwn_start(ctx: H): number;
  fwn_listen(ctx: H, id: number, host: Uint8Array | null, port: number, path: Uint8Array | null, backlog: number): number;
  fwn_unlisten(ctx: H, id: number): number;
  fwn_connect(ctx: H, id: number, host: Uint8Array | null, port: number, path: Uint8Array | null, local: Uint8Array | null, localPort: number, iface: Uint8Array | null): number;
  fwn_connect_abort(ctx: H, id: number): number;
  fwn_send(ctx: H, conn: number, bytes: Uint8Array, length: number): number;
  fwn_end(ctx: H, conn: number): number;
  fwn_close(ctx: H, conn: number): number;
  fwn_pause(ctx: H, conn: number, paused: number): number;
  fwn_set_option(ctx: H, conn: number, option: number, value: number): number;
  fwn_inbuf(ctx: H, which: number): unknown;
  fwn_swap(ctx: H): number | bigint;
  fwn_stats(ctx: H, out: Uint8Array, count: number): number;
  fwn_stop(ctx: H): number;
  fwn_free(ctx: H): number;
}

/** How a loader wakes JS: a foreign-thread callback (Bun) or a wait called off the JS thread (koffi, Deno). */
export interface Waker<H> {
  /** The notify function pointer for fwn_create (null when waits are used). */
  readonly notify: unknown;
  /** The context exists: start waking. */
  attach(ctx: H): void;
  /** After fwn_stop: calls `free` once no wait is inside the library any more (at once when none is). */
  detach(free: () => void): void;
}

/** Loader specifics besides the symbols. */
export interface LoaderPlatform<H> {
  readonly loader: string;
  readonly symbols: NativeSymbols<H>;
  /** A view of `length` bytes at the library's pointer (made once per batch buffer). */
  view(pointer: unknown, length: number): Uint8Array;
  waker(onWake: () => void): Waker<H>;
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text` for the C side, or null. */
export function cString(text: string | undefined): Uint8Array | null {
  if (text === undefined) return null;
  return encoder.encode(`${text}\0`);
}
