/**
 * The native adapter: the contract on the native library (zig/), loaded through ffi/. One
 * library context (one I/O thread) per adapter, opened at the first listen or connect and
 * stopped again once nothing is open, so a process whose sockets are all closed can exit.
 *
 * Bytes arrive as DATA records in a batch buffer the library fills while JS reads the other;
 * they are copied out (the buffer is refilled after the next swap) and handed to the core.
 */
import type { AdapterCapabilities, ConnectOptions, InterfaceAddress, Listener, ListenOptions, OnSocket, SocketAdapter } from "../../src/adapter.ts";
import { NativeUnavailableError, SocketError, UnsupportedError } from "../../src/errors.ts";
import type { NativeBatch, NativeContext } from "../../ffi/library.ts";
import { type LoadResult, loadNativeLibrary, type NativeStatus } from "../../ffi/locate.ts";
import { Record } from "../../ffi/symbols.ts";
import { networkInterfaces } from "../node/interfaces.ts";
import { NativeOptions, type NativeAdapterOptions, type NativeLogEntry } from "./options.ts";
import { endpoints, nextRecord, text } from "./records.ts";
import { numericHost } from "./resolve.ts";
import { type Endpoints, NativeSocket } from "./socket.ts";

interface PendingListen {
  readonly where: string;
  readonly onSocket: OnSocket;
  resolve(port: number): void;
  reject(error: Error): void;
  /** Set once close() asked the library to stop accepting. */
  closing?: Promise<void>;
  unlistened?: () => void;
}

interface PendingDial {
  readonly where: string;
  readonly onSocket: OnSocket;
  resolve(): void;
  reject(error: Error): void;
  /** The signal aborted: the promise is settled; a late connection is closed at once. */
  aborted: boolean;
}

export class NativeAdapter implements SocketAdapter {
  readonly name = "native" as const;
  readonly capabilities: AdapterCapabilities = { tls: false, localBind: true, unixSockets: true, ipv6: true, reusePort: false, retainsWrites: false };
  readonly #options: NativeOptions;
  #load: LoadResult | undefined;
  #context: NativeContext | undefined;
  readonly #listeners = new Map<number, PendingListen>();
  readonly #dials = new Map<number, PendingDial>();
  readonly #sockets = new Map<number, NativeSocket>();
  #nextId = 0;

  /**
   * @param options where the library is, buffer sizes, a log hook; see {@link NativeAdapterOptions}
   * @example
   * import { NativeAdapter, listen } from "framewire/native";
   * const adapter = new NativeAdapter({ onLog: (entry) => myLogger.warn(entry.message) });
   * if (!adapter.status.available) console.warn("native sockets unavailable:", adapter.status.reason);
   */
  constructor(options: NativeAdapterOptions = {}) {
    this.#options = new NativeOptions(options);
  }

  /** Whether the library is found and loads here (it is loaded on first use of this property or the adapter). */
  get status(): NativeStatus {
    const load = this.#loaded();
    return "binding" in load ? { available: true, path: load.binding.path, loader: load.binding.loader } : { available: false, reason: load.reason };
  }

  /** Library counters of the open context (connections, bytes in and out, batches, read pauses, bytes queued), or undefined when none is open. */
  stats(): { connections: number; bytesIn: number; bytesOut: number; batches: number; rxPauses: number; queuedOut: number } | undefined {
    const s = this.#context?.stats();
    if (s === undefined) return undefined;
    return { connections: s[0] ?? 0, bytesIn: s[1] ?? 0, bytesOut: s[2] ?? 0, batches: s[3] ?? 0, rxPauses: s[4] ?? 0, queuedOut: s[5] ?? 0 };
  }

