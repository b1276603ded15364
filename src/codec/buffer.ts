import { CodecError } from "../errors.ts";
import { builtIn, type Codec } from "./codec.ts";

/** Bytes in, bytes out. Received payloads are zero-copy views of the socket's chunk. */
export const bufferCodec: Codec<Uint8Array> = builtIn({
  name: "buffer",
  encode(value: Uint8Array): Uint8Array {
    if (!(value instanceof Uint8Array)) throw new CodecError("buffer codec sends Uint8Array values only");
    return value;
  },
  decode(bytes: Uint8Array): Uint8Array {
    return bytes;
  },
});
