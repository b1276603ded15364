/**
 * Every error framewire raises or emits is a {@link FramewireError} with a stable `code`.
 * Switch on `code`, never on `message`: messages may be reworded, codes never change.
 */

/** All stable error codes. Also used as close reason codes on the wire (see docs/protocol.md). */
export const ErrorCode = {
  /** A frame header announced more bytes than `maxFrameSize`. */
  FRAME_TOO_LARGE: "FW_FRAME_TOO_LARGE",
  /** A payload does not fit the length header's width on encode. */
  PAYLOAD_TOO_LARGE: "FW_PAYLOAD_TOO_LARGE",
  /** A delimited line grew past `maxLineLength` without a delimiter. */
  LINE_TOO_LONG: "FW_LINE_TOO_LONG",
  /** Bytes that cannot be a frame: a malformed varint header, an empty framewire frame (no type byte). */
  MALFORMED_FRAME: "FW_MALFORMED_FRAME",
  /** The codec could not encode or decode a message. */
  CODEC: "FW_CODEC_ERROR",
  /** A peer broke the protocol: data before the handshake, a frame type not in the version, a frame not allowed now. */
  PROTOCOL: "FW_PROTOCOL_ERROR",
  /** The handshake did not complete within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: "FW_HANDSHAKE_TIMEOUT",
  /** The server refused the handshake (its reason code and text are on the error). */
  HANDSHAKE_REJECTED: "FW_HANDSHAKE_REJECTED",
  /** No protocol version both sides support. */
  VERSION_MISMATCH: "FW_VERSION_MISMATCH",
  /** The peer sent nothing for `heartbeatTimeoutMs`. */
  HEARTBEAT_TIMEOUT: "FW_HEARTBEAT_TIMEOUT",
  /** A user handler (`message` listener, `verifyHandshake`) threw. */
  HANDLER: "FW_HANDLER_ERROR",
  /** The outbound queue is full and the overflow policy is `"error"`. */
  QUEUE_FULL: "FW_QUEUE_FULL",
  /** The connection is closed or closing. */
  CLOSED: "FW_CLOSED",
  /** `connect()` did not complete within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: "FW_CONNECT_TIMEOUT",
  /** The socket could not be opened (refused, unreachable, bind failed). */
  SOCKET: "FW_SOCKET_ERROR",
  /** The server is at `maxConnections`. */
  SERVER_FULL: "FW_SERVER_FULL",
  /** The server is shutting down. */
  SHUTDOWN: "FW_SHUTDOWN",
  /** The adapter or runtime cannot honour an option. */
  UNSUPPORTED: "FW_UNSUPPORTED",
  /** An option is out of range or of the wrong kind. */
  INVALID_OPTION: "FW_INVALID_OPTION",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every framewire error. */
export class FramewireError extends Error {
  override readonly name: string = "FramewireError";
  /** Stable machine-readable code, e.g. `"FW_FRAME_TOO_LARGE"`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
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
    code: string = ErrorCode.FRAME_TOO_LARGE,
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
  constructor(message: string, code: string = ErrorCode.PROTOCOL) {
    super(code, message);
  }
}

/** The handshake failed locally: timeout or no common version. */
export class HandshakeError extends FramewireError {
  override readonly name: string = "HandshakeError";
}

/** The server answered HELLO with REJECT. `reasonCode` is the server's own code. */
export class HandshakeRejectedError extends HandshakeError {
  override readonly name = "HandshakeRejectedError";
  constructor(
    readonly reasonCode: string,
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

/** A user-supplied handler threw. The original error is the `cause`. */
export class HandlerError extends FramewireError {
  override readonly name = "HandlerError";
  constructor(where: string, cause: unknown) {
    super(ErrorCode.HANDLER, `${where} threw: ${describe(cause)}`, { cause });
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

/** An option failed validation at construction. */
export class InvalidOptionError extends FramewireError {
  override readonly name = "InvalidOptionError";
  constructor(message: string) {
    super(ErrorCode.INVALID_OPTION, message);
  }
}

/** Wraps anything thrown into a FramewireError, keeping the original as `cause`. */
export function toFramewireError(error: unknown, code: string = ErrorCode.SOCKET): FramewireError {
  if (error instanceof FramewireError) return error;
  return new FramewireError(code, describe(error), { cause: error });
}

function describe(value: unknown): string {
  if (value instanceof Error) return value.message;
  return String(value);
}
