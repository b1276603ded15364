/**
 * The built-in shared-secret scheme `"hmac-sha256"`: the proof is HMAC-SHA256(secret, transcript).
 * The server keeps key id → secret; the client has its id and secret. With mutual authentication
 * the server proves it knows the same secret (over a transcript with another label).
 */
import { InvalidOptionError } from "../errors.ts";
import { KEY_ID_PATTERN } from "../protocol/auth.ts";
import type { ClientAuthenticator, ServerAuthenticator } from "./authenticator.ts";
import { checkCryptoKey, isCryptoKey, type KeyInput, keyBytes, keyTable, once, buffer, type SubtleKey } from "./key-material.ts";

export const HMAC_SCHEME = "hmac-sha256";
/** Shorter secrets are refused: 128 bits at least (32 random bytes recommended). */
const MIN_SECRET_BYTES = 16;
const MAX_SECRET_BYTES = 4096;
const HMAC = { name: "HMAC", hash: "SHA-256" };
const TAG_BYTES = 32;

/** `hmacAuth`: the client's key. */
export interface HmacClientOptions {
  /** The key id the server knows the secret by. */
  id: string;
  /**
   * The shared secret, at least 16 bytes: raw bytes, a string (hex if it is an even number of hex
   * digits, else base64), or an HMAC SHA-256 `CryptoKey` with the `sign` and `verify` usages.
   */
  secret: KeyInput;
}

/** `hmacServerAuth`: the secrets the server accepts, by key id. */
export interface HmacServerOptions {
  /** Key id → shared secret (each as {@link HmacClientOptions.secret}). */
  keys: Readonly<Record<string, KeyInput>>;
}

/** A secret checked now, imported on first use. */
function secretKey(value: unknown, what: string): () => Promise<SubtleKey> {
  if (isCryptoKey(value)) {
    const key = checkCryptoKey(value, "HMAC", "sign", what);
    return () => Promise.resolve(key);
  }
  const { bytes } = keyBytes(value as Uint8Array | string, what);
  if (bytes.length < MIN_SECRET_BYTES || bytes.length > MAX_SECRET_BYTES) {
    throw new InvalidOptionError(`${what} is ${bytes.length} bytes; an HMAC secret takes ${MIN_SECRET_BYTES}-${MAX_SECRET_BYTES}`);
  }
  return once(() => crypto.subtle.importKey("raw", buffer(bytes), HMAC, false, ["sign", "verify"]));
}

async function tag(key: SubtleKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(HMAC, key, buffer(data)));
}

function checkedId(id: unknown): string {
  if (typeof id !== "string" || !KEY_ID_PATTERN.test(id)) throw new InvalidOptionError(`auth id must be 1-128 printable ASCII characters, got ${typeof id}`);
  return id;
}

/**
 * The client's side of `"hmac-sha256"`.
 * @example
 * const client = await connect({ port, auth: hmacAuth({ id: "sensor-7", secret: process.env.SENSOR_SECRET }) });
 */
export function hmacAuth(options: HmacClientOptions): ClientAuthenticator {
  if (typeof options !== "object" || options === null) throw new InvalidOptionError("hmacAuth needs { id, secret }");
  const id = checkedId(options.id);
  const key = secretKey(options.secret, "hmacAuth secret");
  return {
    scheme: HMAC_SCHEME,
    id,
    prove: async (transcript) => tag(await key(), transcript),
    verifyServer: async (transcript, proof) => proof.length === TAG_BYTES && crypto.subtle.verify(HMAC, await key(), buffer(proof), buffer(transcript)),
  };
}

/**
 * The server's side of `"hmac-sha256"`: verifies against the secret of the HELLO's key id; with
 * mutual authentication it proves itself with that same secret.
 * @example
 * const server = await listen({ auth: { authenticators: [hmacServerAuth({ keys: { "sensor-7": secretHex } })] } });
 */
export function hmacServerAuth(options: HmacServerOptions): ServerAuthenticator {
  if (typeof options !== "object" || options === null) throw new InvalidOptionError("hmacServerAuth needs { keys }");
  const keys = new Map<string, () => Promise<SubtleKey>>();
  for (const [id, secret] of keyTable(options.keys, "hmacServerAuth keys", KEY_ID_PATTERN)) keys.set(id, secretKey(secret, `hmacServerAuth keys[${JSON.stringify(id)}]`));
  // An unknown id is checked against a random key: the same work as a wrong proof, and a false.
  const unknown = once(() => crypto.subtle.importKey("raw", buffer(crypto.getRandomValues(new Uint8Array(32))), HMAC, false, ["sign", "verify"]));
  return {
    scheme: HMAC_SCHEME,
    async verify(id, transcript, proof) {
      const known = keys.get(id);
      const valid = await crypto.subtle.verify(HMAC, await (known ?? unknown)(), buffer(proof.length === TAG_BYTES ? proof : new Uint8Array(TAG_BYTES)), buffer(transcript));
      return valid && known !== undefined && proof.length === TAG_BYTES;
    },
    async proveServer(id, transcript) {
      const known = keys.get(id);
      if (known === undefined) throw new InvalidOptionError(`no secret for key id ${JSON.stringify(id)}`);
      return tag(await known(), transcript);
    },
  };
}
