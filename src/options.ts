import type { Codec, CodecName } from "./codec/index.ts";
import { InvalidOptionError } from "./errors.ts";
import type { OverflowPolicy } from "./flow/outbound-queue.ts";
import type { Framer, FramingOptions } from "./framing/index.ts";

/** Options shared by servers (for every accepted connection) and clients. */
export interface ConnectionOptions<T = unknown> {
  /**
   * How messages become bytes: `"buffer"` (Uint8Array as is), `"text"` (strict UTF-8), `"json"`,
   * `"cbor"`, or your own `{ name, encode, decode }`.
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
   * Largest message payload accepted from the peer, in bytes; a larger header closes the
   * connection with `FW_FRAME_TOO_LARGE` before the body is read. Sending a larger message throws.
   * @default 16 MiB
   */
  maxFrameSize?: number;
  /**
   * Outbound bytes above which `send()` answers `"backpressure"` and `drain` is due later.
   * @default 1 MiB
   */
  highWaterMark?: number;
  /**
   * Hard bound of the outbound queue in bytes; what happens past it is `overflow`.
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
   * Messages held for async iteration when no `message` listener is attached; reading pauses
   * when it is full and resumes when the consumer has taken half.
   * @default 1024
   */
  maxInboundMessages?: number;
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
   * framewire only: close with `FW_HEARTBEAT_TIMEOUT` after this long without any inbound frame.
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
   * When the peer half-closes (FIN), keep our side open until `close()`; an `end` event tells.
   * Otherwise framewire flushes what is queued and closes.
   * @default false
   */
  allowHalfOpen?: boolean;
  /** framewire only: string tags sent in HELLO (client) or WELCOME (server). */
  tags?: Record<string, string>;
}

/** Validated options with defaults applied, as the core uses them. */
export interface ResolvedConnectionOptions {
  protocol: "framewire" | "raw";
  framing: FramingOptions | Framer | undefined;
  maxFrameSize: number;
  highWaterMark: number;
  maxBufferedBytes: number;
  overflow: OverflowPolicy;
  maxInboundMessages: number;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number | undefined;
  closeTimeoutMs: number;
  noDelay: boolean;
  keepAlive: boolean | number;
  allowHalfOpen: boolean;
  tags: Record<string, string>;
}

export const MiB = 1024 * 1024;

export function resolveConnectionOptions(options: ConnectionOptions<never> | ConnectionOptions<unknown>): ResolvedConnectionOptions {
  const protocol = options.protocol ?? "framewire";
  if (protocol !== "framewire" && protocol !== "raw") {
    throw new InvalidOptionError(`protocol must be "framewire" or "raw", got ${String(protocol)}`);
  }
  if (protocol === "framewire" && options.framing !== undefined) {
    throw new InvalidOptionError(`framing applies to protocol "raw" only; framewire frames are fixed by the protocol`);
  }
  const overflow = options.overflow ?? "error";
  if (overflow !== "error" && overflow !== "drop-newest" && overflow !== "drop-oldest") {
    throw new InvalidOptionError(`overflow must be "error", "drop-newest" or "drop-oldest", got ${String(overflow)}`);
  }
  const maxFrameSize = count("maxFrameSize", options.maxFrameSize, 16 * MiB);
  const highWaterMark = count("highWaterMark", options.highWaterMark, MiB);
  const maxBufferedBytes = count("maxBufferedBytes", options.maxBufferedBytes, 64 * MiB);
  if (maxBufferedBytes < highWaterMark) {
    throw new InvalidOptionError(`maxBufferedBytes (${maxBufferedBytes}) must be at least highWaterMark (${highWaterMark})`);
  }
  const keepAlive = options.keepAlive ?? false;
  if (typeof keepAlive !== "boolean") count("keepAlive", keepAlive, 0);
  return {
    protocol,
    framing: options.framing,
    maxFrameSize,
    highWaterMark,
    maxBufferedBytes,
    overflow,
    maxInboundMessages: Math.max(1, count("maxInboundMessages", options.maxInboundMessages, 1024)),
    handshakeTimeoutMs: count("handshakeTimeoutMs", options.handshakeTimeoutMs, 10_000),
    heartbeatIntervalMs: count("heartbeatIntervalMs", options.heartbeatIntervalMs, 15_000),
    heartbeatTimeoutMs:
      options.heartbeatTimeoutMs === undefined ? undefined : count("heartbeatTimeoutMs", options.heartbeatTimeoutMs, 0),
    closeTimeoutMs: count("closeTimeoutMs", options.closeTimeoutMs, 5_000),
    noDelay: options.noDelay ?? true,
    keepAlive,
    allowHalfOpen: options.allowHalfOpen ?? false,
    tags: { ...(options.tags ?? {}) },
  };
}

/** A non-negative safe integer option, or its default. */
export function count(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidOptionError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
