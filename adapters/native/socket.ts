/**
 * One native connection seen through the contract: writes go to the library (which copies
 * them), everything else is a command; its events arrive from the adapter's record pump.
 */
import type { RawSocket, SocketHandlers } from "../../src/adapter.ts";
import type { NativeContext } from "../../ffi/library.ts";
import { AbiError, SocketOption } from "../../ffi/symbols.ts";

export interface Endpoints {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

export class NativeSocket implements RawSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  handlers: SocketHandlers | undefined;
  /** No more writes: closed, destroyed, or the library said so. */
  #done = false;
  /** Why it was destroyed, for the close callback. */
  #destroyError: Error | undefined;

  constructor(
    readonly id: number,
    readonly context: NativeContext,
    at: Endpoints,
  ) {
    this.remoteAddress = at.remoteAddress;
    this.remotePort = at.remotePort;
    this.localAddress = at.localAddress;
    this.localPort = at.localPort;
  }

  write(bytes: Uint8Array): number {
    if (this.#done) return -1;
    const accepted = this.context.send(this.id, bytes);
    return accepted === AbiError.CLOSED ? -1 : accepted;
  }
  end(): void {
    if (!this.#done) this.context.end(this.id);
  }
  destroy(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.#destroyError = error;
    this.context.close(this.id);
  }
  pause(): void {
    if (!this.#done) this.context.pause(this.id, true);
  }
  resume(): void {
    if (!this.#done) this.context.pause(this.id, false);
  }
  setNoDelay(on: boolean): void {
    if (!this.#done) this.context.setOption(this.id, SocketOption.NODELAY, on ? 1 : 0);
  }
  setKeepAlive(on: boolean, initialDelayMs = 0): void {
    // The library takes seconds (TCP_KEEPIDLE); 0 means off, so "on" is at least 1 s.
    if (!this.#done) this.context.setOption(this.id, SocketOption.KEEPALIVE, on ? Math.max(1, Math.round(initialDelayMs / 1000)) : 0);
  }

  /** The library's CLOSED record: the last event of this socket. */
  closed(reason: string | undefined): void {
    this.#done = true;
    const error = this.#destroyError ?? (reason === undefined ? undefined : new Error(reason));
    this.handlers?.close(error);
  }
}
