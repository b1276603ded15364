/**
 * The rate-limit options (`rateLimit`, `inboundRateLimit`, `serverRateLimit`) and their checks.
 */
import { InvalidOptionError } from "../errors.ts";
import { integer, plainObject, rejectUnknownKeys } from "../validate.ts";

/**
 * A token bucket for outbound DATA: `bytesPerSecond` on average, up to `burstBytes` at once after
 * a quiet spell. Control frames (PING, PONG, ACK, GOAWAY) are neither throttled nor counted.
 * A message larger than `burstBytes` still goes, whole, once the bucket has gathered its size.
 * @example
 * await connect({ port, rateLimit: { bytesPerSecond: 1_000_000, burstBytes: 64 * 1024 } });
 */
export interface RateLimit {
  /** Average outbound rate, bytes of frames (headers included) per second. At least 1. */
  bytesPerSecond: number;
  /**
   * What may leave at once after a quiet spell (the bucket's size), in bytes. While messages wait
   * for tokens, what a late timer or a busy socket delayed is not lost: up to 100 ms of the rate
   * more than this may then leave at once, so the average stays at `bytesPerSecond`.
   * @default bytesPerSecond / 10 (100 ms worth), at least 1
   */
  burstBytes?: number;
  /** Also at most this many messages per second on average. @default no message limit */
  messagesPerSecond?: number;
  /**
   * Messages that may leave at once after a quiet spell (with `messagesPerSecond`).
   * @default messagesPerSecond / 10, at least 1
   */
  burstMessages?: number;
}

/** An inbound token bucket: reading from the socket pauses while it is empty (TCP then slows the peer). */
export interface InboundRateLimit {
  /** Average inbound rate, bytes read from the socket per second. At least 1. */
  bytesPerSecond: number;
  /**
   * What may be read at once after a quiet spell, in bytes. A read larger than this (runtimes read
   * up to 64–512 KiB at a time) is taken as a debt: reading then pauses until it is paid.
   * @default bytesPerSecond / 10 (100 ms worth), at least 1
   */
  burstBytes?: number;
}

/** A validated bucket: rate per second and capacity, for bytes and (optionally) messages. */
export interface ResolvedRateLimit {
  bytesPerSecond: number;
  burstBytes: number;
  messagesPerSecond: number | undefined;
  burstMessages: number | undefined;
}

const OUTBOUND_KEYS: ReadonlySet<string> = new Set(["bytesPerSecond", "burstBytes", "messagesPerSecond", "burstMessages"]);
const INBOUND_KEYS: ReadonlySet<string> = new Set(["bytesPerSecond", "burstBytes"]);
/** 1 TB/s: past that a limit means nothing, and the arithmetic stays far from float trouble. */
const MAX_RATE = 1e12;

/** Checks an outbound (`inbound` false) or inbound rate limit; undefined when absent. */
export function resolveRateLimit(name: string, value: unknown, inbound = false): ResolvedRateLimit | undefined {
  if (value === undefined) return undefined;
  plainObject(name, value);
  rejectUnknownKeys(value, inbound ? INBOUND_KEYS : OUTBOUND_KEYS, name);
  const v = value as Partial<RateLimit>;
  if (v.bytesPerSecond === undefined) throw new InvalidOptionError(`${name}.bytesPerSecond is required`);
  const bytesPerSecond = integer(`${name}.bytesPerSecond`, v.bytesPerSecond, 0, 1, MAX_RATE);
  const burstBytes = integer(`${name}.burstBytes`, v.burstBytes, Math.max(1, Math.floor(bytesPerSecond / 10)), 1, MAX_RATE);
  const messagesPerSecond = v.messagesPerSecond === undefined ? undefined : integer(`${name}.messagesPerSecond`, v.messagesPerSecond, 0, 1, MAX_RATE);
  if (v.burstMessages !== undefined && messagesPerSecond === undefined) throw new InvalidOptionError(`${name}.burstMessages needs messagesPerSecond`);
  const burstMessages =
    messagesPerSecond === undefined ? undefined : integer(`${name}.burstMessages`, v.burstMessages, Math.max(1, Math.floor(messagesPerSecond / 10)), 1, MAX_RATE);
  return { bytesPerSecond, burstBytes, messagesPerSecond, burstMessages };
}
