/**
 * The limits a connection and a server enforce against peers that stall, trickle or flood
 * (docs/security.md): their options, defaults and validation. `src/options.ts` and
 * `src/server-options.ts` take these in; the enforcing parts live next to this file.
 */
import { InvalidOptionError } from "../errors.ts";
import { integer, plainObject, rejectUnknownKeys } from "../validate.ts";

const MiB = 1024 * 1024;
/** Longest delay a timer takes (runtimes fire larger ones at once). */
const MAX_TIMER_MS = 2_147_483_647;

/** The minimum rate a frame that has begun must keep arriving at (see {@link ConnectionLimitOptions.minReceiveRate}). */
export interface MinReceiveRate {
  /** Bytes per second, averaged over `windowMs`. */
  bytesPerSecond: number;
  /** The window the rate is measured over, in ms; a link may stall for shorter spells. */
  windowMs: number;
}

/** How many new connections one remote address may open per window (see {@link ServerLimitOptions.connectionRate}). */
export interface ConnectionRate {
  /** Connection attempts allowed per address (an IPv6 /64 counts as one address) in each window. */
  perAddress: number;
  /** The window, in ms. */
  windowMs: number;
}

/** Limits of every connection, server and client side. */
export interface ConnectionLimitOptions {
  /**
   * Closes the connection with `FW_IDLE_TIMEOUT` when no byte has moved in either direction (none
   * received, none taken by the kernel) for this long; 0 turns it off. Raw mode included, which
   * has no heartbeat. Checked every half of it, so it fires between 1× and 1.5× the value.
   * While this side itself pauses reading, the connection does not count as idle.
   * @default 300000 (5 minutes) on a server, 0 (off) on a client
   */
  idleTimeoutMs?: number;
  /**
   * A frame that has begun arriving (a length header or part of a body, a delimited line without
   * its delimiter) must keep arriving at least this fast, measured over `windowMs`, or the
   * connection closes with `FW_SLOW_PEER`. Stops a peer that announces a large frame and then
   * sends a byte every few seconds to hold the connection and the partial frame forever (any byte
   * keeps the heartbeat happy). Between frames nothing is asked. `false` turns it off. With the
   * default, a byte every 5 s is cut within 10–20 s, while any link faster than 1 KiB/s (averaged
   * over 10 s) delivers: a 16 MiB frame at 64 KiB/s takes 4.3 minutes and is never cut. While this
   * side pauses reading, the window starts over.
   * @default { bytesPerSecond: 1024, windowMs: 10000 }
   */
  minReceiveRate?: MinReceiveRate | false;
  /**
   * framewire only: at most this many PINGs per second get a PONG (a burst of as many is
   * allowed); later ones within the second get none, and are otherwise ignored. An honest peer
   * pings once per heartbeat interval; liveness counts any byte, so an unanswered PING costs it
   * only a round-trip sample. (Besides, a PING gets no PONG while our last PONG is unwritten.)
   * @default 20
   */
  maxPongsPerSecond?: number;
}

/** Limits of a server, over all its connections. */
export interface ServerLimitOptions {
  /**
   * Connections one remote address may hold at once (handshaking or open; IPv6 addresses count
   * per /64, IPv4-mapped ones as IPv4). Further ones are refused with `FW_ADDRESS_LIMIT`.
   * @default 256
   */
  maxConnectionsPerAddress?: number;
  /**
   * New connections one remote address may open per window; further ones are refused with
   * `FW_RATE_LIMITED` (a refused attempt counts too). `false` turns it off. The table of
   * addresses is bounded: at most `maxConnections` addresses with connections plus 16 384
   * without, the oldest of those forgotten first.
   * @default { perAddress: 128, windowMs: 1000 }
   */
  connectionRate?: ConnectionRate | false;
  /**
   * Bytes of partially received frames the server holds over all its connections. A connection
   * whose frame would take the total past it closes with `FW_PENDING_BUDGET`. One connection holds
   * at most one partial frame, so at most `maxFrameSize` of it (Deno, reading a large frame's
   * second half in place, up to twice what arrived).
   * @default 256 MiB
   */
  maxPendingFrameBytes?: number;
}

