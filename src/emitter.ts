/**
 * A small typed event emitter that runs on every runtime.
 *
 * Unlike Node's EventEmitter, an `error` event without listeners does not throw: framewire errors
 * are also reported through `close` events and `closed()`, and a missing listener must never
 * crash the process. Listeners may be async: a returned promise that rejects is caught (never an
 * unhandled rejection) and handed to `listenerRejected`, exactly as a throw reaches the emitter's
 * caller.
 */

/** Any listener signature: the values of an {@link EventMap}. */
export type AnyListener = (...args: never[]) => unknown;
export type EventMap = { [event: string]: AnyListener };

export class TypedEmitter<Events extends EventMap> {
  /** Created with the first listener: most connections of a server never get one of some events. */
  #listeners: Map<keyof Events, Events[keyof Events][]> | undefined;

  /** Adds a listener. Returns `this` for chaining. */
  on<K extends keyof Events>(event: K, listener: Events[K]): this {
    const listeners = (this.#listeners ??= new Map());
    const list = listeners.get(event);
    // Copy-on-write: emit iterates a snapshot without allocating.
    listeners.set(event, list ? [...list, listener] : [listener]);
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
    const listeners = this.#listeners;
    const list = listeners?.get(event);
    if (listeners === undefined || !list) return this;
    const next = list.filter((l) => l !== listener);
    if (next.length > 0) listeners.set(event, next);
    else listeners.delete(event);
    this.listenersChanged(event);
    return this;
  }

  listenerCount<K extends keyof Events>(event: K): number {
    return this.#listeners?.get(event)?.length ?? 0;
  }

  /**
   * Calls every listener in order. Exceptions propagate to the caller, which decides their fate;
   * a returned promise's rejection goes to `listenerRejected`.
   */
  protected emit<K extends keyof Events>(event: K, ...args: Parameters<Events[K]>): boolean {
    const list = this.#listeners?.get(event);
    if (!list) return false;
    for (let i = 0; i < list.length; i++) {
      const result = (list[i] as (...a: Parameters<Events[K]>) => unknown)(...args);
      if (result !== undefined) this.watch(event, result, args);
    }
    return true;
  }

  /** If `result` (what a listener returned) is a promise, route its rejection to `listenerRejected`. */
  protected watch<K extends keyof Events>(event: K, result: unknown, args: Parameters<Events[K]>): void {
    if (typeof (result as PromiseLike<unknown> | null)?.then !== "function") return;
    (result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
      try {
        this.listenerRejected(event, error, args);
      } catch {
        // The hook itself failed; there is nowhere left to report it.
      }
    });
  }

  /**
   * An async listener of `event` rejected. The default drops it (it is never an unhandled
   * rejection); connections close with `FW_HANDLER_ERROR`, as for a throw.
   */
  protected listenerRejected<K extends keyof Events>(_event: K, _error: unknown, _args: Parameters<Events[K]>): void {}

  /** Hook for subclasses that cache listener state on the hot path. */
  protected listenersChanged(_event: keyof Events): void {}

  /** The current listener array of an event, or undefined. For hot paths that call listeners directly. */
  protected listenersOf<K extends keyof Events>(event: K): readonly Events[K][] | undefined {
    return this.#listeners?.get(event) as Events[K][] | undefined;
  }
}
