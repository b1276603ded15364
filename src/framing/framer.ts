/**
 * The framer interface: how message bodies become bytes on the wire and back.
 *
 * Encoding writes straight into the outbound batch (no per-message allocation). Decoding hands
 * the sink `(bytes, start, end)` so the caller makes at most one view per frame; a frame that lies
 * wholly inside a chunk is never copied, only one that straddles chunks is assembled.
 */

/** Receives one complete frame body: `bytes[start..end)`. Valid as long as the chunk it came from. */
export type FrameSink = (bytes: Uint8Array, start: number, end: number) => void;

export interface Framer {
  /** `"length-prefixed"`, `"delimiter"` or `"none"`. */
  readonly kind: string;
  /**
   * Total wire size of a frame whose body is `bodyLength` bytes.
   * @throws FrameTooLargeError when the body exceeds `maxFrameSize` or the header's width.
   */
  encodedLength(bodyLength: number): number;
  /**
   * Throws when `payload` cannot be sent whatever its size (e.g. it contains the delimiter).
   * Called before any room is made in the queue, so a refused message costs nothing.
   */
  checkPayload?(payload: Uint8Array): void;
  /**
   * Writes one frame whose body is `prefix` (one byte, when >= 0) followed by `payload`, at
   * `target[offset..]`. `target` must have room for `encodedLength(body)` bytes, and
   * `checkPayload` (where the framer has one) must have accepted `payload`.
   * @returns the offset just past the frame.
   */
  encodeInto(target: Uint8Array, offset: number, payload: Uint8Array, prefix: number): number;
  /** Convenience: one frame as a new array. */
  encode(payload: Uint8Array): Uint8Array;
  /** A decoder with its own state; one per connection. */
  createDecoder(): FrameDecoder;
}

export interface FrameDecoder {
  /**
   * Parses `chunk`, calling `sink` for every complete frame in order. The decoder may keep a
   * reference to `chunk` (the adapter gave up ownership of it).
   * @throws FramewireError on bytes that cannot be a frame; the decoder then stays failed and
   * rethrows on every later call: it never resynchronises.
   */
  push(chunk: Uint8Array, sink: FrameSink): void;
  /**
   * Asks the decoder to return from `push`/`resume` after the current frame; the unparsed rest
   * is kept. Used when the consumer's queue is full.
   */
  stop(): void;
  /** Continues parsing what `stop()` left; may stop again. */
  resume(sink: FrameSink): void;
  /** True while `stop()` left unparsed bytes. */
  readonly stopped: boolean;
  /** Bytes held for an incomplete or unparsed frame. */
  readonly bufferedBytes: number;
  /**
   * Bytes held for the frame that has begun and is not complete, without what `stop()` kept
   * unparsed (the limits use it: src/limits/). Absent: `bufferedBytes` is used.
   */
  readonly partialBytes?: number;
  /**
   * Where the next bytes may be read to directly: a view of the body of a large frame being
   * received, or undefined. Bytes read into it are then pushed as a view of it (no copy).
   */
  readTarget?(): Uint8Array | undefined;
  /**
   * Lets go of a frame begun and not completed (the stream ended: it never will be). Frames already
   * received and not parsed yet (`stop()`) are kept.
   */
  discardIncomplete?(): void;
}
