/**
 * The errors of the authenticated handshake. A server's refusal is an {@link AuthRejectedError}
 * (still a `HandshakeRejectedError`, whose `reasonCode` is the same code); a client that could not
 * verify the server fails with an {@link AuthError} of code `FW_AUTH_SERVER_UNVERIFIED`.
 */
import type { AnyCode } from "../codes.ts";
import { ErrorCode } from "../codes.ts";
import { HandshakeError, HandshakeRejectedError } from "../errors.ts";

/** The codes of the authenticated handshake. */
export type AuthCode = "FW_AUTH_FAILED" | "FW_AUTH_REPLAY" | "FW_AUTH_BUSY" | "FW_AUTH_SERVER_UNVERIFIED";

const REJECT_CODES: ReadonlySet<string> = new Set([ErrorCode.AUTH_FAILED, ErrorCode.AUTH_REPLAY, ErrorCode.AUTH_BUSY]);

/** True for the codes a server refuses an authentication with. */
export function isAuthRejection(code: AnyCode): code is AuthCode {
  return REJECT_CODES.has(code);
}

/** Authentication failed on this side (client: the server did not prove itself; server: a refused HELLO, with the local detail). */
export class AuthError extends HandshakeError {
  override readonly name: string = "AuthError";
  declare readonly code: AuthCode;
  constructor(code: AuthCode, message: string) {
    super(code, message);
  }
}

/**
 * The server refused this client's authentication: `code` (and `reasonCode`) is `FW_AUTH_FAILED`
 * (bad proof, unknown key id or scheme, no `auth` where it is required — a stranger is not told
 * which), `FW_AUTH_REPLAY` (a nonce seen before, or a timestamp outside the server's window:
 * check the clock) or `FW_AUTH_BUSY` (the server's replay cache is full: try again later).
 */
export class AuthRejectedError extends HandshakeRejectedError {
  override readonly name: string = "AuthRejectedError";
  declare readonly code: AuthCode;
  constructor(code: AuthCode, reason: string) {
    super(code, reason);
    (this as { code: AuthCode }).code = code;
  }
}
