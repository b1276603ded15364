// The ./encode and ./decode entries are cbor-x's pure JavaScript build: its native string
// decoder (cbor-extract) mis-decodes non-ASCII strings and can crash the process under Bun.
import { Decoder } from "cbor-x/decode";
import { Encoder } from "cbor-x/encode";
import { CodecError } from "../errors.ts";
import { type CborLimits, resolveCborLimits } from "./cbor-limits.ts";
import { assertWellFormedCbor } from "./cbor-wellformed.ts";
import { builtIn, type Codec } from "./codec.ts";

/**
 * CBOR (RFC 8949) through cbor-x. Records and shared structures are off so any CBOR peer can read
 * what we send. Each codec has its own encoder, so connections share no state.
 *
 * Received payloads are checked first — well-formed, within `limits`, no refused tag — in one
 * linear pass, so hostile input fails with `CodecError` before cbor-x does any work.
 * @param limits Decoding limits and extra allowed tags (`DEFAULT_CBOR_LIMITS` for what is unset).
 * @throws InvalidOptionError for a limit that is not a non-negative integer, or an unknown key.
 */
export function cborCodec<T = unknown>(limits?: CborLimits): Codec<T> {
  const checked = resolveCborLimits(limits);
  const options = { useRecords: false, mapsAsObjects: true, tagUint8Array: false } as const;
  const encoder = new Encoder(options);
  const decoder = new Decoder(options);
  const codec: Codec<T> & { decodedItems: number } = {
    name: "cbor",
    decodedItems: 0,
    encode(value: T): Uint8Array {
      try {
        return encoder.encode(value);
      } catch (error) {
        throw new CodecError("value cannot be encoded as CBOR", { cause: error });
      }
    },
    decode(bytes: Uint8Array): T {
      const items = assertWellFormedCbor(bytes, checked);
      let value: T;
      try {
        value = decoder.decode(bytes) as T;
      } catch (error) {
        throw new CodecError("payload is not valid CBOR", { cause: error });
      }
      codec.decodedItems = items;
      return value;
    },
  };
  return builtIn(codec);
}
