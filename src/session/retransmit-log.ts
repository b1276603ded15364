/**
 * The DATA payloads this side sent in a resumable session that the peer has not acknowledged,
 * oldest first, so they can be sent again after a reconnect.
 *
 * Payloads are copied (the caller may reuse its array after `send()`) into blocks of at least
 * 64 KiB as `u32 BE length | payload`; a block is let go once everything in it is acknowledged.
 * Sequence numbers are implicit: the n-th payload appended in the session is number n.
 */

const BLOCK_BYTES = 64 * 1024;

interface Block {
  bytes: Uint8Array;
  /** Bytes written. */
  used: number;
  /** Sequence number of the first payload not yet acknowledged in this block. */
  headSeq: number;
  /** Where that payload's length prefix starts. */
  headAt: number;
  /** Sequence number of the last payload in this block. */
  lastSeq: number;
  /** Payload bytes not yet acknowledged. */
  held: number;
}

export class RetransmitLog {
  #blocks: Block[] = [];
  /** The block appends go to (the last one). */
  #tail: Block | undefined;
  /** One acknowledged 64 KiB block kept for the next: a steady stream allocates (and zero-fills) none. */
  #spare: Uint8Array | undefined;
  /** Sequence number of the last payload appended (0: none yet). */
  sent = 0;
  /** Highest sequence number the peer acknowledged. */
  acked = 0;
  /** Payload bytes held (unacknowledged). */
  bytes = 0;

  /** Payloads held: sent but not acknowledged. */
  get unacked(): number {
    return this.sent - this.acked;
  }

  /** Keeps a copy of `payload` as the next sequence number; returns that number. */
  append(payload: Uint8Array): number {
    const need = 4 + payload.length;
    let block = this.#tail;
    if (block === undefined || block.bytes.length - block.used < need) {
      let bytes = this.#spare;
      if (bytes !== undefined && need <= BLOCK_BYTES) this.#spare = undefined;
      else bytes = new Uint8Array(need > BLOCK_BYTES ? need : BLOCK_BYTES);
      block = { bytes, used: 0, headSeq: this.sent + 1, headAt: 0, lastSeq: this.sent, held: 0 };
      this.#blocks.push(block);
      this.#tail = block;
    }
    const at = block.used;
    const b = block.bytes;
    const n = payload.length;
    b[at] = n >>> 24;
    b[at + 1] = (n >>> 16) & 0xff;
    b[at + 2] = (n >>> 8) & 0xff;
    b[at + 3] = n & 0xff;
    b.set(payload, at + 4);
    block.used = at + need;
    block.lastSeq = ++this.sent;
    block.held += n;
    this.bytes += n;
    return this.sent;
  }

  /**
   * The peer has everything up to and including `seq`.
   * @returns false when `seq` is below what it acknowledged before or above what was sent (a lying peer).
   */
  ack(seq: number): boolean {
    if (!Number.isSafeInteger(seq) || seq < this.acked || seq > this.sent) return false;
    while (this.acked < seq) {
      const block = this.#blocks[0] as Block;
      if (block.lastSeq <= seq) {
        // The whole rest of the block goes.
        this.bytes -= block.held;
        this.#blocks.shift();
        if (block === this.#tail) this.#tail = undefined;
        if (block.bytes.length === BLOCK_BYTES) this.#spare = block.bytes;
        this.acked = block.lastSeq;
        continue;
      }
      // Part of the block: step over acknowledged payloads one by one.
      while (block.headSeq <= seq) {
        const length = this.#lengthAt(block.bytes, block.headAt);
        this.bytes -= length;
        block.held -= length;
        block.headAt += 4 + length;
        block.headSeq++;
      }
      this.acked = seq;
    }
    return true;
  }

  /** The payloads after `seq` (which the peer says it has), oldest first: what to send again. */
  *after(seq: number): Generator<Uint8Array> {
    for (const block of this.#blocks) {
      if (block.lastSeq <= seq) continue;
      let at = block.headAt;
      for (let s = block.headSeq; s <= block.lastSeq; s++) {
        const length = this.#lengthAt(block.bytes, at);
        if (s > seq) yield block.bytes.subarray(at + 4, at + 4 + length);
        at += 4 + length;
      }
    }
  }

  /** Every payload still held, oldest first, as fresh copies (handed to the application when a session ends). */
  drain(): Uint8Array[] {
    const out = [...this.after(this.acked)].map((view) => view.slice());
    this.#blocks = [];
    this.#tail = undefined;
    this.#spare = undefined;
    this.acked = this.sent;
    this.bytes = 0;
    return out;
  }

  #lengthAt(b: Uint8Array, at: number): number {
    return ((b[at] as number) * 0x1000000 + (((b[at + 1] as number) << 16) | ((b[at + 2] as number) << 8) | (b[at + 3] as number))) >>> 0;
  }
}
