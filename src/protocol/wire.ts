/**
 * Wire protocol v1 of `protocol: "framewire"`: every frame is `u32 BE length | u8 type | fields`.
 * docs/protocol.md is the specification, with byte-level examples; keep the two in step.
 */
import { decodeUtf8, encodeUtf8 } from "../codec/text.ts";
import { type AnyCode, codeFromPeer, reasonFromPeer, truncateReason } from "../codes.ts";
import { ProtocolError } from "../errors.ts";
import { checkHandshakeJson, checkTagCount } from "./handshake-budget.ts";
import { decodeHelloAuth, decodeWelcomeAuth, type HelloAuth, type WelcomeAuth } from "./auth.ts";
import { decodeResumeHello, decodeResumeWelcome, type ResumeHello, type ResumeWelcome } from "./resume.ts";

/** Frame types. 0x0C–0x7F are reserved for future versions, 0x80–0xFF for extensions. */
export const FrameType = {
  DATA: 0x00,
  HELLO: 0x01,
  WELCOME: 0x02,
  REJECT: 0x03,
  PING: 0x04,
  PONG: 0x05,
  ACK: 0x06,
  GOAWAY: 0x07,
  REQUEST: 0x08,
  RESPONSE: 0x09,
  ERROR: 0x0a,
  CANCEL: 0x0b,
} as const;

/** Protocol versions this implementation speaks. */
export const PROTOCOL_VERSION_MIN = 1;
export const PROTOCOL_VERSION_MAX = 1;

/**
 * The smallest `maxFrameSize` allowed, locally and announced by a peer in HELLO or WELCOME. A
 * smaller limit is refused: `FW_INVALID_OPTION` locally, `FW_PROTOCOL_ERROR` from a peer.
 */
export const MIN_FRAME_SIZE = 64;
/**
 * Largest fields of a handshake frame (HELLO, WELCOME, REJECT), whatever `maxFrameSize` says:
 * before the handshake a stranger may send only this much, and tags plus `app` must fit.
 */
export const MAX_HANDSHAKE_FIELDS = 64 * 1024;
/**
 * Largest fields of a control frame after the handshake (PING, PONG, GOAWAY). Control frames are
 * allowed this much even when `maxFrameSize` is smaller, so a small limit never blocks a close.
 */
export const MAX_CONTROL_FIELDS = 4096;

/** Largest `heartbeatMs` a WELCOME may carry: the longest delay a timer takes. */
export const MAX_HEARTBEAT_MS = 2_147_483_647;

/** "FW": first two bytes of every HELLO, so a non-framewire peer is told apart at once. */
const MAGIC_0 = 0x46;
const MAGIC_1 = 0x57;

export interface Hello {
  minVersion: number;
  maxVersion: number;
  /** The application's own version string, for the server's `verifyHandshake`. */
  app?: string;
  tags?: Record<string, string>;
  /** Largest message payload the client accepts; the server sends nothing larger. */
  maxFrameSize?: number;
  /** Resumable sessions: present when the client asks for one (docs/protocol.md §13). */
  resume?: ResumeHello;
  /** Authenticated handshake: the client's proof (docs/protocol.md §14). Always the last member. */
  auth?: HelloAuth;
}

export interface Welcome {
  version: number;
  session: string;
  tags?: Record<string, string>;
  /** Largest message payload the server accepts. */
  maxFrameSize: number;
  /** The server's heartbeat interval in ms (0: off); the client adopts it. */
  heartbeatMs: number;
  /** Resumable sessions: present when HELLO asked and the server has them on. */
  resume?: ResumeWelcome;
  /** Authenticated handshake, mutual: the server's proof (docs/protocol.md §14). Always the last member. */
  auth?: WelcomeAuth;
}

/** REJECT and GOAWAY both carry a reason code and text. */
export interface Reason {
  /** framewire's code (`FW_…`) or the application's own. */
  code: AnyCode;
  /** Text for logs; at most `MAX_REASON_BYTES` of UTF-8 (longer text is cut when sent). */
  reason: string;
}

export function encodeHello(hello: Hello): Uint8Array {
  const json = encodeUtf8(JSON.stringify({ app: hello.app, tags: hello.tags, maxFrameSize: hello.maxFrameSize, resume: hello.resume, auth: hello.auth }));
  const out = new Uint8Array(4 + json.length);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = hello.minVersion;
  out[3] = hello.maxVersion;
  out.set(json, 4);
  return out;
}

