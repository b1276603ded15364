/**
 * CBOR well-formedness check (RFC 8949 Appendix C). cbor-x decodes some malformed input without
 * complaint — a stray "break" byte (0xff) becomes `{}` — so the cbor codec checks the structure
 * first: malformed bytes must be a `CodecError`, never a made-up value.
 */

class Malformed extends Error {}

/** Throws when `bytes` is not exactly one well-formed CBOR data item. */
export function assertWellFormedCbor(bytes: Uint8Array): void {
  const reader = { bytes, pos: 0 };
  try {
    item(reader, false);
  } catch (error) {
    if (error instanceof Malformed) throw error;
    throw new Malformed("CBOR nesting too deep");
  }
  if (reader.pos !== bytes.length) throw new Malformed(`${bytes.length - reader.pos} bytes after the CBOR item`);
}

export { Malformed as MalformedCborError };

interface Reader {
  bytes: Uint8Array;
  pos: number;
}

function take(r: Reader, n: number): number {
  if (n > r.bytes.length - r.pos) throw new Malformed("CBOR item runs past the end of the payload");
  const at = r.pos;
  r.pos += n;
  return at;
}

function uint(r: Reader, n: number): number {
  const at = take(r, n);
  let value = 0;
  for (let i = 0; i < n; i++) value = value * 256 + (r.bytes[at + i] as number);
  return value;
}

/** Returns the major type read, or -1 for a break that `breakable` allowed. */
function item(r: Reader, breakable: boolean): number {
  const initial = r.bytes[take(r, 1)] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  let value = info;
  switch (info) {
    case 24:
      value = uint(r, 1);
      break;
    case 25:
      value = uint(r, 2);
      break;
    case 26:
      value = uint(r, 4);
      break;
    case 27:
      value = uint(r, 8);
      break;
    case 28:
    case 29:
    case 30:
      throw new Malformed(`reserved additional information ${info}`);
    case 31:
      return indefinite(r, major, breakable);
  }
  const remaining = r.bytes.length - r.pos;
  switch (major) {
    case 2:
    case 3:
      take(r, value);
      break;
    case 4:
    case 5: {
      const count = major === 4 ? value : value * 2;
      if (count > remaining) throw new Malformed("CBOR container longer than the payload");
      for (let i = 0; i < count; i++) item(r, false);
      break;
    }
    case 6:
      item(r, false);
      break;
    case 7:
      if (info === 24 && value < 32) throw new Malformed("badly encoded simple value");
      break;
  }
  return major;
}

function indefinite(r: Reader, major: number, breakable: boolean): number {
  switch (major) {
    case 2:
    case 3:
      // Chunks must be definite-length strings of the same major type.
      for (let it = item(r, true); it !== -1; it = item(r, true)) {
        if (it !== major) throw new Malformed("indefinite string chunk of another type");
      }
      return major;
    case 4:
      while (item(r, true) !== -1);
      return major;
    case 5:
      while (item(r, true) !== -1) item(r, false);
      return major;
    case 7:
      if (breakable) return -1;
      throw new Malformed("break (0xff) outside an indefinite-length item");
    default:
      throw new Malformed(`major type ${major} cannot have indefinite length`);
  }
}
