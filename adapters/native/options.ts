/** Options of the native adapter, validated at construction. */
import { InvalidOptionError } from "../../src/errors.ts";
import { MIN_BATCH_BYTES } from "../../ffi/symbols.ts";

/** A line libwebsockets logged (errors and warnings), routed to JS instead of stderr. */
export interface NativeLogEntry {
  /** libwebsockets' level bit: 1 error, 2 warning. */
  readonly level: number;
  readonly message: string;
}

export interface NativeAdapterOptions {
  /**
   * The shared library to load. When set, only this file is tried.
   * @default the optional package `framewire-native-linux-x64-gnu`, then the repository's `zig/zig-out/lib`
   */
  readonly libraryPath?: string;
  /**
   * Bytes of each of the context's two batch buffers (received bytes wait there for JS). When
   * the filling one is full the I/O thread stops reading: the receive backpressure. At least 64 KiB.
   * @default 1048576 (1 MiB)
   */
  readonly batchBytes?: number;
  /**
   * Bytes the library queues per connection before `write` answers short (and a drain follows).
   * @default 1048576 (1 MiB)
   */
  readonly highWaterBytes?: number;
  /**
   * Receives the library's log lines (libwebsockets errors and warnings); the library never
   * writes to stderr. A hook that throws is ignored.
   * @default the lines are dropped
   */
  readonly onLog?: (entry: NativeLogEntry) => void;
}

export interface ResolvedNativeOptions {
  readonly libraryPath: string | undefined;
  readonly batchBytes: number;
  readonly highWaterBytes: number;
  readonly onLog: ((entry: NativeLogEntry) => void) | undefined;
}

const MiB = 1024 * 1024;
const MAX_BYTES = 2 ** 31 - 1;

function bytes(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_BYTES) {
    throw new InvalidOptionError(`${name} must be an integer from ${min} to ${MAX_BYTES}, got ${String(value)}`);
  }
  return value;
}

export function resolveNativeOptions(options: NativeAdapterOptions = {}): ResolvedNativeOptions {
  const { libraryPath } = options;
  if (libraryPath !== undefined && (typeof libraryPath !== "string" || libraryPath === "")) throw new InvalidOptionError("libraryPath must be a non-empty string");
  if (options.onLog !== undefined && typeof options.onLog !== "function") throw new InvalidOptionError("onLog must be a function");
  return {
    libraryPath,
    batchBytes: bytes("batchBytes", options.batchBytes, MiB, MIN_BATCH_BYTES),
    highWaterBytes: bytes("highWaterBytes", options.highWaterBytes, MiB, 1),
    onLog: options.onLog,
  };
}
