/**
 * A server's resumable sessions: which connection carries each, and those whose connection was
 * lost, waiting (bounded in time, number and bytes) for their client to come back with the token.
 */
import type { ResumeHello } from "../protocol/resume.ts";
import type { ResolvedResume } from "./options.ts";
import { parseToken, randomHex, sameSecret, Session } from "./session.ts";

interface Entry<C> {
  session: Session;
  /** The connection carrying it; undefined while it waits. */
  carrier: C | undefined;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** What it counted in the waiting sessions' bytes (the log shrinks once a resume acknowledges). */
  waitingBytes: number;
}

/** What a HELLO's resume fields lead to. */
export type ResumeLookup<C> =
  | { kind: "new"; session: Session }
  | { kind: "resume"; session: Session; peerReceived: number; previous: C | undefined }
  /** A token whose session exists but whose secret is wrong, or a count the session cannot have. */
  | { kind: "refused"; reason: string };

export class SessionRegistry<C> {
  readonly #limits: ResolvedResume;
  readonly #entries = new Map<string, Entry<C>>();
  /** Waiting sessions, oldest first (Map keeps insertion order). */
  readonly #waiting = new Map<string, Entry<C>>();
  #waitingBytes = 0;
  readonly #expired: (session: Session) => void;

  /** `expired` is told of each waiting session discarded (its TTL or a bound). */
  constructor(limits: ResolvedResume, expired: (session: Session) => void) {
    this.#limits = limits;
    this.#expired = expired;
  }

  get limits(): ResolvedResume {
    return this.#limits;
  }

  /**
   * The session a HELLO asks for. `newId` names a new session. An unknown token is a new session
   * too: the old one expired. So is one whose carrier is ending it (`ending`: the application
   * closed that connection in order): a session being closed is not continued.
   */
  lookup(hello: ResumeHello, newId: string, ending: (carrier: C) => boolean): ResumeLookup<C> {
    const token = hello.token === undefined ? undefined : parseToken(hello.token);
    const found = token === undefined ? undefined : this.#entries.get(token.id);
    const entry = found !== undefined && found.carrier !== undefined && ending(found.carrier) ? undefined : found;
    if (token === undefined || entry === undefined) {
      // 128 random bits: the part of a token only the client and the server know.
      return { kind: "new", session: new Session(newId, randomHex(16), this.#limits, hello.maxUnackedBytes) };
    }
    if (!sameSecret(token.secret, entry.session.secret)) return { kind: "refused", reason: "resume token does not match the session" };
    const received = hello.received ?? 0;
    const log = entry.session.log;
    if (received < log.acked || received > log.sent) return { kind: "refused", reason: `the client says it received ${received} frames; ${log.acked}-${log.sent} were possible` };
    entry.session.peerMaxUnacked = hello.maxUnackedBytes;
    return { kind: "resume", session: entry.session, peerReceived: received, previous: entry.carrier };
  }

  /** `carrier` now carries `session` (new or resumed). */
  attach(session: Session, carrier: C): void {
    let entry = this.#entries.get(session.id);
    if (entry === undefined) {
      entry = { session, carrier, timer: undefined, waitingBytes: 0 };
      this.#entries.set(session.id, entry);
      return;
    }
    this.#stopWaiting(entry);
    entry.carrier = carrier;
  }

  /** The connection carrying `session` was lost: the session waits for `sessionTtlMs`. */
  detach(session: Session, carrier: C): void {
    const entry = this.#entries.get(session.id);
    if (entry === undefined || entry.carrier !== carrier) return; // already carried by a newer connection
    entry.carrier = undefined;
    entry.timer = setTimeout(() => this.#expire(entry), this.#limits.sessionTtlMs);
    this.#waiting.set(session.id, entry);
    entry.waitingBytes = session.log.bytes;
    this.#waitingBytes += entry.waitingBytes;
    // Past a bound, the session waiting longest goes first.
    for (const oldest of this.#waiting.values()) {
      if (this.#waiting.size <= this.#limits.maxDetachedSessions && this.#waitingBytes <= this.#limits.maxDetachedBytes) break;
      this.#expire(oldest);
    }
  }

  /**
   * `carrier` ended the session (closed in order, or failed): forget it.
   * @returns false when the session had moved on to a newer connection meanwhile (it goes on there).
   */
  end(session: Session, carrier: C): boolean {
    const entry = this.#entries.get(session.id);
    if (entry === undefined || (entry.carrier !== carrier && entry.carrier !== undefined)) return false;
    this.#stopWaiting(entry);
    this.#entries.delete(session.id);
    return true;
  }

  /** Sessions waiting for their client. */
  get waiting(): number {
    return this.#waiting.size;
  }

  /** The server closes: every waiting session is discarded now. */
  closeAll(): void {
    for (const entry of [...this.#waiting.values()]) this.#expire(entry);
  }

  #stopWaiting(entry: Entry<C>): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (this.#waiting.delete(entry.session.id)) this.#waitingBytes -= entry.waitingBytes;
    entry.waitingBytes = 0;
  }

  #expire(entry: Entry<C>): void {
    this.#stopWaiting(entry);
    this.#entries.delete(entry.session.id);
    this.#expired(entry.session);
  }
}
