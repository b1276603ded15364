/**
 * One Deno connection behind the adapter contract: its read loop, its write loop and its close.
 * A TLS conn (handshake done) behaves the same: `read`, `write`, `closeWrite` (close_notify, then
 * FIN; reading goes on) and `close` are the same ops; only `setNoDelay` / `setKeepAlive` are missing.
 */
import { callHandler, type OnSocket, type RawSocket, type SocketHandlers } from "../../src/adapter.ts";
import type { TlsInfo } from "../../src/tls/info.ts";
import type { Pacer } from "./pacer.ts";
import { asError, type DenoConn } from "./runtime.ts";
import { isTlsRefusal, tlsFailure } from "./tls.ts";

/**
 * Read buffer sizes. A connection starts small (idle connections hold little) and doubles its
 * buffer while reads fill it, up to the maximum: each read is an async op, so a busy stream wants
 * few, large reads. A read shorter than {@link SHRINK_BELOW} (the stream went quiet) drops back to
 * the minimum, so an idle connection's pending read holds only that; the next full read jumps
 * straight back to the size the stream had reached.
 */
const READ_SIZE_MIN = 4 * 1024;
const READ_SIZE_MAX = 256 * 1024;
const SHRINK_BELOW = 2 * 1024;
/**
 * A chunk the core took longer than this to handle halves the read size: the pacer can only
 * yield between chunks, and a 256 KiB chunk of PINGs (one PONG each) takes ~10 ms.
 */
const SLOW_CHUNK_MS = 2;
/**
 * A read that filled at least this fraction of its buffer hands the buffer itself to the core
 * (which may keep zero-copy views of it); a shorter one is copied into a right-sized buffer and the
 * read buffer reused. So a chunk never pins more than 1 / HAND_OVER_FILL times the bytes read.
 */
const HAND_OVER_FILL = 0.75;

export class DenoRawSocket implements RawSocket {
  readonly #conn: DenoConn;
  #handlers: SocketHandlers | undefined;
  /** `conn.close()` was called: no more callbacks except the final `close`. */
  #closed = false;
  /** `close` was delivered. */
  #finished = false;
  #error: Error | undefined;
  /** The read loop is running (possibly waiting for `resume`). */
  #reading = false;
  /** The peer's FIN was read. */
  #readEnded = false;
  #paused = false;
  #wake: (() => void) | undefined;
  /** A write loop is in flight. */
  #writing = false;
  /**
   * Buffers taken by `write` and not yet written, in order (the write loop drains them). Not
   * bounded here: each is released to the core once written, and the core counts what we hold
   * against its `highWaterMark` and `maxBufferedBytes`.
   */
  readonly #queue: Uint8Array[] = [];
  #endRequested = false;
  /** `closeWrite` is in flight. */
  #shutting = false;
  /** Our FIN was sent. */
  #writeShut = false;
  readonly #pacer: Pacer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly tls: TlsInfo | undefined;

  /** `tls`: what the completed handshake negotiated, for a TLS conn. */
  constructor(conn: DenoConn, pacer: Pacer, tls?: TlsInfo) {
    this.#conn = conn;
    this.#pacer = pacer;
    this.tls = tls;
    this.remoteAddress = conn.remoteAddr.hostname ?? "";
    this.remotePort = conn.remoteAddr.port ?? 0;
    this.localAddress = conn.localAddr.hostname ?? "";
    this.localPort = conn.localAddr.port ?? 0;
  }

  /** Hands the socket to the core and starts reading. Throws what `onSocket` throws (the conn is then closed). */
  open(onSocket: OnSocket): void {
    try {
      this.#handlers = onSocket(this);
    } catch (error) {
      this.#closed = true;
      this.#finished = true;
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
      throw error;
    }
    void this.#readLoop();
  }

