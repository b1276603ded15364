/**
 * The native adapter: the contract on framewire's libwebsockets library (zig/), loaded through
 * the running runtime's FFI (ffi/). Sockets live on the library's I/O thread; received bytes
 * come in batches (one FFI swap per wake) and are copied out per connection; writes are copied
 * by the library (`retainsWrites: false`). Nothing is loaded until the first listen or connect,
 * so importing `framewire/native` without the library works and that first call rejects with
 * `FW_NATIVE_UNAVAILABLE`.
 */
import type { AdapterCapabilities, ConnectOptions, InterfaceAddress, Listener, ListenOptions, OnSocket, SocketAdapter } from "../../src/adapter.ts";
import { SocketError, UnsupportedError } from "../../src/errors.ts";
import { networkInterfaces } from "../node/interfaces.ts";
import { NativeHost } from "./host.ts";
import { type NativeAdapterOptions, resolveNativeOptions } from "./options.ts";
import { StatSlot } from "../../ffi/symbols.ts";

const DEFAULT_BACKLOG = 511;
/** IFNAMSIZ − 1: the longest device name SO_BINDTODEVICE takes. */
const MAX_DEVICE_NAME = 15;

/**
 * The device `SO_BINDTODEVICE` binds to for an interface name from `networkInterfaces()`: an
 * address alias is listed by its label (`eth0:1`), which is not a device; its device is `eth0`.
 */
function deviceOf(interfaceName: string | undefined): string | undefined {
  if (interfaceName === undefined) return undefined;
  if (typeof interfaceName !== "string" || interfaceName.includes("\0")) throw new SocketError(`interface ${JSON.stringify(String(interfaceName))} is not a device name`);
  const device = interfaceName.split(":", 1)[0] as string;
  if (device.length === 0 || new TextEncoder().encode(device).length > MAX_DEVICE_NAME) throw new SocketError(`interface ${JSON.stringify(interfaceName)} is not a device name (1-${MAX_DEVICE_NAME} bytes)`);
  return device;
}

/** The library's counters for one adapter's context (FWN_STAT_*). */
export interface NativeStats {
  /** Open connections. */
  readonly connections: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Batches handed to JS. */
  readonly batches: number;
  /** Times reading paused because the batch buffer was full (receive backpressure). */
  readonly rxPauses: number;
  /** Bytes accepted by write and not yet written to the kernel. */
  readonly queuedOut: number;
}

export class NativeAdapter implements SocketAdapter {
  readonly name = "native" as const;
  readonly capabilities: AdapterCapabilities = {
    tls: false,
    localBind: true,
    unixSockets: true,
    ipv6: true,
    reusePort: false,
    retainsWrites: false,
  };
  readonly #host: NativeHost;

  /**
   * @example
   * const transport = createTransport(new NativeAdapter({ batchBytes: 4 * 1024 * 1024 }));
   */
  constructor(options: NativeAdapterOptions = {}) {
    this.#host = new NativeHost(resolveNativeOptions(options));
  }

  networkInterfaces(): Readonly<Record<string, readonly InterfaceAddress[]>> {
    return networkInterfaces();
  }

