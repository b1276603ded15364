/**
 * A frame whose body straddles chunks, assembled once it is complete.
 *
 * Allocating the announced size when the header arrives let a peer make us hold 16 MiB for a
 * 5-byte header; growing a buffer as bytes came costs large frames a copy per growth. Instead the
 * pieces are kept as they arrive (the chunks are ours: adapters hand over ownership) and copied
 * into one buffer of exactly the frame's size at the end: one allocation and one copy, as before,
 * while what is held is only what arrived. Small pieces (a trickle) are coalesced, so a byte-by-byte
 * peer costs bytes, not one view object per byte.
 *
 * When an adapter that can read into a buffer of ours (Deno) asks where to read
 * ({@link PartialFrame.readTarget}) and a large frame is half received, the body buffer is
 * allocated then, the pieces copied into it once, and the rest is read straight into it: the second
 * half costs no read buffer and no copy. What is held stays at most twice what arrived; adapters
 * that push their own buffers (Bun, Node) never ask, and keep holding only what arrived.
 */

/** Pieces shorter than this are copied into a coalescing buffer instead of kept as views. */
const COALESCE_BELOW = 16 * 1024;
/** The coalescing buffer's largest size; when full it becomes one piece. */
const COALESCE_MAX = 64 * 1024;
/**
 * Frames at least this large get their body buffer once half has arrived. Below it a read into
 * the body would be one more read op for a few KiB saved.
 */
const BODY_EARLY_FROM = 256 * 1024;

export class PartialFrame {
  /** The body's announced size. */
  readonly size: number;
  /** Body bytes received so far. */
  filled = 0;
  readonly #pieces: Uint8Array[] = [];
  #small: Uint8Array | null = null;
  #smallLength = 0;
  /** The body, once allocated (large frames, half received): later bytes go straight into it. */
  #body: Uint8Array | null = null;

  constructor(size: number) {
    this.size = size;
  }

  /** Takes `chunk[from..from+count)`; the caller never gives more than the body still needs. */
  add(chunk: Uint8Array, from: number, count: number): void {
    if (count === 0) return;
    const body = this.#body;
    if (body !== null) {
      // Read straight into the body (see readTarget): nothing to copy.
      if (chunk.buffer !== body.buffer || chunk.byteOffset + from !== body.byteOffset + this.filled) body.set(chunk.subarray(from, from + count), this.filled);
      this.filled += count;
      return;
    }
    this.filled += count;
    if (count >= COALESCE_BELOW) {
      this.#flushSmall();
      this.#pieces.push(chunk.subarray(from, from + count));
      return;
    }
    // A full coalescing buffer becomes a piece; this one starts the next.
    if (this.#small !== null && this.#smallLength + count > this.#small.length && this.#small.length >= COALESCE_MAX) this.#flushSmall();
    let small = this.#small;
    const need = this.#smallLength + count;
    if (small === null || need > small.length) {
      const grown = new Uint8Array(Math.max(need, Math.min(Math.max((small?.length ?? 0) * 2, 256), COALESCE_MAX, this.size)));
      if (small !== null) grown.set(small.subarray(0, this.#smallLength), 0);
      this.#small = small = grown;
    }
    small.set(chunk.subarray(from, from + count), this.#smallLength);
    this.#smallLength = need;
  }

  /** The whole body (call once `filled === size`): the one piece itself, or all pieces copied once. */
  assemble(): Uint8Array {
    if (this.#body !== null) return this.#body;
    this.#flushSmall();
    const pieces = this.#pieces;
    if (pieces.length === 1) return pieces[0] as Uint8Array;
    return this.#collect();
  }

  /**
   * Where the rest of the body may be read to, once the body is allocated: the adapter reads
   * into this view and hands the bytes it read back through `data` as a view of it.
   */
  readTarget(): Uint8Array | undefined {
    if (this.#body === null) {
      if (this.size < BODY_EARLY_FROM || this.filled * 2 < this.size) return undefined;
      this.#body = this.#collect();
    }
    return this.#body.subarray(this.filled);
  }

  /** A buffer of the frame's size holding what arrived so far (the pieces, copied once). */
  #collect(): Uint8Array {
    this.#flushSmall();
    const body = new Uint8Array(this.size);
    let at = 0;
    for (const piece of this.#pieces) {
      body.set(piece, at);
      at += piece.length;
    }
    this.#pieces.length = 0;
    return body;
  }

  #flushSmall(): void {
    if (this.#small === null || this.#smallLength === 0) return;
    this.#pieces.push(this.#small.subarray(0, this.#smallLength));
    this.#small = null;
    this.#smallLength = 0;
  }
}
