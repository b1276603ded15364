/**
 * Just enough DER to find a certificate's SubjectPublicKeyInfo (RFC 5280 §4.1): the `sha256/`
 * pin form hashes it, and neither Node nor Bun hands it over as bytes of its own.
 *
 *   Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
 *     signature, issuer, validity, subject, subjectPublicKeyInfo, … }, … }
 */
import { TlsError } from "./errors.ts";

interface Element {
  readonly tag: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset just past the element. */
  readonly end: number;
}

function element(der: Uint8Array, offset: number, limit: number): Element {
  if (offset + 2 > limit) throw new TlsError("certificate DER is truncated");
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > limit) throw new TlsError("certificate DER has a bad length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] as number);
    start += count;
  }
  const end = start + length;
  if (end > limit) throw new TlsError("certificate DER is truncated");
  return { tag, start, end };
}

/** The DER bytes of the SubjectPublicKeyInfo of a DER certificate. */
export function subjectPublicKeyInfo(der: Uint8Array): Uint8Array {
  const certificate = element(der, 0, der.length);
  const tbs = element(der, certificate.start, certificate.end);
  if (certificate.tag !== 0x30 || tbs.tag !== 0x30) throw new TlsError("not a DER certificate");
  let cursor = tbs.start;
  let field = element(der, cursor, tbs.end);
  if (field.tag === 0xa0) {
    cursor = field.end; // explicit version
    field = element(der, cursor, tbs.end);
  }
  // serialNumber, signature, issuer, validity, subject: skip five, the sixth is the SPKI.
  for (let i = 0; i < 5; i++) {
    cursor = field.end;
    field = element(der, cursor, tbs.end);
  }
  if (field.tag !== 0x30) throw new TlsError("certificate has no SubjectPublicKeyInfo where expected");
  return der.subarray(cursor, field.end);
}
