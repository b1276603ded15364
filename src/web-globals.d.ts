/**
 * The only runtime globals the core may use: web-standard APIs present in Bun, Node ≥ 18 and
 * Deno alike. Declared here (instead of lib "DOM" or @types/node) so that using anything else —
 * `Buffer`, `process`, `Bun`, `Deno` — fails to compile. Compile-time only; not shipped.
 */
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function setInterval(callback: () => void, ms?: number): unknown;
declare function clearInterval(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;

declare var performance: { now(): number };
declare var crypto: {
  getRandomValues<T extends Uint8Array>(array: T): T;
  /** WebCrypto, for the authenticated handshake (src/auth/): HMAC-SHA256 and Ed25519 only. */
  subtle: {
    importKey(format: "raw" | "pkcs8" | "spki", keyData: Uint8Array, algorithm: { name: string; hash?: string }, extractable: boolean, usages: ("sign" | "verify")[]): Promise<WebCryptoKeyShape>;
    sign(algorithm: { name: string }, key: WebCryptoKeyShape, data: Uint8Array): Promise<ArrayBuffer>;
    verify(algorithm: { name: string }, key: WebCryptoKeyShape, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
  };
};
/** A WebCrypto `CryptoKey`, structurally (the public type is `WebCryptoKey` in src/auth/authenticator.ts). */
interface WebCryptoKeyShape {
  readonly type: string;
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}
declare function atob(data: string): string;

declare class TextEncoder {
  encode(input?: string): Uint8Array<ArrayBuffer>;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
  decode(input?: Uint8Array): string;
}

interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}
declare class AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
