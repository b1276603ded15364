import type { RawSocket } from "../adapter.ts";
import { QueueFullError } from "../errors.ts";
import { LentBuffers } from "./lent-buffers.ts";

/** What `send()` does when the outbound queue would pass `maxBufferedBytes`. */
export type OverflowPolicy = "error" | "drop-newest" | "drop-oldest";

export interface OutboundQueueOptions {
  maxBufferedBytes: number;
  overflow: OverflowPolicy;
  /**
   * False when the adapter may keep references to written bytes: a written buffer is then reused
   * only once the adapter hands it back through {@link OutboundQueue.released}.
   */
  reuseBuffers: boolean;
}

/**
 * The smallest batch buffer; a new one is sized to the last batch (at least this). An idle
 * connection holds one batch after its handshake, so this is part of its memory (16 KiB here made
 * an idle Bun connection cost three times a raw socket). A stream's batch grows by doubling.
 */
const MIN_BATCH = 256;
/** Batch buffers up to this size are always kept for reuse. */
const SMALL_BATCH = 64 * 1024;
/**
 * Written buffers kept ready to be filled again. Where the adapter holds written batches until
 * they reach the kernel (Node, Deno), a streaming connection has up to `highWaterMark` of them out
 * at once; keeping those that come back saves a zero-filled allocation (and, for large buffers,
 * page faults) per flush; a 1 MiB message must fit. Once everything is written a connection keeps one.
 */
const MAX_SPARES = 8;
/**
 * Buffers an adapter that retains writes may hold at once (counted by their whole size). Past it
 * the batch is not handed over but keeps collecting until a release: frames stay dense in one
 * buffer (a stream of tiny sends would otherwise pin a whole buffer per flush) and evictable by
 * `drop-oldest`; like Node's own write mark, and the Deno adapter's old queue mark. Never more than
 * half of `maxBufferedBytes`.
 */
const LEND_MARK = 256 * 1024;
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/**
 * The per-connection outbound byte queue.
 *
 * Frames are encoded straight into one batch buffer, so everything sent in a tick leaves in one
 * `write`. Bytes the socket did not accept stay "in flight" (at most one chunk) and are retried on
 * drain; new frames keep collecting in the batch meanwhile, where `drop-oldest` can still evict them.
 */
export class OutboundQueue {
  readonly #options: OutboundQueueOptions;
  readonly #maxBuffered: number;
  readonly #dropOldest: boolean;
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
  /** Written buffers ready to be filled again (at most {@link MAX_SPARES}). */
  readonly #spares: Uint8Array[] = [];
  #spareBytes = 0;
  /** The exact views handed to `write` that the adapter still holds (reuseBuffers false). */
  readonly #lent = new LentBuffers();
  /**
   * Recent batch sizes, as a peak that decays by a quarter per flush: the capacity a new batch
   * starts at, and what decides whether a written buffer is worth keeping. A stream that writes a
   * 64 KiB batch and then a small tail every tick keeps its buffer (and does not regrow it from
   * nothing each tick); a connection that stops bursting lets a big one go after a few flushes.
   */
  #capacityHint: number;
  /** Frames and bytes evicted by the last `reserve` (drop-oldest). */
  evictedFrames = 0;
  evictedBytes = 0;
  /** Bytes the socket accepted, in total. */
  bytesWritten = 0;

  constructor(options: OutboundQueueOptions) {
    this.#options = options;
    this.#maxBuffered = options.maxBufferedBytes;
    this.#dropOldest = options.overflow === "drop-oldest";
    this.#capacityHint = MIN_BATCH;
  }

  /**
   * Bytes not yet handed to the kernel: queued here, plus those an adapter that retains writes
   * accepted and still holds (Node's and Deno's own write buffers count against the bounds too).
   */
  get bufferedAmount(): number {
    return this.#batchLength + (this.#inflight === null ? 0 : this.#inflight.length) + this.#lent.bytes;
  }

