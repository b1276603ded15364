/**
 * One resumable session's state, shared by the connections that carry it in turn: the DATA this
 * side sent and the peer has not acknowledged (to send again after a reconnect), how many DATA
 * frames this side received (told to the peer in the next handshake and in ACKs), and when an
 * ACK is due. Sequence numbers are implicit: frames are counted in the order they cross the wire.
 */
import { RetransmitLog } from "./retransmit-log.ts";
import type { CloseInfo } from "../connection-types.ts";
import type { ResolvedResume } from "./options.ts";

export class Session {
  readonly id: string;
  /** The unguessable half of the token; only the server checks it. */
  readonly secret: string;
  readonly log = new RetransmitLog();
  readonly limits: ResolvedResume;
  /** DATA frames received in this session. */
  received = 0;
  /** The peer's bound on what it keeps unacknowledged: we acknowledge at a quarter of it. */
  peerMaxUnacked: number;
  /** `received` as of the last ACK we sent. */
  #ackedReceived = 0;
  #bytesSinceAck = 0;

  constructor(id: string, secret: string, limits: ResolvedResume, peerMaxUnacked: number) {
    this.id = id;
    this.secret = secret;
    this.limits = limits;
    this.peerMaxUnacked = peerMaxUnacked;
  }

  /** What HELLO carries to re-attach, and WELCOME hands out. */
  get token(): string {
    return `${this.id}.${this.secret}`;
  }

  /** A DATA frame of `bytes` arrived. @returns true when an ACK should go at once. */
  noteReceived(bytes: number): boolean {
    this.received++;
    this.#bytesSinceAck += bytes;
    const limits = this.limits;
    // A quarter of the peer's bound (not a 32-bit shift: a peer may announce up to 2^53 - 1).
    return this.received - this.#ackedReceived >= limits.ackEveryMessages || this.#bytesSinceAck >= Math.min(limits.ackEveryBytes, Math.floor(this.peerMaxUnacked / 4));
  }

  /** Frames received since the last ACK. */
  get ackPending(): boolean {
    return this.received !== this.#ackedReceived;
  }

  /** The count to acknowledge now (and it counts as sent). */
  takeAck(): number {
    this.#ackedReceived = this.received;
    this.#bytesSinceAck = 0;
    return this.received;
  }

  /**
   * The session is over: everything the peer never acknowledged, decoded with `decode`, oldest
   * first (the log is emptied). A payload the codec cannot decode is left out: it was encoded by
   * the same codec, so only a broken custom codec gets there.
   */
  takeUnacknowledged<T>(decode: (payload: Uint8Array) => T): T[] {
    const messages: T[] = [];
    for (const payload of this.log.drain()) {
      try {
        messages.push(decode(payload));
      } catch {
        // See above.
      }
    }
    return messages;
  }

  /** A new connection carries the session: the peer learns `received` from the handshake itself. */
  reattached(): void {
    this.#ackedReceived = this.received;
    this.#bytesSinceAck = 0;
  }
}

/** Splits a token into session id and secret (undefined: not a token's shape). */
export function parseToken(token: string): { id: string; secret: string } | undefined {
  const dot = token.indexOf(".");
  if (dot <= 0 || dot === token.length - 1) return undefined;
  return { id: token.slice(0, dot), secret: token.slice(dot + 1) };
}

/** `bytes` random bytes from the platform's CSPRNG, as hex. */
export function randomHex(bytes: number): string {
  const random = new Uint8Array(bytes);
  crypto.getRandomValues(random);
  let out = "";
  for (const b of random) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Compares two secrets in time that depends only on their length. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** A lost link (reset, FIN without GOAWAY, silence, a takeover) keeps a resumable session for its client to come back; anything else ends it. */
export function keepsSession(info: CloseInfo): boolean {
  const code = info.error?.code ?? info.code;
  return code === "FW_PEER_CLOSED" || code === "FW_SOCKET_ERROR" || code === "FW_HEARTBEAT_TIMEOUT" || code === "FW_SESSION_MOVED";
}
