/**
 * TLS handshakes in flight, bounded before they cost anything. A TLS listener's socket spends
 * its handshake (key exchange, a signature: CPU a stranger makes us spend) outside the core,
 * before `maxConnections` and the per-address limits see it. The gate applies those same
 * bounds at TCP accept: at most `maxConnections` handshakes in flight, at most
 * `maxConnectionsPerAddress` from one address (IPv6 per /64); past them the socket is closed
 * before its ClientHello is read.
 *
 * An entry ends when the handshake does (the connection reaches the core, or the adapter
 * reports the failure), and at the latest at its deadline, the TLS handshake timeout the adapter
 * enforces: so an entry an adapter failed to report cannot hold a place forever.
 */
import { addressKey } from "./admission.ts";

export class TlsHandshakeGate {
  readonly #maxTotal: number;
  readonly #perAddress: number;
  readonly #timeoutMs: number;
  /** Address key → remote port → deadline (`performance.now()` ms). */
  readonly #inFlight = new Map<string, Map<number, number>>();
  #total = 0;

  constructor(maxTotal: number, perAddress: number, timeoutMs: number) {
    this.#maxTotal = maxTotal;
    this.#perAddress = perAddress;
    this.#timeoutMs = timeoutMs;
  }

  /** Handshakes in flight now. */
  get inFlight(): number {
    return this.#total;
  }

  /** A TCP connection from `address`:`port` was accepted: may its TLS handshake start? */
  enter(address: string, port: number, now: number): "FW_SERVER_FULL" | "FW_ADDRESS_LIMIT" | undefined {
    const key = addressKey(address);
    if (this.#total >= this.#maxTotal) this.#sweepAll(now);
    if (this.#total >= this.#maxTotal) return "FW_SERVER_FULL";
    let ports = this.#inFlight.get(key);
    if (ports !== undefined && ports.size >= this.#perAddress) {
      this.#sweep(key, ports, now);
      ports = this.#inFlight.get(key);
    }
    if (ports !== undefined && ports.size >= this.#perAddress) return "FW_ADDRESS_LIMIT";
    if (ports === undefined) this.#inFlight.set(key, (ports = new Map()));
    if (!ports.has(port)) this.#total++;
    ports.set(port, now + this.#timeoutMs);
    return undefined;
  }

  /** That handshake ended, either way. Idempotent. */
  leave(address: string, port: number): void {
    const key = addressKey(address);
    const ports = this.#inFlight.get(key);
    if (ports === undefined || !ports.delete(port)) return;
    this.#total--;
    if (ports.size === 0) this.#inFlight.delete(key);
  }

  #sweep(key: string, ports: Map<number, number>, now: number): void {
    for (const [port, deadline] of ports) {
      if (deadline > now) continue;
      ports.delete(port);
      this.#total--;
    }
    if (ports.size === 0) this.#inFlight.delete(key);
  }

  #sweepAll(now: number): void {
    for (const [key, ports] of this.#inFlight) this.#sweep(key, ports, now);
  }
}
