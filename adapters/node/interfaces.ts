/** The host's network interfaces for `connect({ interface })`, from `node:os`. */
import * as os from "node:os";
import type { InterfaceAddress } from "../../src/adapter.ts";

/** `os.networkInterfaces()` as the contract lists it (Node 18.0–18.3 gave the family as a number). */
export function networkInterfaces(): Record<string, InterfaceAddress[]> {
  const out: Record<string, InterfaceAddress[]> = {};
  const all = os.networkInterfaces() as Record<string, { address: string; family: string | number }[] | undefined>;
  for (const [name, addresses] of Object.entries(all)) {
    out[name] = (addresses ?? []).map((a) => ({ address: a.address, family: a.family === "IPv6" || a.family === 6 ? 6 : 4 }));
  }
  return out;
}

