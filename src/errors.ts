/**
 * Every error framewire raises or emits is a {@link FramewireError} with a stable `code`
 * (src/codes.ts). Switch on `code`, never on `message`: messages may be reworded, codes never change.
 */

export { type AnyCode, type ApplicationCode, CloseCode, ErrorCode } from "./codes.ts";
import { type AnyCode, ErrorCode } from "./codes.ts";

/** Base class of every framewire error. */
export class FramewireError extends Error {
  override readonly name: string = "FramewireError";
  /** Stable machine-readable code, e.g. `"FW_FRAME_TOO_LARGE"`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A frame or line exceeded its configured limit. Closes the connection that received it. */
export class FrameTooLargeError extends FramewireError {
  override readonly name = "FrameTooLargeError";
  constructor(
    readonly size: number,
    readonly limit: number,
    code: ErrorCode = ErrorCode.FRAME_TOO_LARGE,
  ) {
    super(code, `frame of ${size} bytes exceeds the limit of ${limit} bytes`);
  }
}

/** Bytes that cannot be parsed as a frame. Closes the connection that received them. */
export class MalformedFrameError extends FramewireError {
  override readonly name = "MalformedFrameError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.MALFORMED_FRAME, message, options);
  }
}

/** A codec failed. On receive this closes the connection; on send it is thrown to the caller. */
export class CodecError extends FramewireError {
  override readonly name = "CodecError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.CODEC, message, options);
  }
}

/** The peer violated the framewire protocol. */
export class ProtocolError extends FramewireError {
  override readonly name = "ProtocolError";
  constructor(message: string, code: ErrorCode = ErrorCode.PROTOCOL) {
    super(code, message);
  }
}

/** The handshake failed locally: timeout or no common version. */
export class HandshakeError extends FramewireError {
  override readonly name: string = "HandshakeError";
}

/**
 * The server answered HELLO with REJECT. `reasonCode` is the server's code (its own, e.g.
 * `"BAD_TOKEN"`, or framewire's, e.g. `"FW_SERVER_FULL"`); `reason` its text, made safe to log.
 */
export class HandshakeRejectedError extends HandshakeError {
  override readonly name: string = "HandshakeRejectedError";
  constructor(
    readonly reasonCode: AnyCode,
    readonly reason: string,
  ) {
    super(ErrorCode.HANDSHAKE_REJECTED, `handshake rejected: ${reasonCode}${reason ? `: ${reason}` : ""}`);
  }
}

/** The peer went silent past the heartbeat timeout. */
export class HeartbeatTimeoutError extends FramewireError {
  override readonly name = "HeartbeatTimeoutError";
  constructor(readonly silentMs: number) {
    super(ErrorCode.HEARTBEAT_TIMEOUT, `peer silent for ${Math.round(silentMs)} ms`);
  }
}

/**
 * A user-supplied handler threw or its promise rejected. The original error is the `cause`; its
 * text stays local: the peer is only told which kind of handler failed (see {@link reasonForPeer}).
 */
export class HandlerError extends FramewireError {
  override readonly name = "HandlerError";
  /** Which handler failed, e.g. `"message listener"`, `"verifyHandshake"`. */
  readonly where: string;
  constructor(where: string, cause: unknown) {
    super(ErrorCode.HANDLER, `${where} failed: ${describe(cause)}`, { cause });
    this.where = where;
  }
}

/** `send()` with overflow policy `"error"` on a full outbound queue. Nothing was queued. */
export class QueueFullError extends FramewireError {
  override readonly name = "QueueFullError";
  constructor(
    readonly bufferedAmount: number,
    readonly limit: number,
  ) {
    super(ErrorCode.QUEUE_FULL, `outbound queue full: ${bufferedAmount} bytes buffered, limit ${limit}`);
  }
}

/** The operation needs an open connection. */
export class ConnectionClosedError extends FramewireError {
  override readonly name = "ConnectionClosedError";
  constructor(message = "connection is closed") {
    super(ErrorCode.CLOSED, message);
  }
}

/** A reconnecting client gave up after `attempts` attempts; `cause` is the last one's error. */
export class ReconnectFailedError extends FramewireError {
  override readonly name = "ReconnectFailedError";
  constructor(
    readonly attempts: number,
    cause?: FramewireError,
  ) {
    super(ErrorCode.RECONNECT_FAILED, `gave up reconnecting after ${attempts} attempts${cause ? `: ${cause.message}` : ""}`, cause ? { cause } : undefined);
  }
}

/** A resumable session ended before the peer acknowledged everything (`sessionId` says which). */
export class SessionExpiredError extends FramewireError {
  override readonly name = "SessionExpiredError";
  constructor(
    readonly sessionId: string,
    message = `session ${sessionId} expired`,
  ) {
    super(ErrorCode.SESSION_EXPIRED, message);
  }
}

