import type { SocketAdapter } from "./adapter.ts";
import { type Codec, type CodecName, resolveCodec } from "./codec/index.ts";
import { InvalidOptionError } from "./errors.ts";
import type { OverflowPolicy } from "./flow/outbound-queue.ts";
import { type InboundRateLimit, type RateLimit, type ResolvedRateLimit, resolveRateLimit } from "./flow/rate-limit-options.ts";
import { createFramer, type Framer, type FramingOptions } from "./framing/index.ts";
import { MAX_HANDSHAKE_FIELDS, MIN_FRAME_SIZE } from "./protocol/wire.ts";
import { MAX_HANDSHAKE_TAGS } from "./protocol/handshake-budget.ts";
import { CONNECTION_LIMIT_KEYS, type ConnectionLimitOptions, type ResolvedConnectionLimits, resolveConnectionLimits } from "./limits/options.ts";
import { boolean, describeValue, integer, oneOf, plainObject, rejectUnknownKeys, requireObject, stringRecord } from "./validate.ts";

/** Options shared by servers (for every accepted connection) and clients. */
export interface ConnectionOptions<T = unknown> extends ConnectionLimitOptions {
  /**
   * The sockets to use for this server or client instead of the ones the entry point is bound
   * to, e.g. `new NativeAdapter()` from `framewire/native`, or `new NodeAdapter()` to opt out of
   * automatic selection.
   * @default the entry point's adapter (`transport.adapter`)
   */
  adapter?: SocketAdapter;
  /**
   * How messages become bytes: `"buffer"` (Uint8Array as is), `"text"` (strict UTF-8), `"json"`,
   * `"cbor"`, or a codec object: your own `{ name, encode, decode }`, or `jsonCodec(limits)` /
   * `cborCodec(limits)` to change the decoding limits.
   * @default "buffer"
   */
  codec?: CodecName | Codec<T>;
  /**
   * `"framewire"`: handshake, heartbeat and graceful close over `u32 BE length | type | body`
   * frames (docs/protocol.md). `"raw"`: only your payloads, framed by `framing`, to talk to any
   * plain length-prefixed (or line-based) peer.
   * @default "framewire"
   */
  protocol?: "framewire" | "raw";
  /**
   * Framing for `protocol: "raw"` (the framewire protocol always uses a u32 big-endian length).
   * @default { type: "length-prefixed", headerBytes: 4, endian: "big" }
   */
  framing?: FramingOptions | Framer;
  /**
   * Largest message payload accepted from the peer, in bytes, at least 64. A larger header
   * closes the connection with `FW_FRAME_TOO_LARGE` before the body is read. framewire sends it
   * to the peer, which then refuses to send more (`send()` throws `FrameTooLargeError`).
   * @default 16 MiB
   */
  maxFrameSize?: number;
  /**
   * Outbound bytes above which `send()` answers `"backpressure"` and `drain` is due later.
   * @default 1 MiB
   */
  highWaterMark?: number;
  /**
   * Hard bound of the outbound queue in bytes (what the runtime's socket still holds counts too);
   * what happens past it is `overflow`.
   * @default 64 MiB
   */
  maxBufferedBytes?: number;
  /**
   * At `maxBufferedBytes`: `"error"` throws `QueueFullError` from `send()`, `"drop-newest"`
   * returns `"dropped"`, `"drop-oldest"` evicts the oldest unsent messages (a `drop` event and
   * `stats().drops` count them).
   * @default "error"
   */
  overflow?: OverflowPolicy;
  /**
   * Messages held for `for await` (when no `message` listener is attached). Reading from the
   * socket pauses when this many are waiting, and resumes when the consumer has taken half.
   * @default 1024
   */
  maxInboundMessages?: number;
  /**
   * Bytes held for `for await`; reading pauses at this bound too (one message is always accepted,
   * so at most this plus one message is held). A message weighs its payload bytes, plus 48 per
   * value for codecs that count what they decode (json, cbor): small payloads of many values
   * take far more memory decoded than on the wire.
   * @default 8 MiB
   */
  maxInboundBytes?: number;
  /**
   * framewire only: time allowed for HELLO/WELCOME before the socket is closed.
   * @default 10000
   */
  handshakeTimeoutMs?: number;
  /**
   * framewire only: PING interval. The server's value is sent in WELCOME and used by both
   * sides; 0 turns heartbeats off.
   * @default 15000
   */
  heartbeatIntervalMs?: number;
  /**
   * framewire only: close with `FW_HEARTBEAT_TIMEOUT` once nothing has arrived for this long. A
   * value below twice the interval makes this side ping every `heartbeatTimeoutMs / 2`, so an
   * answering peer is never taken for a dead one.
   * @default 2 × the heartbeat interval in force
   */
  heartbeatTimeoutMs?: number;
  /**
   * Grace for a closing connection to flush and for the peer to finish, before the socket is
   * destroyed.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Disable Nagle's algorithm (TCP_NODELAY). framewire already coalesces per tick.
   * @default true
   */
  noDelay?: boolean;
  /**
   * TCP keepalive: `false`, `true`, or the initial delay in ms.
   * @default false
   */
  keepAlive?: boolean | number;
  /**
   * Raw mode only: when the peer half-closes (FIN), keep our side open until `close()`; an `end`
   * event tells. Otherwise framewire flushes what is queued and closes. framewire mode always
   * closes after the peer's FIN (its GOAWAY says the peer is done).
   * @default false
   */
  allowHalfOpen?: boolean;
  /** framewire only: string tags sent in HELLO (client) or WELCOME (server); with `app`, at most 64 KiB of JSON. */
  tags?: Record<string, string>;
  /**
   * Outbound token bucket of each connection (see {@link RateLimit}): DATA frames wait in their
   * priority lanes until tokens allow, and count in `bufferedAmount` meanwhile.
   * @default no limit
   */
  rateLimit?: RateLimit;
  /**
   * Inbound token bucket of each connection (see {@link InboundRateLimit}): reading pauses while it is empty.
   * @default no limit
   */
  inboundRateLimit?: InboundRateLimit;
}