export interface ResolvedConnectionLimits {
  idleTimeoutMs: number;
  minReceiveRate: MinReceiveRate | undefined;
  maxPongsPerSecond: number;
}

export interface ResolvedServerLimits {
  maxConnectionsPerAddress: number;
  connectionRate: ConnectionRate | undefined;
  maxPendingFrameBytes: number;
}

export const CONNECTION_LIMIT_KEYS = ["idleTimeoutMs", "minReceiveRate", "maxPongsPerSecond"] as const;
export const SERVER_LIMIT_KEYS = ["maxConnectionsPerAddress", "connectionRate", "maxPendingFrameBytes"] as const;

/** The server's idle default: a client chose its peer, a server faces whoever connects. */
export const SERVER_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_MIN_RECEIVE_RATE: Readonly<MinReceiveRate> = { bytesPerSecond: 1024, windowMs: 10_000 };
export const DEFAULT_CONNECTION_RATE: Readonly<ConnectionRate> = { perAddress: 128, windowMs: 1000 };

const RATE_KEYS: ReadonlySet<string> = new Set(["bytesPerSecond", "windowMs"]);
const CONNECTION_RATE_KEYS: ReadonlySet<string> = new Set(["perAddress", "windowMs"]);

/** Checks the connection limits of `listen` (`server`) or `connect` options. */
export function resolveConnectionLimits(options: ConnectionLimitOptions, protocol: "framewire" | "raw", server: boolean): ResolvedConnectionLimits {
  if (protocol === "raw" && options.maxPongsPerSecond !== undefined) {
    throw new InvalidOptionError(`maxPongsPerSecond belongs to the framewire protocol; protocol "raw" has no PING`);
  }
  return {
    idleTimeoutMs: integer("idleTimeoutMs", options.idleTimeoutMs, server ? SERVER_IDLE_TIMEOUT_MS : 0, 0, MAX_TIMER_MS),
    minReceiveRate: minReceiveRate(options.minReceiveRate),
    maxPongsPerSecond: integer("maxPongsPerSecond", options.maxPongsPerSecond, 20, 1, 1_000_000),
  };
}

/** Checks a server's own limits. */
export function resolveServerLimits(options: ServerLimitOptions): ResolvedServerLimits {
  return {
    maxConnectionsPerAddress: integer("maxConnectionsPerAddress", options.maxConnectionsPerAddress, 256, 1),
    connectionRate: connectionRate(options.connectionRate),
    maxPendingFrameBytes: integer("maxPendingFrameBytes", options.maxPendingFrameBytes, 256 * MiB, 1),
  };
}

function minReceiveRate(value: MinReceiveRate | false | undefined): MinReceiveRate | undefined {
  if (value === false) return undefined;
  if (value === undefined) return { ...DEFAULT_MIN_RECEIVE_RATE };
  plainObject("minReceiveRate", value);
  rejectUnknownKeys(value, RATE_KEYS, "minReceiveRate");
  return {
    bytesPerSecond: integer("minReceiveRate.bytesPerSecond", value.bytesPerSecond, DEFAULT_MIN_RECEIVE_RATE.bytesPerSecond, 1),
    windowMs: integer("minReceiveRate.windowMs", value.windowMs, DEFAULT_MIN_RECEIVE_RATE.windowMs, 10, MAX_TIMER_MS),
  };
}

function connectionRate(value: ConnectionRate | false | undefined): ConnectionRate | undefined {
  if (value === false) return undefined;
  if (value === undefined) return { ...DEFAULT_CONNECTION_RATE };
  plainObject("connectionRate", value);
  rejectUnknownKeys(value, CONNECTION_RATE_KEYS, "connectionRate");
  return {
    perAddress: integer("connectionRate.perAddress", value.perAddress, DEFAULT_CONNECTION_RATE.perAddress, 1),
    windowMs: integer("connectionRate.windowMs", value.windowMs, DEFAULT_CONNECTION_RATE.windowMs, 1, MAX_TIMER_MS),
  };
}
