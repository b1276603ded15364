/**
 * The `resume` option of `listen` and `connect`: resumable sessions (docs/protocol.md §13), with
 * the bounds each side keeps.
 */
import { InvalidOptionError } from "../errors.ts";
import { MAX_TIMER_MS } from "../options.ts";
import { integer, plainObject, rejectUnknownKeys } from "../validate.ts";

export interface ResumeOptions {
  /**
   * DATA bytes sent and not yet acknowledged that this side keeps to send again. Past half of it
   * `send()` answers `"backpressure"`; a send that would pass it is refused as the overflow
   * policy says (`QueueFullError`, or `"dropped"`). It must cover what is in flight: loopback and
   * fast links hold several MiB in kernel buffers, and a smaller bound stalls the sender on ACKs.
   * @default 16777216 (16 MiB)
   */
  maxUnackedBytes?: number;
  /**
   * Acknowledge after this many DATA frames received.
   * @default 512
   */
  ackEveryMessages?: number;
  /**
   * Acknowledge after this many DATA bytes received (or a quarter of the peer's `maxUnackedBytes`, if less).
   * @default 65536
   */
  ackEveryBytes?: number;
  /**
   * Acknowledge at the latest this long after the first unacknowledged frame.
   * @default 20
   */
  ackDelayMs?: number;
}

export interface ServerResumeOptions extends ResumeOptions {
  /**
   * How long a session whose connection was lost waits for its client to come back.
   * @default 30000
   */
  sessionTtlMs?: number;
  /**
   * Sessions waiting at most; past it the one waiting longest is discarded.
   * @default 1000
   */
  maxDetachedSessions?: number;
  /**
   * Unacknowledged bytes all waiting sessions keep at most; past it the one waiting longest is discarded.
   * @default 67108864 (64 MiB)
   */
  maxDetachedBytes?: number;
}

export interface ResolvedResume {
  maxUnackedBytes: number;
  ackEveryMessages: number;
  ackEveryBytes: number;
  ackDelayMs: number;
  sessionTtlMs: number;
  maxDetachedSessions: number;
  maxDetachedBytes: number;
}

const CLIENT_KEYS: ReadonlySet<string> = new Set(["maxUnackedBytes", "ackEveryMessages", "ackEveryBytes", "ackDelayMs"]);
const SERVER_KEYS: ReadonlySet<string> = new Set([...CLIENT_KEYS, "sessionTtlMs", "maxDetachedSessions", "maxDetachedBytes"]);

/** `undefined`/`false`: off. */
export function resolveResume(value: unknown, side: "listen" | "connect", protocol: string, overflow: string): ResolvedResume | undefined {
  if (value === undefined || value === false) return undefined;
  if (protocol !== "framewire") throw new InvalidOptionError(`resume is part of the framewire protocol; protocol "${protocol}" has no handshake to agree on it`);
  // Evicting a queued message would shift the implicit numbering of everything after it.
  if (overflow === "drop-oldest") throw new InvalidOptionError(`resume cannot be combined with overflow "drop-oldest": a sent message's number must never change; use "error" or "drop-newest"`);
  const o = (value === true ? {} : value) as ServerResumeOptions;
  if (value !== true) {
    plainObject("resume", value);
    rejectUnknownKeys(value, side === "listen" ? SERVER_KEYS : CLIENT_KEYS, "resume");
  }
  return {
    // At most 4 GiB - 1: a larger local log is of no use, and counts stay in 32 bits.
    maxUnackedBytes: integer("resume.maxUnackedBytes", o.maxUnackedBytes, 16 * 1024 * 1024, 1024, 0xffff_ffff),
    ackEveryMessages: integer("resume.ackEveryMessages", o.ackEveryMessages, 512, 1),
    ackEveryBytes: integer("resume.ackEveryBytes", o.ackEveryBytes, 64 * 1024, 1),
    ackDelayMs: integer("resume.ackDelayMs", o.ackDelayMs, 20, 1, MAX_TIMER_MS),
    sessionTtlMs: integer("resume.sessionTtlMs", o.sessionTtlMs, 30_000, 1, MAX_TIMER_MS),
    maxDetachedSessions: integer("resume.maxDetachedSessions", o.maxDetachedSessions, 1000, 1),
    maxDetachedBytes: integer("resume.maxDetachedBytes", o.maxDetachedBytes, 64 * 1024 * 1024, 0),
  };
}