  /** Bytes queued here and not yet accepted by the socket. */
  get unsentBytes(): number {
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

  /**
   * True while a flush would hand nothing to the socket: it owes a drain, or (where the adapter
   * retains writes) holds the lend mark's worth. Priority lanes keep frames back meanwhile.
   */
  get holding(): boolean {
    return this.#inflight !== null || (!this.#options.reuseBuffers && this.#lent.capacity >= Math.min(LEND_MARK, this.#maxBuffered >>> 1));
  }

  /** The buffer `reserve` returned an offset into. */
  get buffer(): Uint8Array {
    return this.#batch;
  }

  /**
   * Queues one frame in the common wire format, `u32 BE length | type byte | payload` (no type
   * byte when `type` is negative), in one call: `send`'s hot path. The caller has checked the
   * size against the peer's limit.
   * @returns the frame's end offset, or -1 when the overflow policy dropped it.
   * @throws QueueFullError as {@link reserve} does.
   */
  appendU32(payload: Uint8Array, type: number): number {
    const bodyLength = type < 0 ? payload.length : payload.length + 1;
    const size = 4 + bodyLength;
    let at = this.#batchLength;
    if (at + size <= this.#batch.length && this.bufferedAmount + size <= this.#maxBuffered) {
      this.evictedFrames = 0;
      this.evictedBytes = 0;
    } else {
      at = this.reserve(size);
      if (at < 0) return -1;
    }
    const buffer = this.#batch;
    buffer[at] = bodyLength >>> 24;
    buffer[at + 1] = (bodyLength >>> 16) & 0xff;
    buffer[at + 2] = (bodyLength >>> 8) & 0xff;
    buffer[at + 3] = bodyLength & 0xff;
    let p = at + 4;
    if (type >= 0) buffer[p++] = type;
    buffer.set(payload, p);
    const end = p + payload.length;
    this.#batchLength = end;
    if (this.#dropOldest) this.#frameEnds.push(end);
    return end;
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
      if (this.#options.reuseBuffers && this.#inflightBuffer !== null) this.#keep(this.#inflightBuffer, this.#capacityHint);
      this.#inflightBuffer = null;
    }
    const length = this.#batchLength;
    if (length === 0) return true;
    const lending = !this.#options.reuseBuffers;
    // A release flushes again. Half the bound at most, so drop-oldest keeps room to evict in.
    if (lending && this.#lent.capacity >= Math.min(LEND_MARK, this.#maxBuffered >>> 1)) return true;
    const batch = this.#batch;
    const view = batch.subarray(0, length);
    // Lent before the call: an adapter may release what it wrote before write() returns.
    if (lending) this.#lent.push(view);
    const n = socket.write(view);
    if (n < length && lending) this.#lent.take(view);
    if (n < 0) return false;
    this.bytesWritten += n;
    this.#batchLength = 0;
    this.#frameEnds.length = 0;
    this.#pinnedEnd = 0;
    this.#capacityHint = Math.max(MIN_BATCH, length, (this.#capacityHint * 3) >>> 2);
    if (n < length) {
      // The rest stays with this buffer; collect new frames in another one.
      this.#inflight = n === 0 ? view : batch.subarray(n, length);
      this.#inflightBuffer = batch;
      this.#batch = this.#takeSpare();
    } else if (lending) {
      this.#batch = this.#takeSpare();
    } else if (!this.#worthKeeping(batch, this.#capacityHint)) {
      this.#batch = this.#takeSpare();
    }
    return true;
  }

  /**
   * The adapter no longer holds `bytes`, a view this queue handed to `write` (reuseBuffers false):
   * its buffer may be written again. Saves a fresh zero-filled batch per flush on Node and Deno.
   */
  released(bytes: Uint8Array): void {
    if (!this.#lent.take(bytes)) return;
    // Batches are whole buffers of their own (see #grow), so the view's buffer is the batch.
    const buffer = new Uint8Array(bytes.buffer as ArrayBuffer);
    this.#keep(buffer, this.#capacityHint);
    // All written: a quiet connection holds one spare, not a burst's worth.
    if (this.#lent.count === 0 && this.unsentBytes === 0) while (this.#spares.length > 1) this.#spareBytes -= (this.#spares.pop() as Uint8Array).length;
  }

  /** Bytes the kernel has: accepted by the socket and, where the adapter retains writes, released. */
  get bytesFlushed(): number {
    return this.bytesWritten - this.#lent.bytes;
  }

  /**
   * What never reached the kernel, oldest first, as byte runs that start at a frame boundary:
   * the first `skip` bytes of a run did reach it (a partial write). For reporting what a closed
   * connection could not deliver; read it before `clear()`.
   */
  unsent(): { bytes: Uint8Array; skip: number }[] {
    const runs = this.#lent.views().map((bytes) => ({ bytes, skip: 0 }));
    const inflight = this.#inflight;
    const whole = this.#inflightBuffer;
    if (inflight !== null && whole !== null) {
      const skip = inflight.byteOffset - whole.byteOffset;
      runs.push({ bytes: whole.subarray(0, skip + inflight.length), skip });
    }
    if (this.#batchLength > 0) runs.push({ bytes: this.#batch.subarray(0, this.#batchLength), skip: 0 });
    return runs;
  }

  /** Drops everything queued (the connection is gone). */
  clear(): void {
    this.#batch = new Uint8Array(0);
    this.#batchLength = 0;
    this.#frameEnds.length = 0;
    this.#pinnedEnd = 0;
    this.#inflight = null;
    this.#inflightBuffer = null;
    this.#spares.length = 0;
    this.#spareBytes = 0;
    this.#lent.clear();
  }

  /**
   * A written buffer is reused (Bun: no allocation, no zero-fill per flush) while it is small or
   * still well used by recent batches; a big buffer they leave mostly empty is let go, so a
   * connection that stops bursting does not pin megabytes.
   */
  #worthKeeping(buffer: Uint8Array, recentBatchLength: number): boolean {
    return buffer.length <= SMALL_BATCH || recentBatchLength * 4 >= buffer.length;
  }

  #takeSpare(): Uint8Array {
    const spare = this.#spares.pop();
    if (spare === undefined) return new Uint8Array(0);
    this.#spareBytes -= spare.length;
    return spare;
  }

  #keep(buffer: Uint8Array, lastBatchLength: number): void {
    if (this.#spares.length >= MAX_SPARES || this.#spareBytes + buffer.length > MAX_SPARE_BYTES) return;
    if (!this.#worthKeeping(buffer, lastBatchLength)) return;
    this.#spares.push(buffer);
    this.#spareBytes += buffer.length;
  }

  #grow(need: number): void {
    if (this.#batchLength === 0) {
      // A buffer the adapter released since the last flush, when one is big enough.
      const spare = this.#spares.at(-1);
      if (spare !== undefined && spare.length >= need) {
        this.#batch = this.#takeSpare();
        return;
      }
    }
    // Doubling, but not past what the bound leaves beside the bytes already out (in flight, or
    // held by the adapter): a full queue must not cost twice maxBufferedBytes.
    const held = (this.#inflight === null ? 0 : this.#inflight.length) + this.#lent.bytes;
    const doubled = Math.min(this.#batch.length * 2, this.#options.maxBufferedBytes - held);
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
    const held = (this.#inflight === null ? 0 : this.#inflight.length) + this.#lent.bytes;
    const room = this.#options.maxBufferedBytes - held - size;
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
