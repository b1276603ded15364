/**
 * One native context per adapter: created (and the library loaded) at the first listen or
 * connect, its records routed to listeners, dials and sockets, and stopped and freed once the
 * last of them is gone — so a process whose last connection closed exits by itself. While the
 * context lives, a ref'd timer keeps the event loop alive (Bun's threadsafe JSCallback does not,
 * and a loop that exits while the I/O thread calls into JS crashes Node).
 */
import type { OnSocket } from "../../src/adapter.ts";
import { SocketError } from "../../src/errors.ts";
import { type NativeContext, type NativeLibrary, splitSwap } from "../../ffi/library.ts";
import { loadLibrary } from "../../ffi/load.ts";
import { RecordKind } from "../../ffi/symbols.ts";
import type { ResolvedNativeOptions } from "./options.ts";
import { readEndpoints, readRecords, readText, type RecordSink } from "./records.ts";
import { NativeRawSocket } from "./socket.ts";

export interface PendingListen {
  readonly onSocket: OnSocket;
  /** Settles the listen: the bound port, or the library's reason. */
  settle(port: number | Error): void;
  /** Set once listening; resolves the listener's close. */
  unlistened?: () => void;
}

export interface PendingDial {
  readonly onSocket: OnSocket;
  aborted: boolean;
  settle(error?: Error): void;
}

/** Swaps per wake before yielding to the event loop, so a flood cannot starve timers. */
const MAX_SWAPS_PER_WAKE = 16;
/** A keep-alive period far beyond any test; the timer only holds the loop. */
const KEEP_ALIVE_MS = 1 << 30;

interface Live {
  readonly context: NativeContext;
  readonly views: readonly [DataView, DataView];
  readonly keepAlive: ReturnType<typeof setInterval>;
  readonly onExit: () => void;
}

export class NativeHost implements RecordSink {
  readonly #options: ResolvedNativeOptions;
  #library: Promise<NativeLibrary> | undefined;
  #live: Live | undefined;
  /** A dispose in progress: the next context starts after it. */
  #disposing: Promise<void> | undefined;
  #idleCheck: ReturnType<typeof setTimeout> | undefined;
  #nextId = 1;
  readonly #listeners = new Map<number, PendingListen>();
  readonly #dials = new Map<number, PendingDial>();
  readonly #sockets = new Map<number, NativeRawSocket>();

  constructor(options: ResolvedNativeOptions) {
    this.#options = options;
  }

  /** A fresh listener or dial id (never reused within this host). */
  nextId(): number {
    const id = this.#nextId;
    this.#nextId = id >= 0xffff_ffff ? 1 : id + 1;
    return id;
  }

  /** The library, loaded once per adapter; rejects with NativeUnavailableError. */
  library(): Promise<NativeLibrary> {
    this.#library ??= loadLibrary(this.#options.libraryPath);
    return this.#library;
  }

