/**
 * Bounded queue of received messages behind async iteration. The owner pauses reading when
 * `push` reports the queue full, and `onLow` fires when a consumer has taken it down to half.
 */
export class InboundQueue<T> {
  readonly capacity: number;
  readonly #onLow: () => void;
  #items: T[] = [];
  #head = 0;
  #waiters: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }[] = [];
  #ended = false;
  #error: unknown = undefined;
  #full = false;

  constructor(capacity: number, onLow: () => void) {
    this.capacity = capacity;
    this.#onLow = onLow;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Forgets that the queue was full (the owner resumed reading itself). */
  clearFull(): void {
    this.#full = false;
  }

  /** Adds a message. Returns false when the queue is now full and reading should pause. */
  push(item: T): boolean {
    const waiter = this.#waiters.shift();
    if (waiter) {
      waiter.resolve({ value: item, done: false });
      return true;
    }
    this.#items.push(item);
    if (this.length >= this.capacity) {
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
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return value;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const value = this.take() as T;
      if (this.#full && this.length <= this.capacity >> 1) {
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
