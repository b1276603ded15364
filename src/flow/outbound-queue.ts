import type { RawSocket } from "../adapter.ts";
import { QueueFullError } from "../errors.ts";

/** What `send()` does when the outbound queue would pass `maxBufferedBytes`. */
export type OverflowPolicy = "error" | "drop-newest" | "drop-oldest";

export interface OutboundQueueOptions {
  maxBufferedBytes: number;
  overflow: OverflowPolicy;
  /** False when the adapter may keep references to written bytes: never reuse a written buffer then. */
  reuseBuffers: boolean;
}

const INITIAL_BATCH = 16 * 1024;
/**
 * Where written buffers cannot be reused (Node, Deno), every flush starts a fresh one: size it to
 * the last batch (at least this), not to a fixed 16 KiB — a 68-byte ping must not cost a 16 KiB
 * zero-filled allocation.
 */
const MIN_FRESH_BATCH = 1024;
/** Batch buffers up to this size are always kept for reuse. */
const SMALL_BATCH = 64 * 1024;

/**
 * The per-connection outbound byte queue.
 *
 * Frames are encoded straight into one batch buffer, so everything sent in a tick leaves in one
 * `write`. Bytes the socket did not accept stay "in flight" (at most one chunk) and are retried on
 * drain; new frames keep collecting in the batch meanwhile, where `drop-oldest` can still evict them.
 */
export class OutboundQueue {
  readonly #options: OutboundQueueOptions;
  #batch: Uint8Array = new Uint8Array(0);
  #batchLength = 0;
  /**
   * End offsets of the evictable frames in the batch, kept only for `drop-oldest`: the data
   * frames queued after the last control frame. Everything before `#pinnedEnd` stays.
   */
  readonly #frameEnds: number[] = [];
  /** End of the last control frame in the batch (0: none): eviction never cuts before it. */
  #pinnedEnd = 0;
  #inflight: Uint8Array | null = null;
  #inflightBuffer: Uint8Array | null = null;
  #spare: Uint8Array | null = null;
  /** Capacity for the next batch buffer: the size the last one needed. */
  #capacityHint: number;
  /** Frames and bytes evicted by the last `reserve` (drop-oldest). */
  evictedFrames = 0;
  evictedBytes = 0;
  /** Bytes the socket accepted, in total. */
  bytesWritten = 0;

  constructor(options: OutboundQueueOptions) {
    this.#options = options;
    this.#capacityHint = options.reuseBuffers ? INITIAL_BATCH : MIN_FRESH_BATCH;
  }

  /** Bytes queued and not yet accepted by the socket. */
  get bufferedAmount(): number {
    return this.#batchLength + (this.#inflight === null ? 0 : this.#inflight.length);
  }

  /** Bytes collected in the batch and not yet handed to the socket. */
  get batchedBytes(): number {
    return this.#batchLength;
  }

  /** True while the socket still owes us a drain for bytes it refused. */
  get waitingForDrain(): boolean {
    return this.#inflight !== null;
  }

  /** The buffer `reserve` returned an offset into. */
  get buffer(): Uint8Array {
    return this.#batch;
  }

