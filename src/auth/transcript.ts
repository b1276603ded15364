/**
 * The exact bytes a proof covers (docs/protocol.md §14.2). `auth` is the last member of HELLO's
 * (and WELCOME's) JSON and `proof` the last member of `auth`, so the frame's fields end in
 * `"<proof hex>"}}`: everything before that tail is signed, byte for byte as it travels — the
 * magic, the version range, every member (known or not), the nonce and the timestamp — and the
 * receiver needs no canonical re-encoding.
 */
import { encodeUtf8 } from "../codec/text.ts";

/** Domain separation: a client's proof can never pass for a server's, nor for anything else signed with the same key. */
export const HELLO_LABEL = "framewire auth v1 hello";
export const WELCOME_LABEL = "framewire auth v1 welcome";

/** The tail of fields encoded with an empty proof (`"proof":""}}`): what {@link signedPrefix} cuts off. */
const EMPTY_PROOF_TAIL = 4;

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Lowercase hex of even length (checked by the wire decoder) to bytes. */
export function fromHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >>> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Sender: the signed part of fields that were encoded with `proof: ""`. */
export function signedPrefix(fieldsWithEmptyProof: Uint8Array): Uint8Array {
  return fieldsWithEmptyProof.subarray(0, fieldsWithEmptyProof.length - EMPTY_PROOF_TAIL);
}

/** Sender: the fields with the proof in place. */
export function withProof(prefix: Uint8Array, proof: Uint8Array): Uint8Array {
  return concat([prefix, encodeUtf8(`"${toHex(proof)}"}}`)]);
}

/**
 * Receiver: the signed part of `fields` whose decoded proof is `proofHex`, or undefined when the
 * fields do not end in `"<proofHex>"}}` (then `auth` or `proof` was not last: not signable).
 */
export function receivedPrefix(fields: Uint8Array, proofHex: string): Uint8Array | undefined {
  const tail = encodeUtf8(`"${proofHex}"}}`);
  const start = fields.length - tail.length;
  if (start < 0) return undefined;
  for (let i = 0; i < tail.length; i++) if (fields[start + i] !== tail[i]) return undefined;
  return fields.subarray(0, start);
}

/** What the client proves: `HELLO_LABEL || 0x00 || HELLO's signed part`. */
export function helloTranscript(helloPrefix: Uint8Array): Uint8Array {
  return concat([encodeUtf8(HELLO_LABEL), Uint8Array.of(0), helloPrefix]);
}

/**
 * What the server proves: `WELCOME_LABEL || 0x00 || u32 BE length of HELLO's fields || HELLO's
 * fields (the client's proof included) || WELCOME's signed part`. It covers the client's fresh
 * nonce, so a recorded WELCOME is worthless on another connection.
 */
export function welcomeTranscript(helloFields: Uint8Array, welcomePrefix: Uint8Array): Uint8Array {
  const n = helloFields.length;
  return concat([encodeUtf8(WELCOME_LABEL), Uint8Array.of(0, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff), helloFields, welcomePrefix]);
}