  /** The live context, created and started if there is none. */
  async context(): Promise<NativeContext> {
    const library = await this.library();
    while (this.#disposing !== undefined) await this.#disposing;
    if (this.#live !== undefined) return this.#live.context;
    const context = library.createContext({ batchBytes: this.#options.batchBytes, highWater: this.#options.highWaterBytes });
    const onExit = (): void => context.stopNow(); // no native thread may outlive the JS that it calls
    const live: Live = {
      context,
      views: [new DataView(context.buffers[0].buffer, context.buffers[0].byteOffset, context.buffers[0].byteLength), new DataView(context.buffers[1].buffer, context.buffers[1].byteOffset, context.buffers[1].byteLength)],
      keepAlive: setInterval(() => {}, KEEP_ALIVE_MS),
      onExit,
    };
    this.#live = live;
    exitHook(onExit, true);
    context.onEvents(() => this.#pump(live));
    return context;
  }

  addListener(id: number, pending: PendingListen): void {
    this.#listeners.set(id, pending);
  }
  addDial(id: number, pending: PendingDial): void {
    this.#dials.set(id, pending);
  }
  /** Forgets a listener or dial that the library never took (its command failed). */
  forget(id: number): void {
    this.#listeners.delete(id);
    this.#dials.delete(id);
    this.#maybeIdle();
  }

  /** The live context's FWN_STAT_* counters, or undefined when no context is running. */
  stats(): number[] | undefined {
    return this.#live?.context.stats();
  }

  /** Stops the context now: every socket closes; pending listens and dials reject; the library is unloaded. */
  async close(): Promise<void> {
    clearTimeout(this.#idleCheck);
    this.#idleCheck = undefined;
    await this.#stopLive();
    // Unloaded too (Deno's sanitizer counts a loaded library as a resource); the next use loads it again.
    const library = this.#library;
    this.#library = undefined;
    if (library !== undefined) await library.then((loaded) => loaded.unload(), () => {});
  }

  async #stopLive(): Promise<void> {
    const live = this.#live;
    if (live === undefined) return this.#disposing;
    this.#dispose(live);
    const gone = new SocketError("the native adapter was closed");
    for (const socket of this.#sockets.values()) socket.abandon(gone);
    for (const listener of this.#listeners.values()) {
      listener.settle(gone);
      listener.unlistened?.();
    }
    for (const dial of this.#dials.values()) dial.settle(gone);
    this.#sockets.clear();
    this.#listeners.clear();
    this.#dials.clear();
    await this.#disposing;
  }

  #pump(live: Live): void {
    for (let round = 0; round < MAX_SWAPS_PER_WAKE; round++) {
      if (this.#live !== live) return;
      const { which, used } = splitSwap(live.context.swap());
      if (used === 0) return; // armed: the next record wakes us
      readRecords(live.context.buffers[which], live.views[which], used, this);
    }
    // Still busy and not armed: continue after the event loop had its turn.
    setTimeout(() => this.#pump(live), 0);
  }

  record(kind: number, id: number, bytes: Uint8Array, view: DataView, offset: number, length: number): void {
    const live = this.#live;
    if (live === undefined) return;
    switch (kind) {
      case RecordKind.DATA:
        // A copy: the batch buffer is reused after the next swap, and the core owns what it gets.
        this.#sockets.get(id)?.data(bytes.slice(offset, offset + length));
        return;
      case RecordKind.DRAIN:
        this.#sockets.get(id)?.drained();
        return;
      case RecordKind.END:
        this.#sockets.get(id)?.ended();
        return;
      case RecordKind.CLOSED: {
        const socket = this.#sockets.get(id);
        if (socket === undefined) return;
        this.#sockets.delete(id);
        const reason = readText(bytes, offset, length);
        // On a later turn, as runtime sockets report a close: a batch often holds a connection's
        // last bytes and its CLOSED together, and the core must see what those bytes settle
        // (a handshake's promise) before the close.
        setTimeout(() => {
          socket.closedByLibrary(reason);
          this.#maybeIdle();
        }, 0);
        return;
      }
      case RecordKind.ACCEPTED:
      case RecordKind.CONNECTED: {
        const owner = length >= 4 ? view.getUint32(offset, true) : 0;
        const socket = new NativeRawSocket(live.context, id, readEndpoints(bytes, view, offset + 4, length - 4));
        if (kind === RecordKind.ACCEPTED) this.#accepted(socket, id, owner);
        else this.#connected(socket, id, owner);
        return;
      }
      case RecordKind.LISTENING: {
        const listener = this.#listeners.get(id);
        listener?.settle(length >= 4 ? view.getUint32(offset, true) : 0);
        return;
      }
      case RecordKind.LISTEN_FAILED: {
        const listener = this.#listeners.get(id);
        this.#listeners.delete(id);
        listener?.settle(new SocketError(readText(bytes, offset, length) || "listen failed"));
        this.#maybeIdle();
        return;
      }
      case RecordKind.UNLISTENED: {
        const listener = this.#listeners.get(id);
        this.#listeners.delete(id);
        listener?.unlistened?.();
        this.#maybeIdle();
        return;
      }
      case RecordKind.CONNECT_FAILED: {
        const dial = this.#dials.get(id);
        this.#dials.delete(id);
        dial?.settle(new SocketError(readText(bytes, offset, length) || "connect failed"));
        this.#maybeIdle();
        return;
      }
      case RecordKind.LOG:
        try {
          this.#options.onLog?.({ level: id, message: readText(bytes, offset, length) });
        } catch {
          // A throwing log hook must not break the record pump.
        }
        return;
      default:
        // Kinds of a newer library: nothing to route.
        return;
    }
  }

  #accepted(socket: NativeRawSocket, id: number, listenerId: number): void {
    const listener = this.#listeners.get(listenerId);
    if (listener === undefined || listener.unlistened === undefined) {
      socket.destroy(); // accepted as the listener closed
      return;
    }
    this.#sockets.set(id, socket);
    try {
      socket.open(() => listener.onSocket(socket));
    } catch {
      // onSocket threw (a framewire bug): that socket is closed, the listener keeps accepting.
    }
  }

  #connected(socket: NativeRawSocket, id: number, dialId: number): void {
    const dial = this.#dials.get(dialId);
    this.#dials.delete(dialId);
    if (dial === undefined || dial.aborted) {
      socket.destroy();
      this.#sockets.set(id, socket); // its CLOSED still comes and is counted
      return;
    }
    this.#sockets.set(id, socket);
    try {
      socket.open(() => dial.onSocket(socket));
      dial.settle();
    } catch (error) {
      dial.settle(new SocketError(`the connection failed while opening: ${error instanceof Error ? error.message : String(error)}`, { cause: error }));
    }
  }

  #maybeIdle(): void {
    if (this.#listeners.size + this.#dials.size + this.#sockets.size > 0 || this.#idleCheck !== undefined) return;
    // On the next turn: a close followed at once by a new connect keeps the same context.
    this.#idleCheck = setTimeout(() => {
      this.#idleCheck = undefined;
      const live = this.#live;
      if (live !== undefined && this.#listeners.size + this.#dials.size + this.#sockets.size === 0) this.#dispose(live);
    }, 0);
  }

  #dispose(live: Live): void {
    if (this.#live !== live) return;
    this.#live = undefined;
    clearInterval(live.keepAlive);
    exitHook(live.onExit, false);
    const done = live.context.dispose().finally(() => {
      if (this.#disposing === done) this.#disposing = undefined;
    });
    this.#disposing = done;
  }
}

/** Registers (or removes) a hook that runs when the process exits: Node and Bun `process`, Deno `unload`. */
function exitHook(hook: () => void, on: boolean): void {
  const global = globalThis as unknown as {
    Deno?: unknown;
    process?: { on(event: "exit", listener: () => void): void; off(event: "exit", listener: () => void): void };
    addEventListener?(type: "unload", listener: () => void): void;
    removeEventListener?(type: "unload", listener: () => void): void;
  };
  if (global.Deno !== undefined) {
    if (on) global.addEventListener?.("unload", hook);
    else global.removeEventListener?.("unload", hook);
    return;
  }
  if (on) global.process?.on("exit", hook);
  else global.process?.off("exit", hook);
}

