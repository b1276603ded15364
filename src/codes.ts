/**
 * The code vocabulary: framewire's own error and close codes, the shape of an application's
 * codes, and the rules for the codes and reasons that cross the wire in REJECT and GOAWAY.
 * Switch on codes, never on messages: messages may be reworded, codes never change.
 */

/** framewire's error codes. Also used as reason codes on the wire (see docs/protocol.md §10). */
export const ErrorCode = {
  /** A frame header announced more bytes than `maxFrameSize`; or a message is larger than the peer accepts. */
  FRAME_TOO_LARGE: "FW_FRAME_TOO_LARGE",
  /** A payload does not fit the length header's width on encode. */
  PAYLOAD_TOO_LARGE: "FW_PAYLOAD_TOO_LARGE",
  /** A delimited line grew past `maxLineLength` without a delimiter. */
  LINE_TOO_LONG: "FW_LINE_TOO_LONG",
  /** Bytes that cannot be a frame: a malformed varint, an empty framewire frame, a stream that ended inside a frame. */
  MALFORMED_FRAME: "FW_MALFORMED_FRAME",
  /** The codec could not encode or decode a message, or a decoded payload broke a codec limit (depth, items, tags). */
  CODEC: "FW_CODEC_ERROR",
  /** A peer broke the protocol: data before the handshake, a frame type not in the version, a frame not allowed now, malformed fields. */
  PROTOCOL: "FW_PROTOCOL_ERROR",
  /** The handshake did not complete within `handshakeTimeoutMs`. */
  HANDSHAKE_TIMEOUT: "FW_HANDSHAKE_TIMEOUT",
  /** The server refused the handshake (its reason code and text are on the error). */
  HANDSHAKE_REJECTED: "FW_HANDSHAKE_REJECTED",
  /** No protocol version both sides support. */
  VERSION_MISMATCH: "FW_VERSION_MISMATCH",
  /** The peer sent nothing for `heartbeatTimeoutMs`. */
  HEARTBEAT_TIMEOUT: "FW_HEARTBEAT_TIMEOUT",
  /** A user handler (a listener, `verifyHandshake`) threw or returned a promise that rejected. */
  HANDLER: "FW_HANDLER_ERROR",
  /** The outbound queue is full and the overflow policy is `"error"`. */
  QUEUE_FULL: "FW_QUEUE_FULL",
  /** The connection is closed or closing. */
  CLOSED: "FW_CLOSED",
  /** `connect()` did not complete within `connectTimeoutMs`. */
  CONNECT_TIMEOUT: "FW_CONNECT_TIMEOUT",
  /** The socket could not be opened or failed (refused, reset, bind failed). */
  SOCKET: "FW_SOCKET_ERROR",
  /** The server is at `maxConnections`. */
  SERVER_FULL: "FW_SERVER_FULL",
  /** The server is shutting down. */
  SHUTDOWN: "FW_SHUTDOWN",
  /** The adapter or runtime cannot honour an option. */
  UNSUPPORTED: "FW_UNSUPPORTED",
  /** An option or argument is unknown, out of range or of the wrong kind. */
  INVALID_OPTION: "FW_INVALID_OPTION",
  /** An API used in a way that cannot work, e.g. iterating a connection that also has `message` listeners. */
  INVALID_USE: "FW_INVALID_USE",
  /** A resumable session is gone: its time to come back passed, or the server discarded it (restart, bounds). */
  SESSION_EXPIRED: "FW_SESSION_EXPIRED",
  /** A HELLO's resume token names a session but does not match it (or claims frames it cannot have). */
  SESSION_INVALID: "FW_SESSION_INVALID",
  /** A newer connection took over this connection's resumable session (its client came back on another socket). */
  SESSION_MOVED: "FW_SESSION_MOVED",
  /** A reconnecting client used up `reconnect.maxAttempts`; the last attempt's error is the `cause`. */
  RECONNECT_FAILED: "FW_RECONNECT_FAILED",
  /** Authenticated handshake: a bad proof, an unknown key id or scheme, or no `auth` where the server requires it (a stranger is not told which). */
  AUTH_FAILED: "FW_AUTH_FAILED",
  /** Authenticated handshake: a HELLO's nonce was seen before, or its timestamp is outside the server's window. */
  AUTH_REPLAY: "FW_AUTH_REPLAY",
  /** Authenticated handshake: the server's replay cache is full of live nonces; try again later. */
  AUTH_BUSY: "FW_AUTH_BUSY",
  /** Client side, `requireServerProof`: WELCOME carried no valid proof of the server's key. */
  AUTH_SERVER_UNVERIFIED: "FW_AUTH_SERVER_UNVERIFIED",
  /** The peer closed with an error code of its own; the code is the error's `peerCode`. */
  PEER_ERROR: "FW_PEER_ERROR",
  /** Nothing moved in either direction for `idleTimeoutMs`. */
  IDLE_TIMEOUT: "FW_IDLE_TIMEOUT",
  /** A frame that had begun arrived slower than `minReceiveRate` (a trickle). */
  SLOW_PEER: "FW_SLOW_PEER",
  /** The server's budget for partially received frames (`maxPendingFrameBytes`) is spent. */
  PENDING_BUDGET: "FW_PENDING_BUDGET",
  /** The remote address holds `maxConnectionsPerAddress` connections already. */
  ADDRESS_LIMIT: "FW_ADDRESS_LIMIT",
  /** The remote address opened more connections than `connectionRate` allows. */
  RATE_LIMITED: "FW_RATE_LIMITED",
  /** The TLS handshake failed: an untrusted, expired or misnamed certificate, a missing or refused client certificate, no common protocol. */
  TLS_FAILED: "FW_TLS_FAILED",
  /** `tls.pin`: the server's certificate matched none of the pins, even if a CA vouched for it. */
  TLS_PIN_MISMATCH: "FW_TLS_PIN_MISMATCH",
  /** `interface`: no network interface of that name, or it has no address of the requested family. */
  INTERFACE_UNAVAILABLE: "FW_INTERFACE_UNAVAILABLE",
  /** The native library (`framewire/native`) cannot be found or loaded, or speaks another ABI version; the error's `reason` says why. */
  NATIVE_UNAVAILABLE: "FW_NATIVE_UNAVAILABLE",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Close codes that are not errors. */
export const CloseCode = {
  /** `close()` was called, or the peer closed in order. */
  NORMAL: "FW_NORMAL",
  /** The peer closed the socket without saying why (FIN or reset without GOAWAY). */
  PEER_CLOSED: "FW_PEER_CLOSED",
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** An upper-case ASCII letter (the grammar of codes). */
export type CodeLetter = "A" | "B" | "C" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M" | "N" | "O" | "P" | "Q" | "R" | "S" | "T" | "U" | "V" | "W" | "X" | "Y" | "Z";
/** An ASCII digit (the grammar of codes). */
export type CodeDigit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9";

/**
 * An application's own code, e.g. `"BAD_TOKEN"`: upper-case ASCII letters, digits and `_`,
 * starting with a letter, at most {@link MAX_CODE_LENGTH} characters, and not starting with
 * `FW_` (that prefix is framewire's). The type rejects `FW_` typos such as `"FW_NORAML"` at
 * compile time; the rest of the grammar is checked at run time.
 */
export type ApplicationCode =
  | `${Exclude<CodeLetter, "F">}${string}`
  | `F${Exclude<CodeLetter | CodeDigit | "_", "W">}${string}`
  | `FW${CodeLetter | CodeDigit}${string}`
  | "F"
  | "FW";

/** Every code a close can carry: framewire's codes or an application's. */
export type AnyCode = ErrorCode | CloseCode | ApplicationCode;

/** Longest code accepted, locally or from a peer. */
export const MAX_CODE_LENGTH = 64;
/** Reasons (REJECT, GOAWAY, `close(code, reason)`) are cut to this many UTF-8 bytes. */
export const MAX_REASON_BYTES = 256;

const CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;
const KNOWN_CODES: ReadonlySet<string> = new Set<string>([...Object.values(ErrorCode), ...Object.values(CloseCode)]);

/** True for a code of the right shape: `[A-Z][A-Z0-9_]*`, at most 64 characters. */
export function isWellFormedCode(code: unknown): code is string {
  return typeof code === "string" && code.length <= MAX_CODE_LENGTH && CODE_PATTERN.test(code);
}

/**
 * True for a code the application may send: well-formed, and either its own (not `FW_…`) or one of
 * framewire's (e.g. `FW_SHUTDOWN`). An `FW_` code framewire does not define would reach the peer
 * as `FW_PEER_ERROR`, so the two sides would report different codes.
 */
export function isSendableCode(code: unknown): code is AnyCode {
  return isWellFormedCode(code) && (!code.startsWith("FW_") || isKnownCode(code));
}

/** True for a code this version of framewire defines. */
export function isKnownCode(code: string): code is ErrorCode | CloseCode {
  return KNOWN_CODES.has(code);
}

/**
 * A peer's code as the local side reports it. Well-formed known codes and application codes pass
 * as they are; an `FW_` code this version does not know (a newer peer) becomes `FW_PEER_ERROR`.
 * Returns undefined for a malformed code: the frame carrying it is a protocol error.
 */
export function codeFromPeer(code: unknown): AnyCode | undefined {
  if (!isWellFormedCode(code)) return undefined;
  if (isKnownCode(code)) return code;
  if (code.startsWith("FW_")) return ErrorCode.PEER_ERROR;
  return code as ApplicationCode;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Cuts `reason` to at most {@link MAX_REASON_BYTES} of UTF-8, at a character boundary. */
export function truncateReason(reason: string): string {
  // Fast path: every UTF-16 unit is at most 3 UTF-8 bytes.
  if (reason.length * 3 <= MAX_REASON_BYTES) return reason;
  const bytes = encoder.encode(reason);
  if (bytes.length <= MAX_REASON_BYTES) return reason;
  let end = MAX_REASON_BYTES;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--; // back to a character start
  return decoder.decode(bytes.subarray(0, end));
}

/**
 * C0 and C1 controls, DEL, the line and paragraph separators, zero-width characters, bidi
 * embeddings, overrides and isolates, and the BOM: what could forge a log line or hide text.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** A peer's reason text, made safe to log: unsafe characters (newlines too) replaced by U+FFFD, then cut to 256 bytes. */
export function reasonFromPeer(reason: unknown): string {
  if (typeof reason !== "string") return "";
  return truncateReason(reason.replace(UNSAFE, "\ufffd"));
}
