/**
 * The wire additions of resumable sessions (docs/protocol.md §13): the `resume` fields of HELLO
 * and WELCOME, and the ACK frame's body. Used only once both sides agreed on resume in the
 * handshake; a peer that never asks sees none of it.
 */
import { ProtocolError } from "../errors.ts";

/** HELLO's `resume`: `{}` asks for a new resumable session; a token asks to re-attach one. */
export interface ResumeHello {
  /** The token a WELCOME gave for the session to re-attach. */
  token?: string;
  /** DATA frames of that session the client has received. */
  received?: number;
  /** Unacknowledged bytes the client keeps at most: the server acknowledges well before. */
  maxUnackedBytes: number;
}

/** WELCOME's `resume`: the session this connection carries. */
export interface ResumeWelcome {
  token: string;
  /** True: the session in HELLO's token continues; false: a new session (the old one is gone). */
  resumed: boolean;
  /** DATA frames of the session the server has received (0 for a new one). */
  received: number;
  maxUnackedBytes: number;
}

/** Longest token accepted from a peer: `<session id>.<secret>` is 57 characters. */
const MAX_TOKEN_LENGTH = 128;

/** Smallest `maxUnackedBytes` a peer may announce (as `resume.maxUnackedBytes` allows locally): less would mean an ACK per few bytes. */
export const MIN_UNACKED_BYTES = 1024;

function unackedBound(value: unknown, frame: string): number {
  const n = count(value, `${frame} resume.maxUnackedBytes`);
  if (n < MIN_UNACKED_BYTES) throw new ProtocolError(`${frame} resume.maxUnackedBytes ${n} is below ${MIN_UNACKED_BYTES}`);
  return n;
}

function count(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new ProtocolError(`${what} is not a non-negative integer`);
  return value;
}

function object(value: unknown, frame: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ProtocolError(`${frame} resume is not an object`);
  return value as Record<string, unknown>;
}

function token(value: unknown, frame: string): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_TOKEN_LENGTH) throw new ProtocolError(`${frame} resume token is not a string of 1-${MAX_TOKEN_LENGTH} characters`);
  return value;
}

export function decodeResumeHello(value: unknown): ResumeHello {
  const fields = object(value, "HELLO");
  const hello: ResumeHello = { maxUnackedBytes: unackedBound(fields.maxUnackedBytes, "HELLO") };
  if (fields.token !== undefined) {
    hello.token = token(fields.token, "HELLO");
    hello.received = count(fields.received, "HELLO resume.received");
  }
  return hello;
}

export function decodeResumeWelcome(value: unknown): ResumeWelcome {
  const fields = object(value, "WELCOME");
  if (typeof fields.resumed !== "boolean") throw new ProtocolError("WELCOME resume.resumed is not a boolean");
  return {
    token: token(fields.token, "WELCOME"),
    resumed: fields.resumed,
    received: count(fields.received, "WELCOME resume.received"),
    maxUnackedBytes: unackedBound(fields.maxUnackedBytes, "WELCOME"),
  };
}

/** ACK body: the count of DATA frames received in the session, u64 big-endian (at most 2^53 - 1). */
export function encodeAck(received: number): Uint8Array {
  const body = new Uint8Array(8);
  const view = new DataView(body.buffer);
  view.setUint32(0, Math.floor(received / 0x1_0000_0000));
  view.setUint32(4, received >>> 0);
  return body;
}

export function decodeAck(body: Uint8Array): number {
  if (body.length !== 8) throw new ProtocolError(`ACK with ${body.length} bytes of fields; it has exactly 8`);
  const view = new DataView(body.buffer, body.byteOffset, 8);
  const value = view.getUint32(0) * 0x1_0000_0000 + view.getUint32(4);
  if (!Number.isSafeInteger(value)) throw new ProtocolError("ACK count above 2^53 - 1");
  return value;
}
