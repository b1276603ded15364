/**
 * UTF-8 validation in place (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF),
 * without decoding: for the CBOR check, whose text strings cbor-x would otherwise decode with
 * U+FFFD in place of invalid bytes (the text and JSON codecs refuse them; so does CBOR now).
 */

/** True when `bytes[from..to)` is valid UTF-8. Linear, allocates nothing. */
export function isValidUtf8(bytes: Uint8Array, from: number, to: number): boolean {
  let i = from;
  while (i < to) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    // The lead byte decides the length and the range of the first continuation byte.
    let more: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) more = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      more = 2;
      if (b === 0xe0) low = 0xa0; // overlong
      else if (b === 0xed) high = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      more = 3;
      if (b === 0xf0) low = 0x90; // overlong
      else if (b === 0xf4) high = 0x8f; // above U+10FFFF
    } else return false;
    if (i + more >= to) return false;
    const first = bytes[i + 1] as number;
    if (first < low || first > high) return false;
    for (let k = 2; k <= more; k++) {
      const c = bytes[i + k] as number;
      if (c < 0x80 || c > 0xbf) return false;
    }
    i += more + 1;
  }
  return true;
}
