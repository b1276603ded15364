/**
 * Local binding on Bun: `Bun.connect` binds `localAddress` / `localPort` only when it dials an
 * IP literal and is given an address (for a host name, or a port alone, it silently binds
 * nothing). So a bound dial resolves the name here and binds the wildcard address for a port alone.
 */
import type { ConnectOptions, ConnectSignal, InterfaceAddress } from "../../src/adapter.ts";
import { SocketError } from "../../src/errors.ts";
import { isIpAddress } from "../../src/tls/options.ts";
import { abortable } from "../abortable.ts";

interface BunDns {
  lookup(hostname: string, options: { family?: 4 | 6 | 0 }): Promise<readonly { address: string; family: 4 | 6 }[]>;
}

interface NodeOs {
  networkInterfaces(): Record<string, readonly { address: string; family: string | number }[] | undefined>;
}

/** Where `Bun.connect` dials, with the local endpoint it must bind. */
export interface DialTarget {
  readonly hostname: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

export async function dialTarget(options: ConnectOptions, signal: ConnectSignal | undefined): Promise<DialTarget> {
  if (options.localAddress === undefined && options.localPort === undefined) return { hostname: options.host, port: options.port };
  let hostname = options.host;
  if (!isIpAddress(hostname)) {
    const family = options.localAddress === undefined ? 0 : options.localAddress.includes(":") ? 6 : 4;
    const dns = (globalThis as unknown as { Bun: { dns: BunDns } }).Bun.dns;
    let found: readonly { address: string }[];
    try {
      found = await abortable(dns.lookup(hostname, { family }), signal);
    } catch (error) {
      if (signal?.aborted) throw new SocketError(`connect to ${options.host}:${options.port} aborted`, { cause: signal.reason });
      throw new SocketError(`cannot resolve ${hostname}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    const first = found[0];
    if (first === undefined) throw new SocketError(`cannot resolve ${hostname}${family === 0 ? "" : ` to an IPv${family} address`}`);
    hostname = first.address;
  }
  return {
    hostname,
    port: options.port,
    localAddress: options.localAddress ?? (hostname.includes(":") ? "::" : "0.0.0.0"),
    ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
  };
}

/** `os.networkInterfaces()` (Bun implements node:os), families as 4 | 6. */
export function bunInterfaces(): Record<string, InterfaceAddress[]> {
  const process = (globalThis as unknown as { process: { getBuiltinModule(name: "node:os"): NodeOs } }).process;
  const out: Record<string, InterfaceAddress[]> = {};
  for (const [name, addresses] of Object.entries(process.getBuiltinModule("node:os").networkInterfaces())) {
    out[name] = (addresses ?? []).map((a) => ({ address: a.address, family: a.family === "IPv6" || a.family === 6 ? 6 : 4 }));
  }
  return out;
}
