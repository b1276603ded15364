/**
 * Wire protocol v1 of `protocol: "framewire"`: every frame is `u32 BE length | u8 type | fields`.
 * docs/protocol.md is the specification, with byte-level examples; keep the two in step.
 */
import { decodeUtf8, encodeUtf8 } from "../codec/text.ts";
import { ProtocolError } from "../errors.ts";

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
}

export interface Welcome {
  version: number;
  session: string;
  tags?: Record<string, string>;
  /** Largest message payload the server accepts. */
  maxFrameSize: number;
  /** The server's heartbeat interval in ms (0: off); the client adopts it. */
  heartbeatMs: number;
}

/** REJECT and GOAWAY both carry a reason code and text. */
export interface Reason {
  code: string;
  reason: string;
}

export function encodeHello(hello: Hello): Uint8Array {
  const json = encodeUtf8(JSON.stringify({ app: hello.app, tags: hello.tags, maxFrameSize: hello.maxFrameSize }));
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
  const fields = parseObject(body.subarray(4), "HELLO");
  return {
    minVersion: body[2] as number,
    maxVersion: body[3] as number,
    ...(typeof fields.app === "string" ? { app: fields.app } : {}),
    ...(isCount(fields.maxFrameSize) ? { maxFrameSize: fields.maxFrameSize } : {}),
    ...(isStringRecord(fields.tags) ? { tags: fields.tags } : {}),
  };
}

export function encodeWelcome(welcome: Welcome): Uint8Array {
  const json = encodeUtf8(
    JSON.stringify({
      session: welcome.session,
      tags: welcome.tags,
      maxFrameSize: welcome.maxFrameSize,
      heartbeatMs: welcome.heartbeatMs,
    }),
  );
  const out = new Uint8Array(1 + json.length);
  out[0] = welcome.version;
  out.set(json, 1);
  return out;
}

export function decodeWelcome(body: Uint8Array): Welcome {
  if (body.length < 1) throw new ProtocolError("empty WELCOME");
  const fields = parseObject(body.subarray(1), "WELCOME");
  if (typeof fields.session !== "string" || !isCount(fields.maxFrameSize) || !isCount(fields.heartbeatMs)) {
    throw new ProtocolError("WELCOME lacks session, maxFrameSize or heartbeatMs");
  }
  return {
    version: body[0] as number,
    session: fields.session,
    maxFrameSize: fields.maxFrameSize,
    heartbeatMs: fields.heartbeatMs,
    ...(isStringRecord(fields.tags) ? { tags: fields.tags } : {}),
  };
}

/** Body of REJECT and GOAWAY. */
export function encodeReason(reason: Reason): Uint8Array {
  return encodeUtf8(JSON.stringify({ code: reason.code, reason: reason.reason }));
}

export function decodeReason(body: Uint8Array, frame: string): Reason {
  const fields = parseObject(body, frame);
  if (typeof fields.code !== "string") throw new ProtocolError(`${frame} without a reason code`);
  return { code: fields.code, reason: typeof fields.reason === "string" ? fields.reason : "" };
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

function isStringRecord(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string");
}
