/**
 * One native connection seen through the contract. Commands go to the library by id; the
 * host routes its records here. While the core has paused reading, records already batched
 * for this connection are held and delivered in order on `resume` (the library stops reading
 * at once, but a batch may already hold some bytes).
 */
import { callHandler, type RawSocket, type SocketHandlers } from "../../src/adapter.ts";
import { SocketError } from "../../src/errors.ts";
import type { NativeContext } from "../../ffi/library.ts";
import { SocketOption } from "../../ffi/symbols.ts";
import type { Endpoints } from "./records.ts";

type Held = Uint8Array | "end" | Error | undefined;

export class NativeRawSocket implements RawSocket {
  readonly #context: NativeContext;
  readonly #id: number;
  #handlers: SocketHandlers | undefined;
  #ended = false;
  #closed = false;
  #paused = false;
  #error: Error | undefined;
  /** The library reported CLOSED (maybe held behind paused data): no further record comes. */
  #gone = false;
  #goneFailure: Error | undefined;
  /** Events held while paused, in order; `undefined` or an Error entry is the close. */
  #held: { event: Held; close: boolean }[] | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(context: NativeContext, id: number, endpoints: Endpoints) {
    this.#context = context;
    this.#id = id;
    this.remoteAddress = endpoints.remoteAddress;
    this.remotePort = endpoints.remotePort;
    this.localAddress = endpoints.localAddress;
    this.localPort = endpoints.localPort;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `onSocket`; if it throws the connection is closed and the error rethrown. */
  open(handlers: () => SocketHandlers): void {
    try {
      this.#handlers = handlers();
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  write(bytes: Uint8Array): number {
    if (this.#closed || this.#ended) return -1;
    const accepted = this.#context.send(this.#id, bytes);
    return accepted < 0 ? -1 : accepted;
  }
  end(): void {
    if (this.#closed || this.#ended) return;
    this.#ended = true;
    this.#context.end(this.#id);
  }
  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.#held = undefined; // the core wants none of it any more
    this.#paused = false;
    if (this.#gone) {
      // Its CLOSED was held while paused: the library has nothing left to report, so close now.
      this.#finish(this.#goneFailure);
      return;
    }
    this.#context.close(this.#id);
  }
  pause(): void {
    if (this.#closed || this.#paused) return;
    this.#paused = true;
    this.#context.pause(this.#id, true);
  }
  resume(): void {
    if (this.#closed || !this.#paused) return;
    this.#paused = false;
    this.#context.pause(this.#id, false);
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined) return;
    for (let i = 0; i < held.length; i++) {
      if (this.#paused) {
        // Paused again from a handler: keep the rest for the next resume.
        this.#held = [...held.slice(i), ...(this.#held ?? [])];
        return;
      }
      const { event, close } = held[i] as { event: Held; close: boolean };
      if (close) this.#finish(event instanceof Error ? event : undefined);
      else if (event === "end") this.ended();
      else if (event instanceof Uint8Array) this.data(event);
    }
  }
  setNoDelay(on: boolean): void {
    if (!this.#closed) this.#context.setOption(this.#id, SocketOption.NODELAY, on ? 1 : 0);
  }
  setKeepAlive(on: boolean, initialDelayMs?: number): void {
    if (this.#closed) return;
    this.#context.setOption(this.#id, SocketOption.KEEPALIVE, on ? Math.max(1, Math.ceil((initialDelayMs ?? 0) / 1000)) : 0);
  }

  // ── from the host, in record order ──

  /** Received bytes (a copy the core owns). */
  data(chunk: Uint8Array): void {
    if (this.#hold(chunk, false)) return;
    this.#call((handlers) => handlers.data(chunk));
  }
  ended(): void {
    if (this.#hold("end", false)) return;
    if (this.#error === undefined) this.#call((handlers) => handlers.end());
  }
  drained(): void {
    this.#call((handlers) => handlers.drain());
  }
  /** The library's CLOSED: `reason` is its failure text, empty for a clean close. */
  closedByLibrary(reason: string): void {
    const failure = reason === "" ? undefined : new SocketError(`connection failed: ${reason}`);
    this.#gone = true;
    this.#goneFailure = failure;
    if (failure !== undefined) {
      // A reset or error closes at once even while paused, as node:net does; held bytes are dropped.
      this.#held = undefined;
      this.#finish(failure);
      return;
    }
    if (this.#hold(undefined, true)) return;
    this.#finish(failure);
  }
  /** The context is gone (adapter.close()): close now, held records dropped. */
  abandon(failure: Error): void {
    this.#gone = true;
    this.#held = undefined;
    this.#paused = false;
    this.#finish(failure);
  }
  #finish(failure: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    const handlers = this.#handlers;
    if (handlers === undefined) return;
    try {
      handlers.close(this.#error ?? failure);
    } catch {
      // Nothing left to close; a throwing core callback must not escape the event pump.
    }
  }

  #hold(event: Held, close: boolean): boolean {
    if (!this.#paused && this.#held === undefined) return false;
    (this.#held ??= []).push({ event, close });
    return true;
  }

  /** Calls a core handler; one that throws (a framewire bug) closes this socket, not the process. */
  #call(fn: (handlers: SocketHandlers) => void): void {
    if (!this.#closed) callHandler(this.#handlers, fn, this);
  }
}
