/**
 * Certificate pinning (`tls.pin`): the client accepts a server only if its certificate matches
 * one pin, on top of (never instead of) CA verification. Two pin forms:
 * - the certificate's SHA-256, 64 hex digits with or without colons (what `openssl x509
 *   -fingerprint -sha256` prints): pins exactly one certificate;
 * - `sha256/<base64>` of its SubjectPublicKeyInfo (HPKP's form): survives re-issuing a
 *   certificate for the same key.
 */
import { InvalidOptionError } from "../errors.ts";
import type { PeerCertificateInfo } from "./info.ts";
import { TlsPinMismatchError } from "./errors.ts";

/** Pins normalised for comparison. */
export interface TlsPins {
  /** Certificate fingerprints, upper-case colon hex. */
  readonly certificates: readonly string[];
  /** SPKI hashes, standard base64 with padding. */
  readonly spki: readonly string[];
}

const SPKI_PIN = /^sha256\/([A-Za-z0-9+/]{43}=)$/;
const HEX_PIN = /^[0-9a-fA-F]{64}$/;

/** Checks and normalises `tls.pin` (one pin or a non-empty list). */
export function parsePins(value: unknown): TlsPins {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) throw new InvalidOptionError("tls.pin must be a pin or a non-empty array of pins");
  const certificates: string[] = [];
  const spki: string[] = [];
  for (const pin of list as unknown[]) {
    if (typeof pin !== "string") throw new InvalidOptionError("tls.pin entries must be strings");
    const spkiMatch = SPKI_PIN.exec(pin);
    if (spkiMatch !== null) {
      spki.push(spkiMatch[1] as string);
      continue;
    }
    const hex = pin.replaceAll(":", "");
    if (!HEX_PIN.test(hex) || (pin.includes(":") && !/^([0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$/.test(pin))) {
      throw new InvalidOptionError(`tls.pin ${JSON.stringify(pin.slice(0, 80))} is neither a SHA-256 certificate fingerprint (64 hex digits, colons allowed) nor sha256/<base64 of 32 bytes>`);
    }
    certificates.push(hex.toUpperCase().match(/../g)!.join(":"));
  }
  return { certificates, spki };
}

/** The error to fail the connection with, or undefined when `certificate` matches a pin. */
export function pinMismatch(certificate: PeerCertificateInfo | undefined, pins: TlsPins): TlsPinMismatchError | undefined {
  if (certificate === undefined) return new TlsPinMismatchError(undefined);
  if (pins.certificates.includes(certificate.fingerprint256) || pins.spki.includes(certificate.spkiSha256)) return undefined;
  return new TlsPinMismatchError({ fingerprint256: certificate.fingerprint256, spkiSha256: certificate.spkiSha256 });
}
