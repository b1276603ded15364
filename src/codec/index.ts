import { CodecError, FramewireError, InvalidOptionError } from "../errors.ts";
import { describeValue } from "../validate.ts";
import { bufferCodec } from "./buffer.ts";
import { cborCodec } from "./cbor.ts";
import type { Codec } from "./codec.ts";
import { jsonCodec } from "./json.ts";
import { textCodec } from "./text.ts";

export type { Codec } from "./codec.ts";
export { bufferCodec } from "./buffer.ts";
export { cborCodec } from "./cbor.ts";
export { type CborLimits, DEFAULT_CBOR_LIMITS, REFUSED_CBOR_TAGS, type RefusedCborTags } from "./cbor-limits.ts";
export { jsonCodec } from "./json.ts";
export { DEFAULT_JSON_LIMITS, type JsonLimits } from "./json-limits.ts";
export { textCodec } from "./text.ts";

/** Built-in codec names. */
export type CodecName = "buffer" | "text" | "json" | "cbor";

/** The message type a codec option produces. */
export type MessageOf<C> = C extends Codec<infer T>
  ? T
  : C extends "text"
    ? string
    : C extends "json" | "cbor"
      ? unknown
      : Uint8Array;

/** Resolves a codec option to a codec. */
export function resolveCodec<T>(option: CodecName | Codec<T> | undefined): Codec<T> {
  if (option === undefined || option === "buffer") return bufferCodec as unknown as Codec<T>;
  if (option === "text") return textCodec as unknown as Codec<T>;
  if (option === "json") return jsonCodec<T>();
  if (option === "cbor") return cborCodec<T>();
  if (typeof option === "object" && option !== null && typeof option.name === "string" && typeof option.encode === "function" && typeof option.decode === "function") {
    return option;
  }
  throw new InvalidOptionError(`codec must be "buffer", "text", "json", "cbor" or { name, encode, decode }; got ${describeValue(option)}`);
}

/**
 * Encodes with `codec`, making sure it answers with bytes: anything else (an ArrayBuffer, a
 * string, NaN-length junk) would corrupt the send batch. What it throws becomes a `CodecError`
 * unless it is a `FramewireError` already.
 */
export function encodeWith<T>(codec: Codec<T>, message: T): Uint8Array {
  let payload: unknown;
  try {
    payload = codec.encode(message);
  } catch (error) {
    throw error instanceof FramewireError ? error : new CodecError("codec failed to encode", { cause: error });
  }
  if (!(payload instanceof Uint8Array)) throw new CodecError(`codec "${String(codec.name)}" returned ${typeof payload === "object" ? (payload === null ? "null" : "an object that is not a Uint8Array") : `a ${typeof payload}`}, not a Uint8Array`);
  return payload;
}
