/**
 * A small typed event emitter that runs on every runtime.
 *
 * Unlike Node's EventEmitter, an `error` event without listeners does not throw: framewire errors
 * are also reported through `close` events and `closed()`, and a missing listener must never
 * crash the process.
 */

// biome-ignore lint: the map's values are listener signatures of any shape.
type Listener = (...args: never[]) => unknown;
export type EventMap = { [event: string]: Listener };

export class TypedEmitter<Events extends EventMap> {
  #listeners = new Map<keyof Events, Events[keyof Events][]>();

  /** Adds a listener. Returns `this` for chaining. */
  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    const list = this.#listeners.get(event);
    // Copy-on-write: emit iterates a snapshot without allocating.
    this.#listeners.set(event, list ? [...list, listener] : [listener]);
    this.listenersChanged(event);
    return this;
  }

  /** Adds a listener removed after its first call. */
  once<K extends keyof Events>(event: K, listener: Events[K]): this {
    const wrapper = ((...args: Parameters<Events[K]>) => {
      this.off(event, wrapper);
      return listener(...(args as never[]));
    }) as unknown as Events[K];
    return this.on(event, wrapper);
  }

  off<K extends keyof Events>(event: K, listener: Events[K]): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const next = list.filter((l) => l !== listener);
    if (next.length > 0) this.#listeners.set(event, next);
    else this.#listeners.delete(event);
    this.listenersChanged(event);
    return this;
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Calls every listener in order. Exceptions propagate to the caller, which decides their fate. */
  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): boolean {
    const list = this.#listeners.get(event);
    if (!list) return false;
    for (let i = 0; i < list.length; i++) (list[i] as (...a: Parameters<Events[K]>) => unknown)(...args);
    return true;
  }

  /** Hook for subclasses that cache listener state on the hot path. */
  protected listenersChanged(_event: keyof Events): void {}

  /** The current listener array of an event, or undefined. For hot paths that call listeners directly. */
  protected listenersOf<K extends keyof Events>(event: K): readonly Events[K][] | undefined {
    return this.#listeners.get(event) as Events[K][] | undefined;
  }
}