/** Validated options with defaults applied, as the core uses them. */
export interface ResolvedConnectionOptions {
  protocol: "framewire" | "raw";
  /** Raw mode: the framer (validated once; each connection makes its own decoder). */
  framer: Framer | undefined;
  maxFrameSize: number;
  highWaterMark: number;
  maxBufferedBytes: number;
  overflow: OverflowPolicy;
  maxInboundMessages: number;
  maxInboundBytes: number;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number | undefined;
  closeTimeoutMs: number;
  noDelay: boolean;
  keepAlive: boolean | number;
  allowHalfOpen: boolean;
  tags: Record<string, string>;
  /** Idle timeout, minimum receive rate, PONG budget (src/limits/options.ts). */
  limits: ResolvedConnectionLimits;
  rateLimit: ResolvedRateLimit | undefined;
  inboundRateLimit: ResolvedRateLimit | undefined;
}

export const MiB = 1024 * 1024;

/** Longest delay a timer takes: runtimes fire larger ones at once (they overflow a 32-bit int). */
export const MAX_TIMER_MS = 2_147_483_647;
/** Longest keepalive delay: the kernel's TCP_KEEPIDLE takes at most 32,767 s. */
const MAX_KEEPALIVE_MS = 32_767_000;

/** The keys of {@link ConnectionOptions}; `listen` and `connect` add their own. */
export const CONNECTION_OPTION_KEYS = [
  "adapter",
  "codec",
  "protocol",
  "framing",
  "maxFrameSize",
  "highWaterMark",
  "maxBufferedBytes",
  "overflow",
  "maxInboundMessages",
  "maxInboundBytes",
  "handshakeTimeoutMs",
  "heartbeatIntervalMs",
  "heartbeatTimeoutMs",
  "closeTimeoutMs",
  "noDelay",
  "keepAlive",
  "allowHalfOpen",
  "tags",
  ...CONNECTION_LIMIT_KEYS,
  "rateLimit",
  "inboundRateLimit",
] as const;

