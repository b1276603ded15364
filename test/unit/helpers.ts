/**
 * Small shared helpers for the framer / codec / queue unit tests. Pure functions only: nothing
 * here stands in for a runtime socket.
 */
import { expect } from "bun:test";
import type { FrameDecoder, Framer } from "../../src/framing/index.ts";

/** Bytes from numbers. */
export function u8(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Bytes of a string as UTF-8. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** `n` bytes with a recognisable pattern starting at `seed`. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Cuts `bytes` at the given offsets (any order, duplicates give empty chunks). Chunks are copies. */
export function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...cuts].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.slice(from, p));
    from = p;
  }
  chunks.push(bytes.slice(from));
  return chunks;
}

/** Plain number arrays, for readable `toEqual` diffs. */
export function arr(bytes: Uint8Array): number[] {
  return Array.from(bytes);
}

export interface SinkCall {
  bytes: Uint8Array;
  start: number;
  end: number;
  /** Copy of `bytes[start..end)` taken at delivery time. */
  copy: number[];
}

/** A sink that records every call (with a copy of the frame taken at delivery time). */
export function recorder(onFrame?: (call: SinkCall, index: number) => void): {
  calls: SinkCall[];
  /** The frames as they were at delivery time. */
  frames: () => number[][];
  /** The frames as the delivered views read now: received bytes must never be reused. */
  framesNow: () => number[][];
  sink: (bytes: Uint8Array, start: number, end: number) => void;
} {
  const calls: SinkCall[] = [];
  return {
    calls,
    frames: () => calls.map((c) => c.copy),
    framesNow: () => calls.map((c) => Array.from(c.bytes.subarray(c.start, c.end))),
    sink(bytes, start, end) {
      const call = { bytes, start, end, copy: Array.from(bytes.subarray(start, end)) };
      calls.push(call);
      onFrame?.(call, calls.length - 1);
    },
  };
}

/** Decodes `chunks` with a fresh decoder of `framer`; returns the frames as number arrays. */
export function decodeChunks(framer: Framer, chunks: readonly Uint8Array[]): number[][] {
  const decoder = framer.createDecoder();
  const rec = recorder();
  for (const chunk of chunks) decoder.push(chunk, rec.sink);
  expect(decoder.stopped).toBe(false);
  const frames = rec.frames();
  // Frames delivered earlier are still intact after later pushes (no buffer reuse).
  expect(rec.framesNow()).toEqual(frames);
  return frames;
}

/** Pushes chunks, returning the frames delivered so far and the error thrown (if any). */
export function decodeUntilError(
  decoder: FrameDecoder,
  chunks: readonly Uint8Array[],
): { frames: number[][]; error: unknown; failedAt: number } {
  const rec = recorder();
  for (let i = 0; i < chunks.length; i++) {
    try {
      decoder.push(chunks[i] as Uint8Array, rec.sink);
    } catch (error) {
      return { frames: rec.frames(), error, failedAt: i };
    }
  }
  return { frames: rec.frames(), error: undefined, failedAt: -1 };
}

/** Runs `fn`, which must throw; returns the error after checking its class and `code`. */
export function expectThrows<E extends Error>(
  fn: () => unknown,
  errorClass: abstract new (...args: never[]) => E,
  code: string,
): E {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (error) {
    threw = true;
    thrown = error;
  }
  expect(threw).toBe(true);
  expect(thrown).toBeInstanceOf(errorClass);
  expect((thrown as { code?: unknown }).code).toBe(code);
  return thrown as E;
}

/** Checks an already-caught error's class and code. */
export function expectError<E extends Error>(
  error: unknown,
  errorClass: abstract new (...args: never[]) => E,
  code: string,
): E {
  expect(error).toBeInstanceOf(errorClass);
  expect((error as { code?: unknown }).code).toBe(code);
  return error as E;
}

/** Every offset 1..length-1, i.e. every inner byte boundary. */
export function innerBoundaries(length: number): number[] {
  return Array.from({ length: Math.max(0, length - 1) }, (_, i) => i + 1);
}
