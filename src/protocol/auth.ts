/**
 * The wire additions of the authenticated handshake (docs/protocol.md §14): the `auth` member of
 * HELLO and of WELCOME. What is signed and how it is checked is in src/auth/; this file only says
 * what a well-formed member is, so a malformed one is a protocol error like any other field.
 */
import { ProtocolError } from "../errors.ts";

/** HELLO's `auth`: the client's claim (scheme and key id), its freshness, and its proof. */
export interface HelloAuth {
  scheme: string;
  id: string;
  /** 16 random bytes, 32 lowercase hex digits: fresh for every HELLO. */
  nonce: string;
  /** The client's clock when it built the HELLO, in ms since the Unix epoch. */
  ts: number;
  /** The client asks the server to prove itself in WELCOME. */
  mutual?: true;
  /** Lowercase hex; the last member, so the bytes before it are what it signs. */
  proof: string;
}

/** WELCOME's `auth`: the server's proof, when HELLO asked for one. */
export interface WelcomeAuth {
  proof: string;
}

/** Scheme names: short, lowercase, so they are safe in logs and codes. */
export const SCHEME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;
/** Key ids: 1-128 printable ASCII characters (no control characters, nothing to forge a log line with). */
export const KEY_ID_PATTERN = /^[\x20-\x7e]{1,128}$/;
const NONCE_PATTERN = /^[0-9a-f]{32}$/;
/** At most 512 bytes of proof (an Ed25519 signature is 64, an HMAC-SHA256 tag 32). */
export const MAX_PROOF_BYTES = 512;
const PROOF_PATTERN = /^(?:[0-9a-f]{2}){1,512}$/;

function object(value: unknown, frame: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ProtocolError(`${frame} auth is not an object`);
  return value as Record<string, unknown>;
}

function matching(value: unknown, pattern: RegExp, what: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new ProtocolError(`${what} is malformed`);
  return value;
}

export function decodeHelloAuth(value: unknown): HelloAuth {
  const fields = object(value, "HELLO");
  const ts = fields.ts;
  if (typeof ts !== "number" || !Number.isSafeInteger(ts) || ts < 0) throw new ProtocolError("HELLO auth.ts is not a non-negative integer");
  if (fields.mutual !== undefined && fields.mutual !== true) throw new ProtocolError("HELLO auth.mutual is not true");
  return {
    scheme: matching(fields.scheme, SCHEME_PATTERN, "HELLO auth.scheme"),
    id: matching(fields.id, KEY_ID_PATTERN, "HELLO auth.id"),
    nonce: matching(fields.nonce, NONCE_PATTERN, "HELLO auth.nonce"),
    ts,
    ...(fields.mutual === true ? { mutual: true as const } : {}),
    proof: matching(fields.proof, PROOF_PATTERN, "HELLO auth.proof"),
  };
}

export function decodeWelcomeAuth(value: unknown): WelcomeAuth {
  return { proof: matching(object(value, "WELCOME").proof, PROOF_PATTERN, "WELCOME auth.proof") };
}
