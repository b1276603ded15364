/**
 * One native context over any loader's symbols: the JS side of the ABI, written once. Loaders
 * differ only in their pointer type, how they view the batch buffers and how they wake JS.
 */
import type { LoaderPlatform, NativeBatch, NativeBinding, NativeContext, NativeSymbols, Waker } from "./library.ts";
import { cString } from "./library.ts";
import { AbiError, Stat } from "./symbols.ts";

class SymbolContext<H> implements NativeContext {
  readonly #symbols: NativeSymbols<H>;
  readonly #handle: H;
  readonly #waker: Waker<H>;
  readonly #batches: readonly [NativeBatchView, NativeBatchView];
  #closed = false;

  constructor(platform: LoaderPlatform<H>, batchBytes: number, highWaterBytes: number, onWake: () => void) {
    this.#symbols = platform.symbols;
    this.#waker = platform.waker(() => {
      if (!this.#closed) onWake();
    });
    const handle = this.#symbols.fwn_create(batchBytes, highWaterBytes, this.#waker.notify);
    if (handle === null || handle === 0) throw new Error("fwn_create failed (out of memory?)");
    this.#handle = handle;
    if (this.#symbols.fwn_start(handle) !== 0) {
      this.#symbols.fwn_stop(handle);
      this.#symbols.fwn_free(handle);
      throw new Error("the native I/O thread could not start");
    }
    const view = (which: number): NativeBatchView => {
      const bytes = platform.view(this.#symbols.fwn_inbuf(handle, which), batchBytes);
      return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    };
    this.#batches = [view(0), view(1)];
    this.#waker.attach(handle);
  }

  listen(id: number, host: string, port: number, path: string | undefined, backlog: number): number {
    return this.#live() ? this.#symbols.fwn_listen(this.#handle, id, cString(host), port, cString(path), backlog) : AbiError.STOPPED;
  }
  unlisten(id: number): number {
    return this.#live() ? this.#symbols.fwn_unlisten(this.#handle, id) : AbiError.STOPPED;
  }
  connect(id: number, host: string, port: number, path: string | undefined, localAddress: string | undefined, localPort: number): number {
    if (!this.#live()) return AbiError.STOPPED;
    return this.#symbols.fwn_connect(this.#handle, id, cString(host), port, cString(path), cString(localAddress), localPort, null);
  }
  connectAbort(id: number): number {
    return this.#live() ? this.#symbols.fwn_connect_abort(this.#handle, id) : AbiError.STOPPED;
  }
  send(conn: number, bytes: Uint8Array): number {
    return this.#live() ? this.#symbols.fwn_send(this.#handle, conn, bytes, bytes.length) : AbiError.CLOSED;
  }
  end(conn: number): number {
    return this.#live() ? this.#symbols.fwn_end(this.#handle, conn) : AbiError.STOPPED;
  }
  close(conn: number): number {
    return this.#live() ? this.#symbols.fwn_close(this.#handle, conn) : AbiError.STOPPED;
  }
  pause(conn: number, paused: boolean): number {
    return this.#live() ? this.#symbols.fwn_pause(this.#handle, conn, paused ? 1 : 0) : AbiError.STOPPED;
  }
  setOption(conn: number, option: number, value: number): number {
    return this.#live() ? this.#symbols.fwn_set_option(this.#handle, conn, option, value) : AbiError.STOPPED;
  }

  takeBatch(): NativeBatch | undefined {
    if (this.#closed) return undefined;
    const swapped = Number(this.#symbols.fwn_swap(this.#handle));
    const used = swapped % 2 ** 32;
    if (used === 0) return undefined;
    const batch = this.#batches[swapped >= 2 ** 32 ? 1 : 0];
    return { bytes: batch.bytes, view: batch.view, used };
  }

  stats(): readonly number[] {
    const out = new Uint8Array(8 * Stat.COUNT);
    if (this.#live()) this.#symbols.fwn_stats(this.#handle, out, Stat.COUNT);
    const view = new DataView(out.buffer);
    return Array.from({ length: Stat.COUNT }, (_, i) => Number(view.getBigUint64(i * 8, true)));
  }

  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#symbols.fwn_stop(this.#handle);
    this.#waker.detach(() => this.#symbols.fwn_free(this.#handle));
  }

  #live(): boolean {
    return !this.#closed;
  }
}

interface NativeBatchView {
  readonly bytes: Uint8Array;
  readonly view: DataView;
}

/** A binding over one loader's platform. */
export function bindingOf<H>(path: string, platform: LoaderPlatform<H>): NativeBinding {
  return {
    path,
    loader: platform.loader,
    abiVersion: platform.symbols.fwn_abi_version(),
    open: (batchBytes, highWaterBytes, onWake) => new SymbolContext(platform, batchBytes, highWaterBytes, onWake),
  };
}