/**
 * Checks `options` for `where` (`"listen"` or `"connect"`): unknown keys, every value, and the
 * codec and raw framing (built once here, so a bad one fails now, not on the first socket).
 * `extraKeys` are the caller's own options, which it checks itself.
 */
export function resolveConnectionOptions(
  options: object,
  where: string,
  extraKeys: readonly string[],
): { resolved: ResolvedConnectionOptions; codec: Codec<unknown> } {
  plainObject(`${where} options`, options);
  rejectUnknownKeys(options, new Set<string>([...CONNECTION_OPTION_KEYS, ...extraKeys]), where);
  const o = options as ConnectionOptions<unknown>;
  const protocol = oneOf("protocol", o.protocol, ["framewire", "raw"], "framewire");
  if (protocol === "framewire" && o.framing !== undefined) {
    throw new InvalidOptionError(`framing applies to protocol "raw" only; framewire frames are fixed by the protocol`);
  }
  const maxFrameSize = integer("maxFrameSize", o.maxFrameSize, 16 * MiB, MIN_FRAME_SIZE, 0xffff_fffe);
  const highWaterMark = integer("highWaterMark", o.highWaterMark, MiB);
  const maxBufferedBytes = integer("maxBufferedBytes", o.maxBufferedBytes, 64 * MiB);
  if (maxBufferedBytes < highWaterMark) {
    throw new InvalidOptionError(`maxBufferedBytes (${maxBufferedBytes}) must be at least highWaterMark (${highWaterMark})`);
  }
  const keepAlive = o.keepAlive === undefined || typeof o.keepAlive === "boolean" ? (o.keepAlive ?? false) : integer("keepAlive", o.keepAlive, 0, 0, MAX_KEEPALIVE_MS);
  const tags = stringRecord("tags", o.tags);
  if (Object.keys(tags).length > MAX_HANDSHAKE_TAGS) throw new InvalidOptionError(`tags: at most ${MAX_HANDSHAKE_TAGS} fit a handshake`);
  if (protocol === "raw") {
    // Options of the framewire protocol mean nothing in raw mode: refuse them rather than ignore them.
    for (const key of ["tags", "handshakeTimeoutMs", "heartbeatIntervalMs", "heartbeatTimeoutMs"] as const) {
      if (o[key] !== undefined) throw new InvalidOptionError(`${key} belongs to the framewire protocol; protocol "raw" has no handshake or heartbeat`);
    }
  }
  // framewire closes after the peer's FIN (its GOAWAY said it is done): half-open is a raw-mode choice.
  if (protocol === "framewire" && o.allowHalfOpen !== undefined) {
    throw new InvalidOptionError(`allowHalfOpen applies to protocol "raw"; a framewire connection closes once the peer has sent FIN`);
  }
  const heartbeatTimeoutMs = o.heartbeatTimeoutMs === undefined ? undefined : integer("heartbeatTimeoutMs", o.heartbeatTimeoutMs, 0, 1, MAX_TIMER_MS);
  const resolved: ResolvedConnectionOptions = {
    protocol,
    framer: protocol === "raw" ? rawFramer(o.framing, o.maxFrameSize === undefined ? undefined : maxFrameSize) : undefined,
    maxFrameSize,
    highWaterMark,
    maxBufferedBytes,
    overflow: oneOf("overflow", o.overflow, ["error", "drop-newest", "drop-oldest"], "error"),
    maxInboundMessages: integer("maxInboundMessages", o.maxInboundMessages, 1024, 1),
    maxInboundBytes: integer("maxInboundBytes", o.maxInboundBytes, 8 * MiB, 1),
    handshakeTimeoutMs: integer("handshakeTimeoutMs", o.handshakeTimeoutMs, 10_000, 1, MAX_TIMER_MS),
    heartbeatIntervalMs: integer("heartbeatIntervalMs", o.heartbeatIntervalMs, 15_000, 0, MAX_TIMER_MS),
    heartbeatTimeoutMs,
    closeTimeoutMs: integer("closeTimeoutMs", o.closeTimeoutMs, 5_000, 0, MAX_TIMER_MS),
    noDelay: boolean("noDelay", o.noDelay, true),
    keepAlive,
    allowHalfOpen: boolean("allowHalfOpen", o.allowHalfOpen, false),
    tags,
    limits: resolveConnectionLimits(o, protocol, where === "listen"),
    rateLimit: resolveRateLimit("rateLimit", o.rateLimit),
    inboundRateLimit: resolveRateLimit("inboundRateLimit", o.inboundRateLimit, true),
  };
  return { resolved, codec: resolveCodec(o.codec) };
}

