import { CodecError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import { decodeUtf8, encodeUtf8 } from "./text.ts";

/** JSON text in strict UTF-8. Values JSON cannot represent (undefined, functions, cycles, BigInt) throw. */
export function jsonCodec<T = unknown>(): Codec<T> {
  return {
    name: "json",
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
      const text = decodeUtf8(bytes);
      try {
        return JSON.parse(text) as T;
      } catch (error) {
        throw new CodecError("payload is not valid JSON", { cause: error });
      }
    },
  };
}