export function decodeHello(body: Uint8Array): Hello {
  if (body.length < 4 || body[0] !== MAGIC_0 || body[1] !== MAGIC_1) {
    throw new ProtocolError("HELLO without the framewire magic");
  }
  checkHandshakeJson(body.subarray(4), "HELLO");
  const fields = parseObject(body.subarray(4), "HELLO");
  const hello: Hello = { minVersion: body[2] as number, maxVersion: body[3] as number };
  if (fields.app !== undefined) {
    if (typeof fields.app !== "string") throw new ProtocolError("HELLO app is not a string");
    hello.app = fields.app;
  }
  if (fields.maxFrameSize !== undefined) hello.maxFrameSize = frameLimit(fields.maxFrameSize, "HELLO");
  if (fields.tags !== undefined) hello.tags = tags(fields.tags, "HELLO");
  if (fields.resume !== undefined) hello.resume = decodeResumeHello(fields.resume);
  if (fields.auth !== undefined) hello.auth = decodeHelloAuth(fields.auth);
  return hello;
}

export function encodeWelcome(welcome: Welcome): Uint8Array {
  const json = encodeUtf8(
    JSON.stringify({
      session: welcome.session,
      tags: welcome.tags,
      maxFrameSize: welcome.maxFrameSize,
      heartbeatMs: welcome.heartbeatMs,
      resume: welcome.resume,
      auth: welcome.auth,
    }),
  );
  const out = new Uint8Array(1 + json.length);
  out[0] = welcome.version;
  out.set(json, 1);
  return out;
}

export function decodeWelcome(body: Uint8Array): Welcome {
  if (body.length < 1) throw new ProtocolError("empty WELCOME");
  checkHandshakeJson(body.subarray(1), "WELCOME");
  const fields = parseObject(body.subarray(1), "WELCOME");
  if (typeof fields.session !== "string" || !isCount(fields.heartbeatMs)) {
    throw new ProtocolError("WELCOME lacks a session or heartbeatMs");
  }
  // Timers take at most 2^31 - 1 ms; a larger interval would fire at once, over and over.
  if (fields.heartbeatMs > MAX_HEARTBEAT_MS) throw new ProtocolError(`WELCOME heartbeatMs ${fields.heartbeatMs} is above ${MAX_HEARTBEAT_MS}`);
  return {
    version: body[0] as number,
    session: fields.session,
    maxFrameSize: frameLimit(fields.maxFrameSize, "WELCOME"),
    heartbeatMs: fields.heartbeatMs,
    ...(fields.tags !== undefined ? { tags: tags(fields.tags, "WELCOME") } : {}),
    ...(fields.resume !== undefined ? { resume: decodeResumeWelcome(fields.resume) } : {}),
    ...(fields.auth !== undefined ? { auth: decodeWelcomeAuth(fields.auth) } : {}),
  };
}

/** Body of REJECT and GOAWAY; the reason is cut to `MAX_REASON_BYTES`. */
export function encodeReason(reason: Reason): Uint8Array {
  return encodeUtf8(JSON.stringify({ code: reason.code, reason: truncateReason(reason.reason) }));
}

/**
 * A peer's REJECT or GOAWAY. Its code must be well-formed (`[A-Z][A-Z0-9_]*`, at most 64
 * characters), else the frame is a protocol error: a peer must not be able to write newlines or
 * arbitrary text into our codes, logs and metrics. Its reason is cut and stripped of control
 * characters; an unknown `FW_` code (from a newer peer) reads as `FW_PEER_ERROR`.
 */
export function decodeReason(body: Uint8Array, frame: string): Reason {
  const fields = parseObject(body, frame);
  const code = codeFromPeer(fields.code);
  if (code === undefined) throw new ProtocolError(`${frame} without a well-formed reason code`);
  if (fields.reason !== undefined && typeof fields.reason !== "string") throw new ProtocolError(`${frame} reason is not a string`);
  return { code, reason: reasonFromPeer(fields.reason) };
}

/** The highest version in both ranges, or -1. */
export function chooseVersion(peerMin: number, peerMax: number): number {
  const high = Math.min(peerMax, PROTOCOL_VERSION_MAX);
  return high >= Math.max(peerMin, PROTOCOL_VERSION_MIN) ? high : -1;
}

function parseObject(bytes: Uint8Array, frame: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(bytes));
  } catch {
    throw new ProtocolError(`${frame} fields are not a JSON object`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(`${frame} fields are not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** A peer's announced frame limit: a safe integer of at least {@link MIN_FRAME_SIZE}. */
function frameLimit(value: unknown, frame: string): number {
  if (!isCount(value)) throw new ProtocolError(`${frame} maxFrameSize is not a non-negative integer`);
  if (value < MIN_FRAME_SIZE) throw new ProtocolError(`${frame} announces maxFrameSize ${value}, below the minimum of ${MIN_FRAME_SIZE}`);
  return value;
}

function tags(value: unknown, frame: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new ProtocolError(`${frame} tags are not an object`);
  checkTagCount(value, frame);
  for (const v of Object.values(value)) if (typeof v !== "string") throw new ProtocolError(`${frame} has a tag whose value is not a string`);
  return value as Record<string, string>;
}