  write(bytes: Uint8Array): number {
    if (this.#closed || this.#endRequested) return -1;
    if (bytes.length === 0) return 0;
    // Taken as a whole: the write loop goes on to the next buffer without a round trip through
    // the core, so the socket is not left idle between two of its async writes.
    this.#queue.push(bytes);
    if (!this.#writing) {
      this.#writing = true;
      void this.#writeLoop();
    }
    return bytes.length;
  }

  end(): void {
    if (this.#closed || this.#endRequested) return;
    this.#endRequested = true;
    if (!this.#writing) void this.#shutdown();
  }

  destroy(error?: Error): void {
    if (this.#closed) return;
    if (error !== undefined && this.#error === undefined) this.#error = error;
    this.#closed = true;
    try {
      // Pending read, write and closeWrite ops reject; each loop then settles and `close` follows.
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#wakeUp();
    this.#maybeFinish();
  }

  pause(): void {
    if (!this.#closed) this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#wakeUp();
  }

  /** A no-op on a TLS conn, which has no setNoDelay (the client set it on the TCP conn it wrapped). */
  setNoDelay(on: boolean): void {
    if (this.#closed) return;
    try {
      this.#conn.setNoDelay?.(on);
    } catch {
      // Not a TCP socket, or already gone.
    }
  }

  /** Deno cannot set the initial delay: keepalive uses the system's. A no-op on a TLS conn. */
  setKeepAlive(on: boolean, _initialDelayMs?: number): void {
    if (this.#closed) return;
    try {
      this.#conn.setKeepAlive?.(on);
    } catch {
      // Not a TCP socket, or already gone.
    }
  }

  async #readLoop(): Promise<void> {
    this.#reading = true;
    /** What the next read goes into; undefined once handed to the core. */
    let buffer: Uint8Array | undefined;
    let size = READ_SIZE_MIN;
    /** The size a busy stream returns to after a lull. */
    let peak = READ_SIZE_MIN;
    try {
      while (!this.#closed) {
        if (this.#paused) {
          await this.#waitForResume();
          continue;
        }
        if (this.#pacer.due()) {
          await this.#pacer.turn();
          continue;
        }
        // The rest of a large frame is read straight into its body: no read buffer, no copy.
        const target = this.#handlers?.readTarget();
        if (target === undefined && (buffer === undefined || buffer.length !== size)) buffer = new Uint8Array(size);
        const into = target ?? (buffer as Uint8Array);
        const asked = into.length;
        let n: number | null;
        try {
          n = await this.#conn.read(into);
        } catch (error) {
          if (!this.#closed) this.#fail(error);
          return;
        }
        if (n === 0) continue;
        let chunk: Uint8Array | undefined;
        if (n !== null) {
          if (target !== undefined) {
            chunk = target.subarray(0, n);
          } else if (n >= asked * HAND_OVER_FILL) {
            chunk = into.subarray(0, n);
            buffer = undefined;
          } else {
            chunk = into.slice(0, n);
          }
        }
        // A pause that came while the read was in flight holds what it returned until resume.
        while (this.#paused && !this.#closed) await this.#waitForResume();
        if (this.#closed) return;
        if (chunk !== undefined) {
          // Only a buffer above the minimum can shrink: small reads skip the clock.
          const started = asked > READ_SIZE_MIN ? performance.now() : 0;
          this.#call((handlers) => handlers.data(chunk));
          if (target !== undefined) continue; // says nothing about the stream's pace
          if (started !== 0 && performance.now() - started > SLOW_CHUNK_MS) {
            size = peak = Math.max(asked / 2, READ_SIZE_MIN);
          } else if (chunk.length === asked) {
            size = peak = Math.max(Math.min(asked * 2, READ_SIZE_MAX), peak);
          } else if (chunk.length < SHRINK_BELOW) {
            size = READ_SIZE_MIN;
          }
          continue;
        }
        this.#readEnded = true;
        this.#call((handlers) => handlers.end());
        // Both sides have sent FIN: the socket is done.
        if (this.#writeShut) this.destroy();
        return;
      }
    } finally {
      this.#reading = false;
      this.#maybeFinish();
    }
  }

  async #writeLoop(): Promise<void> {
    // The first write of a run goes out at once (no latency added to a reply); later ones, and so
    // the releases that make the core produce more, wait for a turn of the event loop once the
    // budget is spent: a peer that reads as fast as we write never leaves a write op pending either.
    let first = true;
    try {
      while (!this.#closed) {
        const bytes = this.#queue.shift();
        if (bytes === undefined) break;
        let offset = 0;
        while (offset < bytes.length && !this.#closed) {
          if (!first && this.#pacer.due()) {
            await this.#pacer.turn();
            if (this.#closed) break;
          }
          first = false;
          offset += await this.#conn.write(offset === 0 ? bytes : bytes.subarray(offset));
        }
        // The op has settled: Deno holds no reference to these bytes any more.
        if (offset === bytes.length) this.#call((handlers) => handlers.released(bytes));
      }
    } catch (error) {
      if (!this.#closed) this.#fail(error);
    }
    this.#writing = false;
    if (this.#closed) {
      this.#maybeFinish();
      return;
    }
    if (this.#endRequested) {
      void this.#shutdown();
      return;
    }
  }

  async #shutdown(): Promise<void> {
    this.#shutting = true;
    try {
      await this.#conn.closeWrite();
      this.#writeShut = true;
    } catch (error) {
      if (!this.#closed) this.#fail(error);
    }
    this.#shutting = false;
    if (this.#closed) {
      this.#maybeFinish();
      return;
    }
    // Both sides have sent FIN: the socket is done.
    if (this.#readEnded) this.destroy();
  }

  #fail(error: unknown): void {
    // A TLS refusal after our handshake completed (TLS 1.3: the server checks a client's
    // certificate after the client has finished) is a TLS failure, not the network's.
    this.destroy(this.tls !== undefined && isTlsRefusal(error) ? tlsFailure(error, "TLS") : asError(error));
  }

  #waitForResume(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Delivers `close` once the conn is closed and every op on it has settled. */
  #maybeFinish(): void {
    if (!this.#closed || this.#finished || this.#reading || this.#writing || this.#shutting) return;
    this.#finished = true;
    const handlers = this.#handlers;
    const error = this.#error;
    if (handlers === undefined) return;
    const deliver = (): void => {
      try {
        handlers.close(error);
      } catch {
        // Nothing left to close.
      }
    };
    // Never from inside destroy(): the core may be mid-call. A relayed conn's sockets close last.
    const settled = this.#conn.settled?.();
    if (settled !== undefined) void settled.then(deliver);
    else queueMicrotask(deliver);
  }

  /** Calls a core handler; one that throws (a framewire bug) closes this socket. */
  #call(fn: (handlers: SocketHandlers) => void): void {
    if (!this.#closed) callHandler(this.#handlers, fn, this);
  }
}

