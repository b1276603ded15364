/**
 * u32 BE length-prefixed parser shared by the raw ceilings of every runtime (raw.ts for Bun,
 * raw-node.ts, raw-deno.ts): whole frames inside a chunk are delivered as zero-copy subarrays,
 * only frames that straddle chunks are assembled (copied). Runtime-neutral: no Bun/Node/Deno API.
 */
import { MAX_FRAME, RAW_HEADER, readU32 } from "./common.ts";

/** u32 BE length-prefixed parser: in place for whole frames, one copy for straddling ones. */
export class FrameParser {
  readonly #onFrame: (frame: Uint8Array) => void;
  readonly #header = new Uint8Array(RAW_HEADER);
  #headerLength = 0;
  #partial: Uint8Array | null = null;
  #filled = 0;

  constructor(onFrame: (frame: Uint8Array) => void) {
    this.#onFrame = onFrame;
  }

  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let pos = 0;
    if (this.#headerLength > 0) {
      const header = this.#header;
      while (this.#headerLength < RAW_HEADER && pos < length) header[this.#headerLength++] = chunk[pos++] as number;
      if (this.#headerLength < RAW_HEADER) return;
      this.#headerLength = 0;
      const size = readU32(header, 0);
      if (size > MAX_FRAME) throw new Error(`frame of ${size} bytes exceeds ${MAX_FRAME}`);
      this.#partial = new Uint8Array(size);
      this.#filled = 0;
    }
    if (this.#partial !== null) {
      const partial = this.#partial;
      const take = Math.min(partial.length - this.#filled, length - pos);
      partial.set(chunk.subarray(pos, pos + take), this.#filled);
      this.#filled += take;
      pos += take;
      if (this.#filled < partial.length) return;
      this.#partial = null;
      this.#onFrame(partial);
    }
    while (pos + RAW_HEADER <= length) {
      const size =
        (((chunk[pos] as number) << 24) | ((chunk[pos + 1] as number) << 16) | ((chunk[pos + 2] as number) << 8) | (chunk[pos + 3] as number)) >>>
        0;
      if (size > MAX_FRAME) throw new Error(`frame of ${size} bytes exceeds ${MAX_FRAME}`);
      const start = pos + RAW_HEADER;
      const end = start + size;
      if (end > length) {
        const partial = new Uint8Array(size);
        partial.set(chunk.subarray(start, length), 0);
        this.#partial = partial;
        this.#filled = length - start;
        return;
      }
      pos = end;
      this.#onFrame(chunk.subarray(start, end));
    }
    if (pos < length) {
      this.#header.set(chunk.subarray(pos, length), 0);
      this.#headerLength = length - pos;
    }
  }
}

