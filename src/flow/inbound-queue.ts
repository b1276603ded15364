/**
 * Bounded queue of received messages behind async iteration, bounded in messages and in payload
 * bytes. The owner pauses reading when `push` reports the queue full, and `onLow` fires when a
 * consumer has taken it down to half of both bounds.
 */
export class InboundQueue<T> {
  readonly capacity: number;
  readonly maxBytes: number;
  readonly #onLow: () => void;
  #items: T[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;
  #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  #ended = false;
  #error: unknown = undefined;
  #full = false;

  /**
   * @param capacity messages held before `push` says full.
   * @param onLow called when a consumer has taken a full queue down to half.
   * @param maxBytes payload bytes held before `push` says full (one message is always taken).
   */
  constructor(capacity: number, onLow: () => void, maxBytes = Number.POSITIVE_INFINITY) {
    this.capacity = capacity;
    this.maxBytes = maxBytes;
    this.#onLow = onLow;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Payload bytes of the queued messages. */
  get bytes(): number {
    return this.#bytes;
  }

  /** True once `end` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Forgets that the queue was full (the owner resumed reading itself). */
  clearFull(): void {
    this.#full = false;
  }

  /** Adds a message of `size` payload bytes. Returns false when the queue is now full and reading should pause. */
  push(item: T, size = 0): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    this.#sizes.push(size);
    this.#bytes += size;
    if (this.length >= this.capacity || this.#bytes >= this.maxBytes) {
      this.#full = true;
      return false;
    }
    return true;
  }

  /** Ends iteration once the queued messages are taken; with `error`, the last `next()` rejects. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    for (const waiter of this.#waiters.splice(0)) this.#settleEnd(waiter);
  }

  /** Removes and returns the oldest message (check `length` first). Does not call `onLow`. */
  take(): T | undefined {
    if (this.length === 0) return undefined;
    const value = this.#items[this.#head] as T;
    this.#bytes -= this.#sizes[this.#head] as number;
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#sizes = this.#sizes.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }

  /** Drops every queued message (an iterator that stopped early closes the connection). */
  clear(): void {
    this.#items = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const value = this.take() as T;
      if (this.#full && this.length <= this.capacity >> 1 && this.#bytes <= this.maxBytes / 2) {
        this.#full = false;
        this.#onLow();
      }
      return Promise.resolve({ value, done: false });
    }
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      if (this.#ended) this.#settleEnd(waiter);
      else this.#waiters.push(waiter);
    });
  }

  /** Settles every pending `next()` as done (the iterator was returned). */
  release(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
  }

  #settleEnd(waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    if (this.#error !== undefined) {
      const error = this.#error;
      this.#error = undefined; // reported once; later calls just end
      waiter.reject(error);
    } else {
      waiter.resolve({ value: undefined, done: true });
    }
  }
}
