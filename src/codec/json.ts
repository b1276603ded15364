import { CodecError } from "../errors.ts";
import { builtIn, type Codec } from "./codec.ts";
import { assertJsonWithinLimits, type JsonLimits, resolveJsonLimits } from "./json-limits.ts";
import { decodeUtf8, encodeUtf8 } from "./text.ts";

/**
 * JSON text in strict UTF-8. Values JSON cannot represent (undefined, functions, cycles, BigInt) throw.
 *
 * Received payloads are scanned for nesting and size first, so a hostile one fails with
 * `CodecError` before it is decoded or parsed.
 * @param limits Decoding limits (`DEFAULT_JSON_LIMITS` for what is unset).
 * @throws InvalidOptionError for a limit that is not a non-negative integer, or an unknown key.
 */
export function jsonCodec<T = unknown>(limits?: JsonLimits): Codec<T> {
  const checked = resolveJsonLimits(limits);
  const codec: Codec<T> & { decodedItems: number } = {
    name: "json",
    decodedItems: 0,
    encode(value: T): Uint8Array {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (error) {
        throw new CodecError("value cannot be encoded as JSON", { cause: error });
      }
      if (text === undefined) throw new CodecError(`value of type ${typeof value} cannot be encoded as JSON`);
      return encodeUtf8(text);
    },
    decode(bytes: Uint8Array): T {
      // On the bytes, before the UTF-8 decode: a rejected payload never becomes a string.
      const items = assertJsonWithinLimits(bytes, checked);
      const text = decodeUtf8(bytes);
      let value: T;
      try {
        value = JSON.parse(text) as T;
      } catch (error) {
        throw new CodecError("payload is not valid JSON", { cause: error });
      }
      codec.decodedItems = items;
      return value;
    },
  };
  return builtIn(codec);
}