  /**
   * Makes room for a frame of `size` bytes and returns the offset to encode it at, then call
   * `commit`. Returns -1 when the overflow policy dropped this frame. With `force` the bound is
   * not applied (small control frames must not be lost).
   * @throws QueueFullError with policy `"error"` when the frame does not fit.
   */
  reserve(size: number, force = false): number {
    this.evictedFrames = 0;
    this.evictedBytes = 0;
    const limit = this.#options.maxBufferedBytes;
    if (!force && this.bufferedAmount + size > limit) {
      const policy = this.#options.overflow;
      if (policy === "error") throw new QueueFullError(this.bufferedAmount, limit);
      if (policy === "drop-newest" || !this.#evictFor(size)) return -1;
    }
    const need = this.#batchLength + size;
    if (need > this.#batch.length) this.#grow(need);
    return this.#batchLength;
  }

  /**
   * Marks `buffer[..end)` as queued: `end` is what the encoder returned. A `pinned` frame (a
   * control frame: HELLO, WELCOME, PONG, GOAWAY…) is never evicted, nor is anything before it,
   * since evicting only later frames keeps the order of what is sent.
   */
  commit(end: number, pinned = false): void {
    this.#batchLength = end;
    if (this.#options.overflow !== "drop-oldest") return;
    if (pinned) {
      this.#pinnedEnd = end;
      this.#frameEnds.length = 0;
    } else {
      this.#frameEnds.push(end);
    }
  }

  /**
   * Writes as much as the socket accepts now.
   * @returns false when the socket is closed.
   */
  flush(socket: RawSocket): boolean {
    if (this.#inflight !== null) {
      const inflight = this.#inflight;
      const n = socket.write(inflight);
      if (n < 0) return false;
      this.bytesWritten += n;
      if (n < inflight.length) {
        this.#inflight = inflight.subarray(n);
        return true;
      }
      this.#inflight = null;
      if (this.#options.reuseBuffers && this.#inflightBuffer !== null && this.#worthKeeping(this.#inflightBuffer, this.#capacityHint)) {
        this.#spare = this.#inflightBuffer;
      }
      this.#inflightBuffer = null;
    }
    const length = this.#batchLength;
    if (length === 0) return true;
    const batch = this.#batch;
    const n = socket.write(batch.subarray(0, length));
    if (n < 0) return false;
    this.bytesWritten += n;
    this.#batchLength = 0;
    this.#frameEnds.length = 0;
    this.#pinnedEnd = 0;
    this.#capacityHint = Math.max(this.#options.reuseBuffers ? INITIAL_BATCH : MIN_FRESH_BATCH, length);
    if (n < length) {
      // The rest stays with this buffer; collect new frames in another one.
      this.#inflight = batch.subarray(n, length);
      this.#inflightBuffer = batch;
      this.#batch = this.#takeSpare();
    } else if (!this.#options.reuseBuffers || !this.#worthKeeping(batch, length)) {
      this.#batch = this.#takeSpare();
    }
    return true;
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this.#batch = new Uint8Array(0);
    this.#batchLength = 0;
    this.#frameEnds.length = 0;
    this.#pinnedEnd = 0;
    this.#inflight = null;
    this.#inflightBuffer = null;
    this.#spare = null;
  }

  /**
   * A written buffer is reused (Bun: no allocation, no zero-fill per flush) while it is small or
   * still well used; a big buffer left mostly empty by the last batch is let go, so a connection
   * that stops bursting does not pin megabytes.
   */
  #worthKeeping(buffer: Uint8Array, lastBatchLength: number): boolean {
    return buffer.length <= SMALL_BATCH || lastBatchLength * 4 >= buffer.length;
  }

  #takeSpare(): Uint8Array {
    const spare = this.#spare;
    this.#spare = null;
    return spare ?? new Uint8Array(0);
  }

  #grow(need: number): void {
    // Doubling, but not past the bound: a full queue must not cost twice maxBufferedBytes.
    const doubled = Math.min(this.#batch.length * 2, this.#options.maxBufferedBytes);
    const grown = new Uint8Array(Math.max(need, doubled, this.#batchLength === 0 ? Math.min(this.#capacityHint, this.#options.maxBufferedBytes) : 0));
    if (this.#batchLength > 0) grown.set(this.#batch.subarray(0, this.#batchLength), 0);
    this.#batch = grown;
  }

  /**
   * Evicts the oldest evictable frames of the batch (data frames after the last control frame)
   * until `size` more bytes fit. Control frames are pinned: a HELLO, WELCOME or GOAWAY lost here
   * would break the protocol, and cutting a data frame before one would reorder what is sent.
   */
  #evictFor(size: number): boolean {
    const ends = this.#frameEnds;
    const inflight = this.#inflight === null ? 0 : this.#inflight.length;
    const room = this.#options.maxBufferedBytes - inflight - size;
    if (room < 0) return false;
    const from = this.#pinnedEnd;
    let cut = from;
    let k = 0;
    while (this.#batchLength - (cut - from) > room && k < ends.length) cut = ends[k++] as number;
    if (this.#batchLength - (cut - from) > room) return false;
    if (cut > from) {
      const removed = cut - from;
      this.#batch.copyWithin(from, cut, this.#batchLength);
      this.#batchLength -= removed;
      ends.splice(0, k);
      for (let i = 0; i < ends.length; i++) ends[i] = (ends[i] as number) - removed;
      this.evictedFrames = k;
      this.evictedBytes = removed;
    }
    return true;
  }
}
