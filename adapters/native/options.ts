/** The native adapter's options, their defaults and checks. */
import { InvalidOptionError } from "../../src/errors.ts";
import { describeValue } from "../../src/validate.ts";

/** A line libwebsockets logged (errors and warnings only), routed here instead of stderr. */
export interface NativeLogEntry {
  /** The libwebsockets level bit (1 error, 2 warning). */
  readonly level: number;
  readonly message: string;
}

export interface NativeAdapterOptions {
  /**
   * The library file to load. When set, only this file is tried.
   * @default the `framewire-native-linux-x64-gnu` package's library, else a build in this repository (`npm run build:native`)
   */
  libraryPath?: string;
  /**
   * Bytes of each of the two event batch buffers (64 KiB to 1 GiB). Received bytes wait here for
   * JS; when a buffer is full the library stops reading (TCP pushes back on the peers) until JS
   * takes it, so this bounds what the library holds of received data: twice this, per adapter.
   * @default 1 MiB
   */
  batchBytes?: number;
  /**
   * Bytes the library queues per connection for writing; past it a write is short (the core sees
   * backpressure and waits for drain). Bounds what the library holds of sent data, per connection.
   * @default 1 MiB
   */
  highWaterBytes?: number;
  /** Where libwebsockets' error and warning lines go (never to stderr). @default dropped */
  onLog?: (entry: NativeLogEntry) => void;
}

const KEYS: ReadonlySet<string> = new Set(["libraryPath", "batchBytes", "highWaterBytes", "onLog"]);
const MiB = 1024 * 1024;

export class NativeOptions {
  readonly libraryPath: string | undefined;
  readonly batchBytes: number;
  readonly highWaterBytes: number;
  readonly onLog: ((entry: NativeLogEntry) => void) | undefined;

  constructor(options: NativeAdapterOptions) {
    if (typeof options !== "object" || options === null) throw new InvalidOptionError(`NativeAdapter options must be an object, got ${describeValue(options)}`);
    for (const key of Object.keys(options)) if (!KEYS.has(key)) throw new InvalidOptionError(`unknown NativeAdapter option "${key}"`);
    if (options.libraryPath !== undefined && (typeof options.libraryPath !== "string" || options.libraryPath === "")) {
      throw new InvalidOptionError(`libraryPath must be a non-empty string, got ${describeValue(options.libraryPath)}`);
    }
    if (options.onLog !== undefined && typeof options.onLog !== "function") throw new InvalidOptionError(`onLog must be a function, got ${describeValue(options.onLog)}`);
    this.libraryPath = options.libraryPath;
    this.batchBytes = bytes("batchBytes", options.batchBytes, MiB, 64 * 1024, 1024 * MiB);
    this.highWaterBytes = bytes("highWaterBytes", options.highWaterBytes, MiB, 1, 2 ** 31 - 1);
    this.onLog = options.onLog;
  }
}

function bytes(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
  }
  return value;
}
