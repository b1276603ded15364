/**
 * The nonces of verified HELLOs still inside their timestamp's window. A nonce is remembered
 * until its HELLO's timestamp leaves the window (after that the window check refuses it anyway),
 * so the cache holds at most what `maxClockSkewMs` lets in; at `capacity` it refuses new entries
 * instead of forgetting live ones, which would let a replay through.
 */

/** Outcome of {@link ReplayCache.add}. */
export type ReplayCheck = "fresh" | "replayed" | "full";

export class ReplayCache {
  readonly capacity: number;
  /** Key → the time (ms, the server's clock) after which it may be forgotten. */
  readonly #expiry = new Map<string, number>();
  /** A binary min-heap of [expiry, key]: the next to forget is at the top. */
  readonly #heap: [number, string][] = [];

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#expiry.size;
  }

  /** Remembers `key` until `expiresAt` unless it is already known (a replay) or the cache is full of live keys. */
  add(key: string, expiresAt: number, now: number): ReplayCheck {
    this.#forgetUntil(now);
    if (this.#expiry.has(key)) return "replayed";
    if (this.#expiry.size >= this.capacity) return "full";
    this.#expiry.set(key, expiresAt);
    this.#push([expiresAt, key]);
    return "fresh";
  }

  #forgetUntil(now: number): void {
    const heap = this.#heap;
    while (heap.length > 0 && (heap[0] as [number, string])[0] < now) {
      const [, key] = this.#pop();
      this.#expiry.delete(key);
    }
  }

  #push(entry: [number, string]): void {
    const heap = this.#heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as [number, string])[0] <= entry[0]) break;
      heap[i] = heap[parent] as [number, string];
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): [number, string] {
    const heap = this.#heap;
    const top = heap[0] as [number, string];
    const last = heap.pop() as [number, string];
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && (heap[right] as [number, string])[0] < (heap[left] as [number, string])[0] ? right : left;
        if ((heap[child] as [number, string])[0] >= last[0]) break;
        heap[i] = heap[child] as [number, string];
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
