/**
 * Written arrays an adapter still holds (Node, Deno keep a reference until the kernel has the
 * bytes), oldest first, until it hands each back through `released`.
 *
 * A FIFO with a head index: adapters release in the order they wrote, so a release is O(1). An
 * `Array#shift` per release was quadratic on V8 once many small writes were out (160k of them
 * took 26 s to release).
 */
export class LentBuffers {
  #items: Uint8Array[] = [];
  #head = 0;
  /** Bytes of the views (what `bufferedAmount` counts). */
  bytes = 0;
  /** Bytes of the buffers behind them (what is pinned: a view may be a sliver of its buffer). */
  capacity = 0;

  get count(): number {
    return this.#items.length - this.#head;
  }

  push(view: Uint8Array): void {
    this.#items.push(view);
    this.bytes += view.length;
    this.capacity += view.buffer.byteLength;
  }

  /** Takes `view` out (by identity); false when it is not lent. */
  take(view: Uint8Array): boolean {
    const items = this.#items;
    let i = this.#head;
    if (items[i] !== view) {
      i = items.indexOf(view, this.#head);
      if (i < 0) return false;
      // Out of order (no adapter does this today): close the gap.
      items.copyWithin(this.#head + 1, this.#head, i);
      items[this.#head] = view;
      i = this.#head;
    }
    items[i] = EMPTY;
    this.#head++;
    this.bytes -= view.length;
    this.capacity -= view.buffer.byteLength;
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      this.#items = items.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }

  /** The views still lent, oldest first. */
  views(): Uint8Array[] {
    return this.#items.slice(this.#head);
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
    this.bytes = 0;
    this.capacity = 0;
  }
}

/** What a released slot holds until compaction, so it pins nothing. */
const EMPTY = new Uint8Array(0);