  /** Where the library was loaded from (loading it now if needed); rejects with FW_NATIVE_UNAVAILABLE. */
  async libraryPath(): Promise<string> {
    return (await this.#host.library()).path;
  }

  /**
   * The native context's counters, or undefined while none runs (nothing is open). `queuedOut`
   * is what the library accepted and has not written yet: bounded by `highWaterBytes` per connection.
   */
  stats(): NativeStats | undefined {
    const slots = this.#host.stats();
    if (slots === undefined) return undefined;
    const at = (slot: number): number => slots[slot] ?? 0;
    return {
      connections: at(StatSlot.CONNECTIONS),
      bytesIn: at(StatSlot.BYTES_IN),
      bytesOut: at(StatSlot.BYTES_OUT),
      batches: at(StatSlot.BATCHES),
      rxPauses: at(StatSlot.RX_PAUSES),
      queuedOut: at(StatSlot.QUEUED_OUT),
    };
  }

  /**
   * Stops this adapter's native context at once: every socket and listener it holds closes.
   * Not needed for a clean exit (the context stops by itself once nothing is open); a later
   * listen or connect starts a new one.
   */
  close(): Promise<void> {
    return this.#host.close();
  }

  async listen(options: ListenOptions, onSocket: OnSocket): Promise<Listener> {
    if (options.tls !== undefined) throw new UnsupportedError("the native adapter has no TLS (use the runtime's adapter for tls)");
    if (options.reusePort) throw new UnsupportedError("reusePort is not supported by the native adapter");
    const where = options.path ?? `${options.host}:${options.port}`;
    const host = this.#host;
    const context = await host.context();
    const id = host.nextId();
    let unlistened: Promise<void> | undefined;
    const port = await new Promise<number>((resolve, reject) => {
      const pending = {
        onSocket,
        settle(result: number | Error) {
          if (typeof result === "number") {
            unlistened = new Promise<void>((done) => (pending.unlistened = done));
            resolve(result);
          } else {
            reject(new SocketError(`cannot listen on ${where}: ${result.message}`, { cause: result }));
          }
        },
        unlistened: undefined as (() => void) | undefined,
      };
      host.addListener(id, pending);
      const code = context.listen(id, options.path === undefined ? options.host : "", options.path === undefined ? options.port : 0, options.path, options.backlog ?? DEFAULT_BACKLOG);
      if (code < 0) {
        host.forget(id);
        reject(new SocketError(`cannot listen on ${where}: the library refused (${code})`));
      }
    });
    let closing: Promise<void> | undefined;
    return {
      port: options.path !== undefined ? 0 : port,
      host: options.path !== undefined ? "" : options.host,
      ...(options.path !== undefined ? { path: options.path } : {}),
      close() {
        closing ??= context.unlisten(id) < 0 ? Promise.resolve() : (unlistened ?? Promise.resolve());
        return closing;
      },
    };
  }

  async connect(options: ConnectOptions, onSocket: OnSocket): Promise<void> {
    if (options.tls !== undefined) throw new UnsupportedError("the native adapter has no TLS (use the runtime's adapter for tls)");
    const where = options.path ?? `${options.host}:${options.port}`;
    const device = deviceOf(options.interfaceName);
    const signal = options.signal;
    if (signal?.aborted) throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
    const host = this.#host;
    const context = await host.context();
    if (signal?.aborted) throw new SocketError(`connect to ${where} aborted`, { cause: signal.reason });
    const id = host.nextId();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        pending.aborted = true;
        context.connectAbort(id);
        reject(new SocketError(`connect to ${where} aborted`, { cause: signal?.reason }));
      };
      const pending = {
        onSocket,
        aborted: false,
        settle(error?: Error) {
          signal?.removeEventListener("abort", onAbort);
          if (pending.aborted) return;
          if (error === undefined) resolve();
          else reject(error instanceof SocketError && error.message.startsWith("the connection failed") ? error : new SocketError(`cannot connect to ${where}: ${error.message}`, { cause: error }));
        },
      };
      host.addDial(id, pending);
      signal?.addEventListener("abort", onAbort, { once: true });
      let code: number;
      try {
        code = context.connect(id, options.path === undefined ? options.host : "", options.path === undefined ? options.port : 0, options.path, options.localAddress, options.localPort ?? 0, device);
      } catch (error) {
        // An argument the FFI would not convert: this dial never reached the library.
        signal?.removeEventListener("abort", onAbort);
        host.forget(id);
        reject(new SocketError(`cannot connect to ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
        return;
      }
      if (code < 0) {
        signal?.removeEventListener("abort", onAbort);
        host.forget(id);
        reject(new SocketError(`cannot connect to ${where}: the library refused (${code})`));
      }
    });
  }
}
