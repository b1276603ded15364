import { CodecError } from "../errors.ts";
import { builtIn, type Codec } from "./codec.ts";

const encoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, never silently replaced by U+FFFD.
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Strict UTF-8. Encoding a string always succeeds; decoding invalid UTF-8 throws `CodecError`. */
export const textCodec: Codec<string> = builtIn({
  name: "text",
  encode(value: string): Uint8Array {
    if (typeof value !== "string") throw new CodecError("text codec sends strings only");
    return encoder.encode(value);
  },
  decode(bytes: Uint8Array): string {
    return decodeUtf8(bytes);
  },
});

/** Strict UTF-8 decode shared by the text-based codecs. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw new CodecError("payload is not valid UTF-8", { cause: error });
  }
}

export function encodeUtf8(value: string): Uint8Array {
  return encoder.encode(value);
}
