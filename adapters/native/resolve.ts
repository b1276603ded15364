/**
 * The library takes numeric addresses only (a name lookup must never block its I/O thread), so
 * names are resolved here first, through the runtime's `node:dns`.
 */
import { promises as dns } from "node:dns";
import { SocketError } from "../../src/errors.ts";

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

export async function numericHost(host: string, where: string): Promise<string> {
  if (host === "" || IPV4.test(host) || host.includes(":")) return host;
  try {
    return (await dns.lookup(host, {})).address;
  } catch (error) {
    throw new SocketError(`cannot resolve ${host} for ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
