/**
 * Interface binding: `connect({ localAddress, localPort, interface })` picks the client socket's
 * own address, so traffic leaves through a chosen link (a WireGuard `wg0`, one NIC of several).
 * An interface name is resolved to its address for the target's family on each dial, so a
 * link that comes up later is found by a reconnect.
 */
import type { InterfaceAddress, SocketAdapter } from "../adapter.ts";
import { ErrorCode, FramewireError, InvalidOptionError, UnsupportedError } from "../errors.ts";
import { isIpAddress } from "../tls/options.ts";
import { describeValue, integer, string } from "../validate.ts";

/** `interface` named an interface that does not exist or has no address of the family asked for (`FW_INTERFACE_UNAVAILABLE`). */
export class InterfaceUnavailableError extends FramewireError {
  override readonly name = "InterfaceUnavailableError";
  constructor(message: string) {
    super(ErrorCode.INTERFACE_UNAVAILABLE, message);
  }
}

/** Checked binding options. */
export interface LocalBind {
  readonly address: string | undefined;
  readonly port: number | undefined;
  readonly interfaceName: string | undefined;
  readonly family: 4 | 6;
}

export interface LocalBindOptions {
  localAddress?: unknown;
  localPort?: unknown;
  interface?: unknown;
  family?: unknown;
}

export function resolveLocalBind(options: LocalBindOptions, host: string, path: string | undefined, adapter: SocketAdapter): LocalBind | undefined {
  const given = options.localAddress !== undefined || options.localPort !== undefined || options.interface !== undefined;
  if (!given) {
    if (options.family !== undefined) throw new InvalidOptionError("family chooses the address of interface: it needs interface");
    return undefined;
  }
  if (path !== undefined) throw new InvalidOptionError("localAddress, localPort and interface bind a TCP socket: not with path");
  if (!adapter.capabilities.localBind) throw new UnsupportedError(`the ${adapter.name} adapter cannot bind a client socket locally (localAddress, localPort, interface)`);
  if (options.localAddress !== undefined && options.interface !== undefined) throw new InvalidOptionError("give localAddress or interface, not both");
  const address = options.localAddress === undefined ? undefined : string("localAddress", options.localAddress, "", true);
  if (address !== undefined && !isIpAddress(address)) throw new InvalidOptionError(`localAddress must be an IP address, got ${JSON.stringify(address.slice(0, 60))}`);
  const interfaceName = options.interface === undefined ? undefined : string("interface", options.interface, "", true);
  if (interfaceName !== undefined && adapter.networkInterfaces === undefined) throw new UnsupportedError(`the ${adapter.name} adapter cannot list network interfaces (interface)`);
  const targetFamily = host.includes(":") ? 6 : 4;
  if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw new InvalidOptionError(`family must be 4 or 6, got ${describeValue(options.family)}`);
  const family = (options.family ?? targetFamily) as 4 | 6;
  if (address !== undefined && (address.includes(":") ? 6 : 4) !== targetFamily && isIpAddress(host)) {
    throw new InvalidOptionError(`localAddress ${address} and host ${host} are of different address families`);
  }
  return {
    address,
    port: options.localPort === undefined ? undefined : integer("localPort", options.localPort, 0, 1, 65535),
    interfaceName,
    family,
  };
}

/** The local address and port to bind for one dial; throws `InterfaceUnavailableError`. */
export function localEndpoint(bind: LocalBind, adapter: SocketAdapter): { localAddress?: string; localPort?: number; interfaceName?: string } {
  const name = bind.interfaceName;
  const address = name === undefined ? bind.address : interfaceAddress(adapter.networkInterfaces?.() ?? {}, name, bind.family);
  return {
    ...(address !== undefined ? { localAddress: address } : {}),
    ...(bind.port !== undefined ? { localPort: bind.port } : {}),
    ...(name !== undefined ? { interfaceName: name } : {}),
  };
}

function interfaceAddress(interfaces: Readonly<Record<string, readonly InterfaceAddress[]>>, name: string, family: 4 | 6): string {
  const addresses = Object.hasOwn(interfaces, name) ? interfaces[name] : undefined;
  if (addresses === undefined) {
    const known = Object.keys(interfaces).slice(0, 12).join(", ");
    throw new InterfaceUnavailableError(`no network interface named ${JSON.stringify(name)} (this host has: ${known || "none listed"})`);
  }
  // Prefer a global address over an IPv6 link-local one (fe80::/10 needs a scope to dial from).
  const ofFamily = addresses.filter((a) => a.family === family);
  const chosen = ofFamily.find((a) => !/^fe[89ab]/i.test(a.address)) ?? ofFamily[0];
  if (chosen === undefined) throw new InterfaceUnavailableError(`network interface ${JSON.stringify(name)} has no IPv${family} address`);
  return chosen.address;
}