/** `connect()` timed out. */
export class ConnectTimeoutError extends FramewireError {
  override readonly name = "ConnectTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(ErrorCode.CONNECT_TIMEOUT, `connect timed out after ${timeoutMs} ms`);
  }
}

/** The runtime socket failed (refused, reset, bind error). The runtime's error is the `cause`. */
export class SocketError extends FramewireError {
  override readonly name = "SocketError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.SOCKET, message, options);
  }
}

/** The chosen adapter or runtime cannot do what an option asks. */
export class UnsupportedError extends FramewireError {
  override readonly name = "UnsupportedError";
  constructor(message: string) {
    super(ErrorCode.UNSUPPORTED, message);
  }
}

/** The native library cannot be used: not found, not loadable, another ABI version (`reason` says which). */
export class NativeUnavailableError extends FramewireError {
  override readonly name = "NativeUnavailableError";
  constructor(
    /** Why, e.g. "no file at /x/libframewire_native.so". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(ErrorCode.NATIVE_UNAVAILABLE, `the native library is unavailable: ${reason}`, options);
  }
}

/** An option or argument failed validation; nothing was done. */
export class InvalidOptionError extends FramewireError {
  override readonly name = "InvalidOptionError";
  constructor(message: string) {
    super(ErrorCode.INVALID_OPTION, message);
  }
}

/** An API was used in a way that cannot work (e.g. two consumers of one connection's messages). */
export class InvalidUseError extends FramewireError {
  override readonly name = "InvalidUseError";
  constructor(message: string) {
    super(ErrorCode.INVALID_USE, message);
  }
}

/**
 * The peer closed with an error code (GOAWAY with a code other than `FW_NORMAL`/`FW_SHUTDOWN`).
 * The failure happened at the peer, so it is not emitted as an `error` event: it is the close
 * info's `error`, with `remote: true`. `peerCode` and `peerReason` are what the peer said,
 * checked and made safe to log; a peer can still claim any well-formed code, so treat them as
 * the peer's word.
 */
export class PeerError extends FramewireError {
  override readonly name = "PeerError";
  constructor(
    readonly peerCode: AnyCode,
    readonly peerReason: string,
  ) {
    super(ErrorCode.PEER_ERROR, `peer closed with ${peerCode}${peerReason ? `: ${peerReason}` : ""}`);
  }
}

/**
 * The reason text sent to the peer for a local error. framewire's own messages describe what the
 * peer did and are sent as they are; a failing handler's text is the application's and may hold
 * secrets (database errors, paths), so the peer only learns which handler failed.
 */
export function reasonForPeer(error: FramewireError): string {
  if (error instanceof HandlerError) return `${error.where} failed`;
  return error.message;
}

/** Wraps anything thrown into a FramewireError, keeping the original as `cause`. */
export function toFramewireError(error: unknown, code: ErrorCode = ErrorCode.SOCKET): FramewireError {
  if (error instanceof FramewireError) return error;
  if (code === ErrorCode.SOCKET) return new SocketError(describe(error), { cause: error });
  if (code === ErrorCode.MALFORMED_FRAME) return new MalformedFrameError(describe(error), { cause: error });
  return new FramewireError(code, describe(error), { cause: error });
}

/**
 * A thrown value as text, whatever it is: `String()` itself throws for `Object.create(null)` or a
 * `toString` that throws, and a failure here would escape the very handler that reports errors.
 */
function describe(value: unknown): string {
  try {
    if (value instanceof Error) return String(value.message);
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "[a value that cannot be shown]";
    }
  }
}

/** Nothing moved in either direction for `idleTimeoutMs` (`FW_IDLE_TIMEOUT`). */
export class IdleTimeoutError extends FramewireError {
  override readonly name = "IdleTimeoutError";
  constructor(readonly idleMs: number) {
    super(ErrorCode.IDLE_TIMEOUT, `nothing sent or received for ${Math.round(idleMs)} ms`);
  }
}

/** A frame that had begun arrived slower than `minReceiveRate` (`FW_SLOW_PEER`). */
export class SlowPeerError extends FramewireError {
  override readonly name = "SlowPeerError";
  constructor(
    /** Bytes received in the window. */
    readonly received: number,
    readonly windowMs: number,
    readonly minBytesPerSecond: number,
  ) {
    super(ErrorCode.SLOW_PEER, `a begun frame brought ${received} bytes in ${Math.round(windowMs)} ms; at least ${minBytesPerSecond} bytes/s are required`);
  }
}

/** The server's budget for partially received frames is spent (`FW_PENDING_BUDGET`). */
export class PendingBudgetError extends FramewireError {
  override readonly name = "PendingBudgetError";
  constructor(
    /** What this connection held of a partial frame. */
    readonly held: number,
    readonly max: number,
  ) {
    super(ErrorCode.PENDING_BUDGET, `the server's ${max} bytes for partially received frames are spent (this connection held ${held})`);
  }
}
