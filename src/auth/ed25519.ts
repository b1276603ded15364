/**
 * The built-in signature scheme `"ed25519"` (WebCrypto Ed25519, identical on Bun, Node ≥ 22 and
 * Deno): the proof is the client's Ed25519 signature of the transcript. The server keeps client
 * id → public key; with mutual authentication it signs with its own private key, whose public
 * key the client knows.
 */
import { InvalidOptionError } from "../errors.ts";
import { KEY_ID_PATTERN } from "../protocol/auth.ts";
import type { ClientAuthenticator, ServerAuthenticator } from "./authenticator.ts";
import { checkCryptoKey, isCryptoKey, type KeyInput, keyBytes, keyTable, once, buffer, type SubtleKey } from "./key-material.ts";

export const ED25519_SCHEME = "ed25519";
const ED25519 = { name: "Ed25519" };
const SIGNATURE_BYTES = 64;
/** DER before the 32 key bytes: SubjectPublicKeyInfo and PKCS #8 (v1, no public key) of id-Ed25519. */
const SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20);
/** The curve's base point: a valid public key that no client holds, for unknown ids. */
const STAND_IN_PUBLIC_KEY = Uint8Array.of(0x58, ...new Array<number>(31).fill(0x66));

/** `ed25519Auth`: the client's key pair (and the server's public key, for mutual authentication). */
export interface Ed25519ClientOptions {
  /** The key id the server knows the public key by. */
  id: string;
  /**
   * The client's private key: the 32-byte seed (bytes, 64 hex digits or base64), PKCS #8 DER or
   * PEM (`-----BEGIN PRIVATE KEY-----`), or an Ed25519 `CryptoKey` with the `sign` usage.
   */
  privateKey: KeyInput;
  /** The server's public key (as {@link Ed25519ServerOptions.keys}), needed for `requireServerProof`. */
  serverPublicKey?: KeyInput;
}

/** `ed25519ServerAuth`: the clients' public keys, and the server's own private key. */
export interface Ed25519ServerOptions {
  /**
   * Client key id → public key: 32 bytes (bytes, 64 hex digits or base64), SPKI DER or PEM
   * (`-----BEGIN PUBLIC KEY-----`), or an Ed25519 `CryptoKey` with the `verify` usage.
   */
  keys: Readonly<Record<string, KeyInput>>;
  /** The server's private key (as {@link Ed25519ClientOptions.privateKey}), to prove itself to clients that ask. */
  privateKey?: KeyInput;
}

/** The 32 raw key bytes of a key given as raw bytes, DER or PEM. */
function rawKey(value: Uint8Array | string, prefix: Uint8Array, kind: "public" | "private", what: string): Uint8Array {
  const { bytes, pemLabel } = keyBytes(value, what);
  const label = kind === "public" ? "PUBLIC KEY" : "PRIVATE KEY";
  if (pemLabel !== undefined && pemLabel !== label) throw new InvalidOptionError(`${what} is a PEM "${pemLabel}"; "${label}" is needed`);
  if (bytes.length === 32 && pemLabel === undefined) return bytes;
  if (bytes.length === prefix.length + 32 && prefix.every((b, i) => bytes[i] === b)) return bytes.slice(prefix.length);
  throw new InvalidOptionError(`${what} is not an Ed25519 ${kind} key: 32 raw bytes or ${kind === "public" ? "SPKI" : "PKCS #8"} DER/PEM of Ed25519 are taken`);
}

/** A public key checked now, imported on first use. */
function publicKey(value: unknown, what: string): () => Promise<SubtleKey> {
  if (isCryptoKey(value)) {
    const key = checkCryptoKey(value, "Ed25519", "verify", what);
    return () => Promise.resolve(key);
  }
  const raw = rawKey(value as Uint8Array | string, SPKI_PREFIX, "public", what);
  return once(() => crypto.subtle.importKey("raw", buffer(raw), ED25519, false, ["verify"]));
}

/** A private key checked now, imported on first use. */
function privateKey(value: unknown, what: string): () => Promise<SubtleKey> {
  if (isCryptoKey(value)) {
    const key = checkCryptoKey(value, "Ed25519", "sign", what);
    return () => Promise.resolve(key);
  }
  const seed = rawKey(value as Uint8Array | string, PKCS8_PREFIX, "private", what);
  const der = new Uint8Array(PKCS8_PREFIX.length + 32);
  der.set(PKCS8_PREFIX);
  der.set(seed, PKCS8_PREFIX.length);
  return once(() => crypto.subtle.importKey("pkcs8", buffer(der), ED25519, false, ["sign"]));
}

async function sign(key: () => Promise<SubtleKey>, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(ED25519, await key(), buffer(data)));
}

async function verify(key: () => Promise<SubtleKey>, data: Uint8Array, signature: Uint8Array): Promise<boolean> {
  return signature.length === SIGNATURE_BYTES && crypto.subtle.verify(ED25519, await key(), buffer(signature), buffer(data));
}

/**
 * The client's side of `"ed25519"`.
 * @example
 * const client = await connect({ port, auth: ed25519Auth({ id: "agent-1", privateKey: seedHex, serverPublicKey }), requireServerProof: true });
 */
export function ed25519Auth(options: Ed25519ClientOptions): ClientAuthenticator {
  if (typeof options !== "object" || options === null) throw new InvalidOptionError("ed25519Auth needs { id, privateKey }");
  if (typeof options.id !== "string" || !KEY_ID_PATTERN.test(options.id)) throw new InvalidOptionError("ed25519Auth id must be 1-128 printable ASCII characters");
  const own = privateKey(options.privateKey, "ed25519Auth privateKey");
  const server = options.serverPublicKey === undefined ? undefined : publicKey(options.serverPublicKey, "ed25519Auth serverPublicKey");
  return {
    scheme: ED25519_SCHEME,
    id: options.id,
    prove: (transcript) => sign(own, transcript),
    ...(server !== undefined ? { verifyServer: (transcript: Uint8Array, proof: Uint8Array) => verify(server, transcript, proof) } : {}),
  };
}

/**
 * The server's side of `"ed25519"`.
 * @example
 * const server = await listen({ auth: { authenticators: [ed25519ServerAuth({ keys: { "agent-1": agentPublicKeyHex }, privateKey: serverSeedHex })] } });
 */
export function ed25519ServerAuth(options: Ed25519ServerOptions): ServerAuthenticator {
  if (typeof options !== "object" || options === null) throw new InvalidOptionError("ed25519ServerAuth needs { keys }");
  const keys = new Map<string, () => Promise<SubtleKey>>();
  for (const [id, key] of keyTable(options.keys, "ed25519ServerAuth keys", KEY_ID_PATTERN)) keys.set(id, publicKey(key, `ed25519ServerAuth keys[${JSON.stringify(id)}]`));
  const standIn = publicKey(STAND_IN_PUBLIC_KEY, "stand-in key");
  const own = options.privateKey === undefined ? undefined : privateKey(options.privateKey, "ed25519ServerAuth privateKey");
  return {
    scheme: ED25519_SCHEME,
    async verify(id, transcript, proof) {
      const known = keys.get(id);
      // An unknown id costs a verification too (against a key nobody holds), so timing does not tell.
      const valid = await verify(known ?? standIn, transcript, proof);
      return valid && known !== undefined;
    },
    ...(own !== undefined ? { proveServer: (_id: string, transcript: Uint8Array) => sign(own, transcript) } : {}),
  };
}
