/**
 * Which accepted sockets a server lets in: `maxConnections` over all, `maxConnectionsPerAddress`
 * per remote address, and `connectionRate` attempts per address and window.
 *
 * A slot is held by a connection that is handshaking or open, and given back as soon as it starts
 * closing: refused sockets, failed handshakes and connections waiting for a peer's FIN never hold
 * one, so peers that never send FIN cannot lock others out.
 *
 * The address table is bounded. Addresses holding connections are at most `maxConnections`; the
 * ones that hold none but are remembered for their rate window sit in a second map, in the order
 * their windows began, at most {@link MAX_RATE_ONLY_ADDRESSES}, the oldest forgotten first. So
 * many addresses grow no map without bound (an attacker with more addresses than that only
 * forgets its own windows sooner).
 */
import { ErrorCode } from "../codes.ts";
import type { Reason } from "../protocol/wire.ts";
import type { ConnectionRate, ResolvedServerLimits } from "./options.ts";

/** Addresses remembered only for their rate window. */
export const MAX_RATE_ONLY_ADDRESSES = 16_384;

interface AddressEntry {
  /** Slots held. */
  count: number;
  /** When this address's current rate window began, and the attempts in it. */
  windowStart: number;
  attempts: number;
}

/** Why an accepted socket was refused, by code. */
export type RefusalCode = "FW_SERVER_FULL" | "FW_ADDRESS_LIMIT" | "FW_RATE_LIMITED";

export class Admission {
  readonly #maxConnections: number;
  readonly #perAddress: number;
  readonly #rate: ConnectionRate | undefined;
  /** Slots held now. */
  #slots = 0;
  /** Addresses that hold slots. */
  readonly #holding = new Map<string, AddressEntry>();
  /** Addresses that hold none, kept for their rate window; oldest window first. */
  readonly #recent = new Map<string, AddressEntry>();

  constructor(maxConnections: number, limits: ResolvedServerLimits) {
    this.#maxConnections = maxConnections;
    this.#perAddress = limits.maxConnectionsPerAddress;
    this.#rate = limits.connectionRate;
  }

  /** Slots held now. */
  get slots(): number {
    return this.#slots;
  }

  /** Addresses tracked now (both maps). */
  get trackedAddresses(): number {
    return this.#holding.size + this.#recent.size;
  }

  /**
   * A socket from `address` arrived at `now` (`performance.now()`): takes a slot for it, or says
   * why not. Every attempt counts against the rate, refused ones too.
   */
  admit(address: string, now: number): (Reason & { code: RefusalCode }) | undefined {
    const key = addressKey(address);
    let entry = this.#holding.get(key);
    const held = entry !== undefined;
    if (entry === undefined) entry = this.#recent.get(key);
    const rate = this.#rate;
    if (entry === undefined) {
      entry = { count: 0, windowStart: now, attempts: 0 };
      if (rate !== undefined) this.#remember(key, entry);
    } else if (rate !== undefined && now - entry.windowStart >= rate.windowMs) {
      entry.windowStart = now;
      entry.attempts = 0;
      if (!held) {
        // Its window starts again: to the back of the line.
        this.#recent.delete(key);
        this.#remember(key, entry);
      }
    }
    entry.attempts++;
    if (rate !== undefined && entry.attempts > rate.perAddress) {
      return { code: ErrorCode.RATE_LIMITED, reason: `more than ${rate.perAddress} connections from one address in ${rate.windowMs} ms` };
    }
    if (entry.count >= this.#perAddress) {
      return { code: ErrorCode.ADDRESS_LIMIT, reason: `at most ${this.#perAddress} connections from one address` };
    }
    if (this.#slots >= this.#maxConnections) {
      return { code: ErrorCode.SERVER_FULL, reason: `server is at maxConnections (${this.#maxConnections})` };
    }
    if (!held) {
      this.#recent.delete(key);
      this.#holding.set(key, entry);
    }
    entry.count++;
    this.#slots++;
    return undefined;
  }

  /** A connection admitted from `address` gave its slot back (it is closing or closed). Call once per admitted connection. */
  leave(address: string, now: number): void {
    const key = addressKey(address);
    const entry = this.#holding.get(key);
    if (entry === undefined) return;
    this.#slots--;
    if (--entry.count > 0) return;
    this.#holding.delete(key);
    // Still inside its rate window: remembered until the window ends or room is needed.
    const rate = this.#rate;
    if (rate !== undefined && now - entry.windowStart < rate.windowMs) this.#remember(key, entry);
  }

  #remember(key: string, entry: AddressEntry): void {
    const recent = this.#recent;
    if (recent.size >= MAX_RATE_ONLY_ADDRESSES) {
      const oldest = recent.keys().next();
      if (oldest.done !== true) recent.delete(oldest.value);
    }
    recent.set(key, entry);
  }
}

/**
 * The key an address is counted under: IPv4 as it is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * IPv6 by its /64 prefix (one host usually has a whole /64), without a zone (`%eth0`).
 */
export function addressKey(address: string): string {
  const bare = address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address;
  if (!bare.includes(":")) return bare;
  const lower = bare.toLowerCase();
  const zone = lower.indexOf("%");
  const ip = zone >= 0 ? lower.slice(0, zone) : lower;
  const mapped = /^(?:0{0,4}:){0,5}:?ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (mapped !== null) return mapped[1] as string;
  const halves = ip.split("::");
  const head = halves[0] === "" ? [] : (halves[0] as string).split(":");
  const tail = halves.length > 1 && halves[1] !== "" ? (halves[1] as string).split(":") : [];
  const groups = halves.length > 1 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail] : head;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}
