/** Shared helpers for end-to-end tests: real sockets on loopback, everything bounded in time. */
import type { Socket } from "bun";

export const HOST = "127.0.0.1";

/** Rejects after `ms` so a hung socket fails the test instead of stalling it. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** u32 BE length | body, as any plain length-prefixed peer writes it. */
export function frame(body: Uint8Array | number[]): Uint8Array {
  const bytes = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const out = new Uint8Array(4 + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, 4);
  return out;
}

/** A framewire frame: length | type | body. */
export function typed(type: number, body: Uint8Array | number[] = []): Uint8Array {
  const bytes = body instanceof Uint8Array ? body : Uint8Array.from(body);
  const inner = new Uint8Array(1 + bytes.length);
  inner[0] = type;
  inner.set(bytes, 1);
  return frame(inner);
}

/** HELLO for versions 1..1 with no tags, as the client sends it. */
export function helloFrame(minVersion = 1, maxVersion = 1): Uint8Array {
  const json = new TextEncoder().encode("{}");
  return typed(0x01, [0x46, 0x57, minVersion, maxVersion, ...json]);
}

/**
 * A hand-driven peer on Bun's own sockets: writes exactly the bytes a test gives it and records
 * everything it receives, so tests can play a broken or silent peer.
 */
export class RawPeer {
  received: Uint8Array[] = [];
  closed = false;
  ended = false;
  #socket!: Socket<undefined>;
  #waiters: (() => void)[] = [];

  /** With `allowHalfOpen`, the peer does not close when the server sends FIN (it can ignore GOAWAY). */
  static async connect(port: number, options: { allowHalfOpen?: boolean } = {}): Promise<RawPeer> {
    const peer = new RawPeer();
    peer.#socket = await Bun.connect({
      hostname: HOST,
      port,
      allowHalfOpen: options.allowHalfOpen ?? false,
      socket: {
        binaryType: "uint8array",
        data: (_s, data) => {
          peer.received.push(data);
          peer.#notify();
        },
        end: () => {
          peer.ended = true;
          peer.#notify();
        },
        close: () => {
          peer.closed = true;
          peer.#notify();
        },
      },
    });
    return peer;
  }

  write(bytes: Uint8Array): void {
    let offset = 0;
    while (offset < bytes.length) {
      const n = this.#socket.write(bytes.subarray(offset));
      if (n <= 0) throw new Error("raw peer write failed");
      offset += n;
    }
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.received);
  }

  /** Frames received so far (u32 BE length | body), bodies only. */
  frames(): Uint8Array[] {
    const all = this.bytes();
    const out: Uint8Array[] = [];
    let pos = 0;
    while (pos + 4 <= all.length) {
      const size = new DataView(all.buffer, all.byteOffset + pos).getUint32(0);
      if (pos + 4 + size > all.length) break;
      out.push(all.subarray(pos + 4, pos + 4 + size));
      pos += 4 + size;
    }
    return out;
  }

  async until(predicate: () => boolean, ms = 5000, what = "raw peer condition"): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }

  close(): void {
    this.#socket.end();
  }

  /** Sends FIN and keeps reading. */
  halfClose(): void {
    this.#socket.shutdown();
  }

  destroy(): void {
    this.#socket.terminate();
  }

  #notify(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }
}
