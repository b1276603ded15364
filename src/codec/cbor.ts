// The ./encode and ./decode entries are cbor-x's pure JavaScript build: its native string
// decoder (cbor-extract) mis-decodes non-ASCII strings and can crash the process under Bun.
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";
import { CodecError } from "../errors.ts";
import { assertWellFormedCbor } from "./cbor-wellformed.ts";
import type { Codec } from "./codec.ts";

/**
 * CBOR (RFC 8949) through cbor-x. Records and shared structures are off so any CBOR peer can read
 * what we send. Each codec has its own encoder, so connections share no state.
 */
export function cborCodec<T = unknown>(): Codec<T> {
  const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false } as const;
  const encoder = new Encoder(options);
  const decoder = new Decoder(options);
  return {
    name: "cbor",
    encode(value: T): Uint8Array {
      try {
        return encoder.encode(value);
      } catch (error) {
        throw new CodecError("value cannot be encoded as CBOR", { cause: error });
      }
    },
    decode(bytes: Uint8Array): T {
      try {
        assertWellFormedCbor(bytes);
        return decoder.decode(bytes) as T;
      } catch (error) {
        throw new CodecError("payload is not valid CBOR", { cause: error });
      }
    },
  };
}
