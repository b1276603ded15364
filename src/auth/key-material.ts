/**
 * Key material as the built-in schemes take it: bytes, a string (hex, base64 or PEM), or a
 * WebCrypto `CryptoKey`. Strings and bytes are decoded when the authenticator is made, so a bad
 * key fails `hmacAuth(...)`/`ed25519Auth(...)` at once with `FW_INVALID_OPTION`, not a handshake.
 */
import { InvalidOptionError } from "../errors.ts";
import type { WebCryptoKey } from "./authenticator.ts";

/** A key as this runtime's `crypto.subtle` takes it (its own `CryptoKey` type where it has one). */
export type SubtleKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

/** A key: raw bytes, a string, or a `CryptoKey`. */
export type KeyInput = Uint8Array | string | WebCryptoKey;

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;
const PEM = /^-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\s]+)-----END \1-----\s*$/;

/** True for a WebCrypto key (anything that is not bytes or a string but has a key's shape). */
export function isCryptoKey(value: unknown): value is WebCryptoKey {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return false;
  const key = value as { type?: unknown; algorithm?: { name?: unknown }; usages?: unknown };
  return typeof key.type === "string" && typeof key.algorithm?.name === "string" && Array.isArray(key.usages);
}

function base64(text: string, what: string): Uint8Array {
  const standard = text.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  let binary: string;
  try {
    binary = atob(standard + "=".repeat((4 - (standard.length % 4)) % 4));
  } catch {
    throw new InvalidOptionError(`${what} is not valid hex, base64 or PEM`);
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * The bytes of a key given as bytes or a string. A string is PEM (`-----BEGIN …-----`, its DER
 * returned with the label), else hex when it is an even number of hex digits, else base64
 * (standard or URL-safe, padding optional).
 */
export function keyBytes(value: Uint8Array | string, what: string): { bytes: Uint8Array; pemLabel?: string } {
  if (value instanceof Uint8Array) return { bytes: value.slice() };
  if (typeof value !== "string") throw new InvalidOptionError(`${what} must be a Uint8Array, a string (hex, base64 or PEM) or a CryptoKey`);
  const text = value.trim();
  const pem = PEM.exec(text);
  if (pem !== null) return { bytes: base64((pem[2] as string).replace(/\s+/g, ""), what), pemLabel: pem[1] as string };
  if (HEX.test(text)) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return { bytes: out };
  }
  if (text.length > 0 && BASE64.test(text)) return { bytes: base64(text, what) };
  throw new InvalidOptionError(`${what} is not valid hex, base64 or PEM`);
}

/** Checks a given `CryptoKey` is of `algorithm` and allows `usage`. */
export function checkCryptoKey(key: WebCryptoKey, algorithm: string, usage: "sign" | "verify", what: string): SubtleKey {
  if (key.algorithm.name !== algorithm) throw new InvalidOptionError(`${what} is a ${key.algorithm.name} CryptoKey; ${algorithm} is needed`);
  if (!key.usages.includes(usage)) throw new InvalidOptionError(`${what} is a CryptoKey without the "${usage}" usage`);
  // The caller's key came from this runtime's WebCrypto: it is what `crypto.subtle` takes.
  return key as unknown as SubtleKey;
}

/** A plain object of key id → key, each id a valid key id; at least one. */
export function keyTable(value: unknown, what: string, idPattern: RegExp): [string, unknown][] {
  if (typeof value !== "object" || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new InvalidOptionError(`${what} must be an object of key id → key`);
  }
  const entries = Object.entries(value);
  if (entries.length === 0) throw new InvalidOptionError(`${what} is empty: give at least one key`);
  for (const [id] of entries) {
    if (!idPattern.test(id)) throw new InvalidOptionError(`${what}: key id ${JSON.stringify(id.slice(0, 40))} must be 1-128 printable ASCII characters`);
  }
  return entries;
}

/** A memoised async step, so a key is imported once, on first use. */
export function once<V>(make: () => Promise<V>): () => Promise<V> {
  let made: Promise<V> | undefined;
  return () => {
    made ??= make();
    return made;
  };
}

/** Bytes as WebCrypto's strictest typings (Deno's) want them: framewire's buffers are never shared. */
export function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}
