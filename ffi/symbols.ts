/**
 * The native library's ABI (zig/include/framewire_native.h, version 1) in one table: each loader
 * (bun.ts, node.ts, deno.ts) derives its bindings from {@link SYMBOLS}, and the constants mirror
 * the header's (test/native/abi.test.ts compares them with it).
 */

/** Parameter and result types, in the loaders' common denominator. */
export type AbiType = "u32" | "i32" | "i64" | "pointer" | "buffer" | "void";

export interface SymbolSpec {
  readonly parameters: readonly AbiType[];
  readonly result: AbiType;
  /** Called off the JS thread by loaders that cannot take a foreign-thread callback (koffi `.async`, Deno `nonblocking`). */
  readonly blocking?: true;
}

/** `pointer` is the context handle; `buffer` a Uint8Array (or null) whose bytes the call reads or fills. */
export const SYMBOLS = {
  fwn_abi_version: { parameters: [], result: "u32" },
  fwn_create: { parameters: ["u32", "u32", "pointer"], result: "pointer" },
  fwn_start: { parameters: ["pointer"], result: "i32" },
  fwn_listen: { parameters: ["pointer", "u32", "buffer", "i32", "buffer", "i32"], result: "i32" },
  fwn_unlisten: { parameters: ["pointer", "u32"], result: "i32" },
  fwn_connect: { parameters: ["pointer", "u32", "buffer", "i32", "buffer", "buffer", "i32", "buffer"], result: "i32" },
  fwn_connect_abort: { parameters: ["pointer", "u32"], result: "i32" },
  fwn_send: { parameters: ["pointer", "u32", "buffer", "u32"], result: "i32" },
  fwn_end: { parameters: ["pointer", "u32"], result: "i32" },
  fwn_close: { parameters: ["pointer", "u32"], result: "i32" },
  fwn_pause: { parameters: ["pointer", "u32", "i32"], result: "i32" },
  fwn_set_option: { parameters: ["pointer", "u32", "i32", "i32"], result: "i32" },
  fwn_inbuf: { parameters: ["pointer", "i32"], result: "pointer" },
  fwn_swap: { parameters: ["pointer"], result: "i64" },
  fwn_wait: { parameters: ["pointer", "i32"], result: "i32", blocking: true },
  fwn_stats: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  fwn_stop: { parameters: ["pointer"], result: "i32" },
  fwn_free: { parameters: ["pointer"], result: "i32" },
} as const satisfies Record<string, SymbolSpec>;

export type SymbolName = keyof typeof SYMBOLS;

export const ABI_VERSION = 1;

/** Event record kinds (FWN_EV_*). */
export const Record = {
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

/** Bytes of a record's header: u8 kind | u8 flags | u16 reserved | u32 id | u32 len (little-endian). */
export const RECORD_HEADER = 12;

/** fwn_set_option options (FWN_OPT_*). */
export const SocketOption = { NODELAY: 1, KEEPALIVE: 2 } as const;

/** fwn_stats slots (FWN_STAT_*). */
export const Stat = { CONNECTIONS: 0, BYTES_IN: 1, BYTES_OUT: 2, BATCHES: 3, RX_PAUSES: 4, QUEUED_OUT: 5, COUNT: 6 } as const;

/** Negative results (FWN_ERR_*). */
export const AbiError = { CLOSED: -1, STOPPED: -2, INVALID: -3, NOMEM: -4, THREAD: -5 } as const;
