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
declare var crypto: { getRandomValues<T extends Uint8Array>(array: T): T };

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
