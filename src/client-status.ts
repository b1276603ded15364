/**
 * A client's lifecycle as values: the `status()` async iterable and the matching events.
 *
 * Each iterator buffers what its consumer has not taken yet, bounded: past `MAX_BUFFERED` the
 * oldest entry goes and the next one delivered says how many were missed, so a consumer that
 * stopped reading cannot make a client that reconnects forever grow without bound.
 */
import type { CloseInfo } from "./connection-types.ts";
import type { FramewireError } from "./errors.ts";

/** Where a client is in its life. */
export type ClientState =
  /** A dial or handshake is under way (the first one, or a reconnect attempt). */
  | "connecting"
  | "open"
  /** Between connections, waiting out the backoff delay (reconnect on). */
  | "disconnected"
  | "closing"
  | "closed";

/** One step of a client's life; `type` is also the name of the matching event. */
export type ClientStatus =
  | { type: "connecting"; attempt: number }
  /** A connection is open (after a reconnect, `reconnected` follows). The first one is open before `connect()` resolves. */
  | { type: "connected"; sessionId: string }
  | { type: "disconnected"; info: CloseInfo }
  | { type: "reconnecting"; attempt: number; delayMs: number }
  | { type: "reconnected"; attempt: number; sessionId: string }
  /** The heartbeat found the server silent: the connection is being dropped and (with reconnect) redialled. */
  | { type: "stale"; silentMs: number }
  /** The server no longer had the resumable session this client offered: a new one started (see the `unacknowledged` event). */
  | { type: "session-expired"; sessionId: string }
  | { type: "closed"; info: CloseInfo };

/** A status as an iterator delivers it: `missed` counts entries dropped before it (consumer too slow). */
export type ClientStatusEntry = ClientStatus & { missed?: number };

/** The status events of a client, named after `ClientStatus["type"]`. */
export type ClientStatusEvents = {
  connecting: (status: { attempt: number }) => void;
  connected: (status: { sessionId: string }) => void;
  disconnected: (info: CloseInfo) => void;
  reconnecting: (status: { attempt: number; delayMs: number }) => void;
  reconnected: (status: { attempt: number; sessionId: string }) => void;
  stale: (status: { silentMs: number }) => void;
  closed: (info: CloseInfo) => void;
  "session-expired": (status: { sessionId: string }) => void;
};

/** Entries an iterator keeps for a consumer that is behind. */
const MAX_BUFFERED = 256;

/** One `status()` iterator's buffer. */
class StatusQueue {
  readonly #items: ClientStatusEntry[] = [];
  #missed = 0;
  #waiter: ((result: IteratorResult<ClientStatusEntry>) => void) | undefined;
  #ended = false;

  push(status: ClientStatus): void {
    if (this.#ended) return;
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter({ value: this.#withMissed(status), done: false });
      return;
    }
    if (this.#items.length >= MAX_BUFFERED) {
      this.#items.shift();
      this.#missed++;
    }
    this.#items.push(status);
  }

  /** No more entries after those buffered. */
  end(): void {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<ClientStatusEntry>> {
    const item = this.#items.shift();
    if (item !== undefined) return Promise.resolve({ value: this.#withMissed(item), done: false });
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  #withMissed(status: ClientStatusEntry): ClientStatusEntry {
    if (this.#missed === 0) return status;
    const entry = { ...status, missed: this.#missed };
    this.#missed = 0;
    return entry;
  }
}

/** The iterators of one client. */
export class StatusStreams {
  readonly #queues = new Set<StatusQueue>();
  #final: ClientStatus | undefined;

  publish(status: ClientStatus): void {
    for (const queue of this.#queues) queue.push(status);
    if (status.type === "closed") {
      this.#final = status;
      for (const queue of this.#queues) queue.end();
      this.#queues.clear();
    }
  }

  /** A new iterator: it sees what happens from now on (after close: only the `closed` entry). */
  iterate(): AsyncIterableIterator<ClientStatusEntry> {
    const queue = new StatusQueue();
    if (this.#final !== undefined) {
      queue.push(this.#final);
      queue.end();
    } else {
      this.#queues.add(queue);
    }
    const queues = this.#queues;
    const iterator: AsyncIterableIterator<ClientStatusEntry> = {
      next: () => queue.next(),
      return: () => {
        queues.delete(queue);
        queue.end();
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}

/** Whether a connection loss is worth redialling: not a local bug, not a refusal that would repeat. */
export function shouldRedial(error: FramewireError | undefined): boolean {
  if (error === undefined) return true;
  switch (error.code) {
    case "FW_HANDLER_ERROR": // our own listener failed: redialling would repeat it
    case "FW_VERSION_MISMATCH":
    case "FW_INVALID_OPTION":
    case "FW_INVALID_USE":
    case "FW_UNSUPPORTED":
    case "FW_AUTH_FAILED": // the same credentials would be refused again
    case "FW_AUTH_REPLAY": // a fresh nonce each time: only a wrong clock repeats this
    case "FW_AUTH_SERVER_UNVERIFIED":
    case "FW_TLS_FAILED": // the same certificates would be refused again
    case "FW_TLS_PIN_MISMATCH": // possibly an impostor: never retry into it
      return false;
    case "FW_HANDSHAKE_REJECTED": {
      // The server said no. Only "not now" refusals are retried; bad credentials, a version the
      // server will not speak and an application's own codes stop the loop.
      const reasonCode = (error as FramewireError & { reasonCode?: string }).reasonCode;
      return reasonCode === "FW_SERVER_FULL" || reasonCode === "FW_SHUTDOWN" || reasonCode === "FW_HANDSHAKE_TIMEOUT" || reasonCode === "FW_ADDRESS_LIMIT" || reasonCode === "FW_RATE_LIMITED";
    }
    default:
      return true;
  }
}