  networkInterfaces(): Readonly<Record<string, readonly InterfaceAddress[]>> {
    return networkInterfaces();
  }

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    if (options.tls !== undefined) throw new UnsupportedError("TLS is not supported by the native adapter (yet): use the runtime's adapter for TLS");
    if (options.reusePort) throw new UnsupportedError("reusePort is not supported by the native adapter");
    const where = options.path ?? `${options.host}:${options.port}`;
    const host = options.path === undefined ? await numericHost(options.host, where) : "";
    const context = this.#open();
    const id = ++this.#nextId;
    const port = await new Promise<number>((resolve, reject) => {
      this.#listeners.set(id, { where, onSocket, resolve, reject });
      const result = context.listen(id, host, options.port, options.path, options.backlog ?? 511);
      if (result < 0) {
        this.#listeners.delete(id);
        this.#closeIfIdle();
        reject(new SocketError(`cannot listen on ${where}: the native library refused (${result})`));
      }
    });
    const entry = this.#listeners.get(id) as PendingListen;
    return {
      port,
      host: options.path === undefined ? host : "",
      ...(options.path !== undefined ? { path: options.path } : {}),
      close: () => {
        entry.closing ??= new Promise<void>((resolve) => {
          entry.unlistened = resolve;
          if (this.#context !== context || context.unlisten(id) < 0) {
            this.#listeners.delete(id);
            resolve();
          }
        });
        return entry.closing;
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    if (options.tls !== undefined) throw new UnsupportedError("TLS is not supported by the native adapter (yet): use the runtime's adapter for TLS");
    const where = options.path ?? `${options.host}:${options.port}`;
    const signal = options.signal;
    if (signal?.aborted) throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
    const host = options.path === undefined ? await numericHost(options.host, where) : "";
    if (signal?.aborted) throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
    const context = this.#open();
    const id = ++this.#nextId;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        const dial = this.#dials.get(id);
        if (dial === undefined || dial.aborted) return;
        dial.aborted = true;
        context.connectAbort(id);
        reject(new SocketError(`connect to ${where} aborted`, { cause: signal?.reason }));
      };
      const settle = { resolve, reject };
      const dial: PendingDial = {
        where,
        onSocket,
        aborted: false,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          settle.resolve();
        },
        reject: (error) => {
          signal?.removeEventListener("abort", onAbort);
          settle.reject(error);
        },
      };
      this.#dials.set(id, dial);
      signal?.addEventListener("abort", onAbort, { once: true });
      const result = context.connect(id, host, options.port, options.path, options.localAddress, options.localPort ?? 0);
      if (result < 0) {
        this.#dials.delete(id);
        this.#closeIfIdle();
        dial.reject(new SocketError(`cannot connect to ${where}: the native library refused (${result})`));
      }
    });
  }

  #loaded(): LoadResult {
    this.#load ??= loadNativeLibrary(this.#options.libraryPath);
    return this.#load;
  }

  /** The open context, or a new one. @throws NativeUnavailableError */
  #open(): NativeContext {
    if (this.#context !== undefined) return this.#context;
    const load = this.#loaded();
    if (!("binding" in load)) throw new NativeUnavailableError(load.reason);
    try {
      this.#context = load.binding.open(this.#options.batchBytes, this.#options.highWaterBytes, () => this.#pump());
    } catch (error) {
      throw new NativeUnavailableError(`${load.binding.path} loaded, but ${error instanceof Error ? error.message : String(error)}`);
    }
    return this.#context;
  }

  /** Nothing open any more: stop the I/O thread and let the event loop go. */
  #closeIfIdle(): void {
    if (this.#context === undefined || this.#listeners.size + this.#dials.size + this.#sockets.size > 0) return;
    this.#context.dispose();
    this.#context = undefined;
  }

  /** Reads every waiting batch and routes its records. */
  #pump(): void {
    const context = this.#context;
    if (context === undefined) return;
    for (let batch = context.takeBatch(); batch !== undefined; batch = context.takeBatch()) {
      this.#dispatch(context, batch);
      if (this.#context !== context) return;
    }
    this.#closeIfIdle();
  }

  #dispatch(context: NativeContext, { bytes, view, used }: NativeBatch): void {
    for (let at = 0; at < used; ) {
      const kind = bytes[at] as number;
      const id = view.getUint32(at + 4, true);
      const length = view.getUint32(at + 8, true);
      const payload = at + 12;
      at = nextRecord(at, length);
      if (kind === Record.DATA) {
        // A copy: the library refills this buffer after the next swap, the core keeps views of chunks.
        this.#sockets.get(id)?.handlers?.data(bytes.slice(payload, payload + length));
      } else if (kind === Record.DRAIN) {
        this.#sockets.get(id)?.handlers?.drain();
      } else if (kind === Record.END) {
        this.#sockets.get(id)?.handlers?.end();
      } else if (kind === Record.CLOSED) {
        const socket = this.#sockets.get(id);
        this.#sockets.delete(id);
        socket?.closed(length > 0 ? text(bytes, payload, length) : undefined);
      } else if (kind === Record.ACCEPTED) {
        this.#accepted(context, id, view.getUint32(payload, true), endpoints(bytes, view, payload + 4));
      } else if (kind === Record.CONNECTED) {
        this.#connected(context, id, view.getUint32(payload, true), endpoints(bytes, view, payload + 4));
      } else if (kind === Record.CONNECT_FAILED) {
        const dial = this.#dials.get(id);
        this.#dials.delete(id);
        if (dial !== undefined && !dial.aborted) dial.reject(new SocketError(`cannot connect to ${dial.where}: ${text(bytes, payload, length)}`));
      } else if (kind === Record.LISTENING) {
        this.#listeners.get(id)?.resolve(view.getUint32(payload, true));
      } else if (kind === Record.LISTEN_FAILED) {
        const listener = this.#listeners.get(id);
        this.#listeners.delete(id);
        listener?.reject(new SocketError(`cannot listen on ${listener.where}: ${text(bytes, payload, length)}`));
      } else if (kind === Record.UNLISTENED) {
        const listener = this.#listeners.get(id);
        this.#listeners.delete(id);
        listener?.unlistened?.();
      } else if (kind === Record.LOG) {
        this.#log({ level: id, message: text(bytes, payload, length) });
      }
    }
  }

  #accepted(context: NativeContext, id: number, listenerId: number, at: Endpoints): void {
    const socket = new NativeSocket(id, context, at);
    this.#sockets.set(id, socket);
    const listener = this.#listeners.get(listenerId);
    if (listener === undefined || listener.closing !== undefined) {
      socket.destroy(); // accepted just before the listener closed
      return;
    }
    try {
      socket.handlers = listener.onSocket(socket);
    } catch {
      // onSocket threw (a framewire bug): that socket is closed, the listener keeps accepting.
      socket.handlers = undefined;
      socket.destroy();
    }
  }

  #connected(context: NativeContext, id: number, dialId: number, at: Endpoints): void {
    const socket = new NativeSocket(id, context, at);
    this.#sockets.set(id, socket);
    const dial = this.#dials.get(dialId);
    this.#dials.delete(dialId);
    if (dial === undefined || dial.aborted) {
      socket.destroy();
      return;
    }
    try {
      socket.handlers = dial.onSocket(socket);
      dial.resolve();
    } catch (error) {
      socket.handlers = undefined;
      socket.destroy();
      dial.reject(new SocketError(`connection to ${dial.where} failed while opening: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }

  #log(entry: NativeLogEntry): void {
    try {
      this.#options.onLog?.(entry);
    } catch {
      // A throwing log hook must not break the record pump.
    }
  }
}