/** Throws unless the JSON of a handshake frame's fields fits {@link MAX_HANDSHAKE_FIELDS}. */
export function checkHandshakeFields(fields: unknown, what: string): void {
  const size = new TextEncoder().encode(JSON.stringify(fields)).length;
  // A little room for the frame's fixed bytes and the members framewire adds.
  if (size > MAX_HANDSHAKE_FIELDS - 256) {
    throw new InvalidOptionError(`${what} take ${size} bytes of JSON; the handshake allows ${MAX_HANDSHAKE_FIELDS - 256}`);
  }
}

/**
 * Raw mode framing, built and checked now. The top-level `maxFrameSize` (when given) is the
 * length-prefixed framing's limit; giving it with a framing that has no length header, or
 * together with the framing's own `maxFrameSize`, is an error instead of an option ignored.
 */
function rawFramer(framing: FramingOptions | Framer | undefined, maxFrameSize: number | undefined): Framer {
  if (framing === undefined) return createFramer({ type: "length-prefixed", ...(maxFrameSize !== undefined ? { maxFrameSize } : { maxFrameSize: 16 * MiB }) });
  requireObject("framing", framing);
  if (maxFrameSize !== undefined) {
    if ("createDecoder" in framing || framing.type !== "length-prefixed") {
      throw new InvalidOptionError(`maxFrameSize applies to length-prefixed framing; a delimiter framing has maxLineLength, a custom framer its own limit`);
    }
    if (framing.maxFrameSize !== undefined) throw new InvalidOptionError("give maxFrameSize once: at the top level or in framing, not both");
    return createFramer({ ...framing, maxFrameSize });
  }
  if (!("createDecoder" in framing) && framing.type === "length-prefixed" && framing.maxFrameSize === undefined) {
    return createFramer({ ...framing, maxFrameSize: 16 * MiB });
  }
  return createFramer(framing);
}

/**
 * `value` as a SocketAdapter, checked by shape.
 * @throws InvalidOptionError (naming `what`) when it is not one
 */
export function checkAdapter(value: unknown, what: string): SocketAdapter {
  const candidate = value as Partial<SocketAdapter> | null;
  if (typeof candidate !== "object" || candidate === null || typeof candidate.listen !== "function" || typeof candidate.connect !== "function" || typeof candidate.capabilities !== "object") {
    throw new InvalidOptionError(`${what} must be a SocketAdapter (an object with listen, connect and capabilities), got ${describeValue(value)}`);
  }
  return candidate as SocketAdapter;
}

/**
 * The adapter a `listen` / `connect` call runs on: its `adapter` option, checked, or `bound` (the
 * entry point's).
 * @throws InvalidOptionError when `adapter` is not an adapter
 */
export function chooseAdapter(bound: SocketAdapter, options: { readonly adapter?: unknown } | undefined): SocketAdapter {
  const chosen = options?.adapter;
  return chosen === undefined ? bound : checkAdapter(chosen, "adapter");
}
