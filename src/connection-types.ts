/** The public shapes of a connection: what `send()` answers, its events, stats and close info. */
import type { AnyCode } from "./codes.ts";
import type { FramewireError } from "./errors.ts";
import type { Undelivered } from "./flow/undelivered.ts";
import type { Reason } from "./protocol/wire.ts";

/** What `send()` did with a message. Only `"queued"` and `"backpressure"` mean it will be sent. */
export type SendStatus =
  /** Queued; the queue is below `highWaterMark`. */
  | "queued"
  /** Queued, but the queue is at or above `highWaterMark`: wait for `drain` before sending more. */
  | "backpressure"
  /** Not queued: the queue was full and the overflow policy is `"drop-newest"` (or nothing could be evicted). */
  | "dropped"
  /** Not queued: the connection is closing or closed. */
  | "closed"
  /** Not queued: a reconnecting client has no connection and its offline queue is off (`offline: false`). */
  | "offline";

/** `"handshaking"` (framewire, before WELCOME), `"open"`, `"closing"` (GOAWAY/FIN under way) or `"closed"`. */
export type ConnectionState = "handshaking" | "open" | "closing" | "closed";

/** Why a connection closed. */
export interface CloseInfo {
  /**
   * `FW_NORMAL` for an orderly close, `FW_PEER_CLOSED` for a FIN without GOAWAY, otherwise an
   * error code such as `FW_FRAME_TOO_LARGE`, or an application's code given to `close()`.
   */
  code: AnyCode;
  /** Text for logs. From a peer it is cut to 256 bytes and stripped of control characters. */
  reason: string;
  /** True when the peer chose to close: its GOAWAY (then `code` is the peer's), REJECT or FIN. */
  remote: boolean;
  /** The error that closed the connection, when there was one; a `PeerError` when the peer closed with an error code. */
  error?: FramewireError;
}

export interface ConnectionStats {
  /** Messages received (DATA frames; control frames are not counted). */
  framesIn: number;
  /** Messages queued for sending (minus those evicted by `drop-oldest`). */
  framesOut: number;
  /** Bytes read from the socket. */
  bytesIn: number;
  /** Bytes the socket accepted. */
  bytesOut: number;
  /**
   * Bytes not yet handed to the kernel: queued by framewire, or held by the runtime's socket until
   * written (Node, Deno). What `highWaterMark` and `maxBufferedBytes` bound.
   */
  bufferedAmount: number;
  /** Messages waiting for async iteration. */
  inboundQueued: number;
  /** Payload bytes of the messages waiting for async iteration. */
  inboundQueuedBytes: number;
  /** Messages not sent because of the overflow policy (dropped or evicted). */
  drops: number;
  /** Messages that were queued when the connection closed and never reached the kernel (see the `undelivered` event). */
  undelivered: number;
  /** Last measured round-trip time (framewire heartbeat), ms; undefined before the first PONG. */
  rttMs: number | undefined;
  /** Smoothed round-trip time (EWMA, 1/8 gain), ms. */
  srttMs: number | undefined;
}

/** Options of `messages()`. */
export interface MessagesOptions {
  /**
   * Leaving the loop early only releases the iterator: the connection stays open and later
   * messages wait (bounded by `maxInboundMessages`/`maxInboundBytes`; reading pauses) for the
   * next consumer. Without it, leaving early closes the connection in order.
   * @default false
   */
  keepOpen?: boolean;
}

/**
 * A connection's events. Every listener may be async: a returned promise that rejects counts as
 * a throw. A `message`, `drain`, `drop`, `goaway` or `end` listener that throws or rejects closes
 * this connection with `FW_HANDLER_ERROR` (the peer only learns which kind of listener failed);
 * an `error` or `close` listener's failure is dropped, since the connection is closing anyway.
 */
export type ConnectionEvents<T> = {
  /** A decoded message arrived. */
  message: (message: T) => void;
  /** `bufferedAmount` fell below `highWaterMark` after a send returned `"backpressure"`. */
  drain: () => void;
  /**
   * Queued messages were let go: `drop-oldest` evicted them to make room (`reason` absent or
   * `"overflow"`), they waited in a client's offline queue past `offline.ttlMs` (`"expired"`),
   * or the server the client reconnected to cannot take them (`"refused"`: above its `maxFrameSize`).
   */
  drop: (info: { messages: number; bytes: number; reason?: "overflow" | "expired" | "refused" }) => void;
  /**
   * The connection closed with messages still queued that never reached the kernel (an abrupt
   * close: a reset, `destroy()`, a timeout). Emitted once, just before `close`. Messages the
   * kernel had taken are not counted: without resumable sessions their fate is unknown.
   */
  undelivered: (info: Undelivered) => void;
  /** The peer sent GOAWAY: it will send nothing more; this side flushes and closes. */
  goaway: (reason: Reason) => void;
  /** The peer half-closed (FIN). With `allowHalfOpen` (raw mode) this side may still send until `close()`. */
  end: () => void;
  /** A local error on this connection; it is followed by `close`. Never thrown, never fatal to the process. */
  error: (error: FramewireError) => void;
  /** The connection is closed. Emitted exactly once. */
  close: (info: CloseInfo) => void;
};
