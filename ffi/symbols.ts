/**
 * The native library's ABI v1 (zig/include/framewire_native.h) in one table. Each loader
 * (bun.ts, node.ts, deno.ts) derives its bindings from {@link SYMBOLS}, so the three cannot
 * disagree; test/native/symbols.test.ts parses the header and compares.
 */

/** The ABI version this package speaks; a library whose `fwn_abi_version()` differs is refused. */
export const ABI_VERSION = 1;

/**
 * Parameter and result types in a neutral notation:
 * `ptr` an opaque pointer (the context), `cstring` a NUL-terminated UTF-8 string or null,
 * `buffer` a Uint8Array passed as a pointer (or null), `callback` a `void (*)(void)` or null.
 */
export type NativeType = "void" | "u32" | "i32" | "i64" | "ptr" | "cstring" | "buffer" | "callback";

export interface SymbolSpec {
  readonly parameters: readonly NativeType[];
  readonly result: NativeType;
}

export const SYMBOLS = {
  fwn_abi_version: { parameters: [], result: "u32" },
  fwn_create: { parameters: ["u32", "u32", "callback"], result: "ptr" },
  fwn_start: { parameters: ["ptr"], result: "i32" },
  fwn_listen: { parameters: ["ptr", "u32", "cstring", "i32", "cstring", "i32"], result: "i32" },
  fwn_unlisten: { parameters: ["ptr", "u32"], result: "i32" },
  fwn_connect: { parameters: ["ptr", "u32", "cstring", "i32", "cstring", "cstring", "i32", "cstring"], result: "i32" },
  fwn_connect_abort: { parameters: ["ptr", "u32"], result: "i32" },
  fwn_send: { parameters: ["ptr", "u32", "buffer", "u32"], result: "i32" },
  fwn_end: { parameters: ["ptr", "u32"], result: "i32" },
  fwn_close: { parameters: ["ptr", "u32"], result: "i32" },
  fwn_pause: { parameters: ["ptr", "u32", "i32"], result: "i32" },
  fwn_set_option: { parameters: ["ptr", "u32", "i32", "i32"], result: "i32" },
  fwn_inbuf: { parameters: ["ptr", "i32"], result: "ptr" },
  fwn_swap: { parameters: ["ptr"], result: "i64" },
  fwn_wait: { parameters: ["ptr", "i32"], result: "i32" },
  fwn_stats: { parameters: ["ptr", "buffer", "i32"], result: "i32" },
  fwn_stop: { parameters: ["ptr"], result: "i32" },
  fwn_free: { parameters: ["ptr"], result: "i32" },
} as const satisfies Record<string, SymbolSpec>;

export type SymbolName = keyof typeof SYMBOLS;

/** Negative results (FWN_ERR_*). */
export const NativeError = {
  CLOSED: -1,
  STOPPED: -2,
  INVALID: -3,
  NOMEM: -4,
  THREAD: -5,
} as const;

/** Event record kinds (FWN_EV_*). */
export const RecordKind = {
  LISTENING: 1,
  LISTEN_FAILED: 2,
  ACCEPTED: 3,
  CONNECTED: 4,
  CONNECT_FAILED: 5,
  DATA: 6,
  END: 7,
  CLOSED: 8,
  DRAIN: 9,
  LOG: 10,
  UNLISTENED: 11,
} as const;

/** Bytes of a record header: u8 kind | u8 flags | u16 reserved | u32 id | u32 len. */
export const RECORD_HEADER_BYTES = 12;

/** fwn_set_option options (FWN_OPT_*). */
export const SocketOption = {
  NODELAY: 1,
  KEEPALIVE: 2,
} as const;

/** fwn_stats slots (FWN_STAT_*). */
export const StatSlot = {
  CONNECTIONS: 0,
  BYTES_IN: 1,
  BYTES_OUT: 2,
  BATCHES: 3,
  RX_PAUSES: 4,
  QUEUED_OUT: 5,
} as const;
export const STAT_COUNT = 6;

/** fwn_create refuses smaller batch buffers. */
export const MIN_BATCH_BYTES = 64 * 1024;
