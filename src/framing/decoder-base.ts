import type { FrameDecoder, FrameSink } from "./framer.ts";

/**
 * Shared stop/resume and fail-once bookkeeping for every decoder. Subclasses implement `parse`,
 * which consumes `chunk` from `offset` and returns where it stopped (the length when done).
 */
export abstract class DecoderBase implements FrameDecoder {
  protected stopRequested = false;
  #rest: Uint8Array | null = null;
  #restOffset = 0;
  #failure: unknown = null;

  protected abstract parse(chunk: Uint8Array, offset: number, sink: FrameSink): number;
  /** Bytes the subclass holds for a frame it has not completed. */
  protected abstract get heldBytes(): number;

  get stopped(): boolean {
    return this.#rest !== null;
  }

  /** Bytes held for the frame that has begun and is not complete (not counting unparsed bytes kept by `stop()`). */
  get partialBytes(): number {
    return this.heldBytes;
  }

  get bufferedBytes(): number {
    return this.heldBytes + (this.#rest ? this.#rest.length - this.#restOffset : 0);
  }

  stop(): void {
    this.stopRequested = true;
  }

  push(chunk: Uint8Array, sink: FrameSink): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#rest !== null) {
      // Still stopped: keep order by queueing behind the unparsed rest.
      const rest = this.#rest.subarray(this.#restOffset);
      const joined = new Uint8Array(rest.length + chunk.length);
      joined.set(rest, 0);
      joined.set(chunk, rest.length);
      this.#rest = joined;
      this.#restOffset = 0;
      return;
    }
    this.#run(chunk, 0, sink);
  }

  resume(sink: FrameSink): void {
    if (this.#failure !== null) throw this.#failure;
    const rest = this.#rest;
    if (rest === null) return;
    this.#rest = null;
    this.#run(rest, this.#restOffset, sink);
  }

  #run(chunk: Uint8Array, offset: number, sink: FrameSink): void {
    this.stopRequested = false;
    let end: number;
    try {
      end = this.parse(chunk, offset, sink);
    } catch (error) {
      this.#failure = error;
      throw error;
    }
    if (end < chunk.length) {
      this.#rest = chunk;
      this.#restOffset = end;
    }
    this.stopRequested = false;
  }
}
