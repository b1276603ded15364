/**
 * CBOR well-formedness check (RFC 8949 Appendix C) with the codec's limits, run before cbor-x
 * decodes anything. cbor-x decodes some malformed input without complaint — a stray "break" byte
 * (0xff) becomes `{}` — and has no limits of its own: malformed bytes, a refused tag, or a payload
 * too deep, too big or with too large a bignum must be a `CodecError` before cbor-x starts work.
 *
 * The walk is iterative with an explicit stack bounded by `maxDepth`, so the limit is the same on
 * every runtime whatever its call-stack size. Time is linear in the payload; memory is the stack.
 * It stops at the first problem, so an oversized count or bignum is refused from its header.
 */
import { CodecError } from "../errors.ts";
import { type ResolvedCborLimits, refusedTagReason } from "./cbor-limits.ts";
import { isValidUtf8 } from "./utf8-check.ts";

// What an open container on the stack still expects.
/** A definite-length array or map, or a tag: `left` more items. */
const COUNTED = 0;
/** An indefinite-length array: items until a break. */
const ARRAY = 1;
/** An indefinite-length map, next a key (or a break). */
const MAP_KEY = 2;
/** An indefinite-length map, next a value (a break here is malformed). */
const MAP_VALUE = 3;
/** An indefinite-length byte string: definite byte-string chunks until a break. */
const BYTE_CHUNKS = 4;
/** An indefinite-length text string: definite text-string chunks until a break. */
const TEXT_CHUNKS = 5;

const BREAK = 0xff;

/**
 * Throws `CodecError` unless `bytes` is exactly one well-formed CBOR data item within `limits`.
 * @returns the items counted (array elements, map entries, tags), for memory accounting.
 */
export function assertWellFormedCbor(bytes: Uint8Array, limits: ResolvedCborLimits): number {
  const { maxDepth, maxItems, maxBignumBytes, allowTags } = limits;
  const end = bytes.length;
  // The open containers, innermost last: what each expects next, and for COUNTED how many items
  // are left. At most maxDepth containers plus one indefinite string (strings do not nest).
  const expects: number[] = [];
  const left: number[] = [];
  let depth = 0; // open arrays, maps and tags
  let items = 0;
  let at = 0;
  let bignumContent = false; // the next item is the content of tag 2 or 3
  let bignumBytes = -1; // running length of an indefinite bignum byte string, -1 outside one

  walk: for (;;) {
    if (at >= end) throw malformed("CBOR item runs past the end of the payload");
    const initial = bytes[at++] as number;
    const major = initial >> 5;
    const info = initial & 0x1f;
    const underBignum = bignumContent;
    bignumContent = false;
    // RFC 8949 3.4.3: a bignum's content is a byte string. cbor-x converts anything with a byte
    // length (a typed array under tag 64, say) just as slowly, past the size check below.
    if (underBignum && major !== 2) throw new CodecError("a CBOR bignum (tag 2 or 3) must hold a byte string");
    const parent = expects.length === 0 ? -1 : (expects[expects.length - 1] as number);
    const inChunks = parent === BYTE_CHUNKS || parent === TEXT_CHUNKS;

    if (initial === BREAK && (inChunks || parent === ARRAY || parent === MAP_KEY)) {
      expects.pop();
      left.pop();
      if (inChunks) bignumBytes = -1;
      else depth--;
    } else {
      if (inChunks) {
        // Chunks must be definite-length strings of the same major type.
        if (major !== (parent === BYTE_CHUNKS ? 2 : 3) || info === 31) throw malformed("indefinite-length string chunk that is not a definite string of its type");
      } else if ((parent === ARRAY || parent === MAP_KEY) && ++items > maxItems) {
        throw tooManyItems(maxItems);
      }

      let value = info; // the head's argument; -1 for indefinite length
      if (info >= 24) {
        if (info === 31) value = -1;
        else if (info > 27) throw malformed(`reserved additional information ${info}`);
        else {
          const size = 1 << (info - 24);
          if (size > end - at) throw malformed("CBOR item runs past the end of the payload");
          value = 0;
          for (let i = 0; i < size; i++) value = value * 256 + (bytes[at + i] as number);
          at += size;
        }
      }

      switch (major) {
        case 0:
        case 1:
          if (value === -1) throw malformed(`major type ${major} cannot have indefinite length`);
          break;
        case 2:
        case 3: {
          if (value === -1) {
            expects.push(major === 2 ? BYTE_CHUNKS : TEXT_CHUNKS);
            left.push(0);
            if (underBignum && major === 2) bignumBytes = 0;
            continue walk;
          }
          if (value > end - at) throw malformed("CBOR string runs past the end of the payload");
          if (major === 3 && !isValidUtf8(bytes, at, at + value)) throw malformed("text string that is not valid UTF-8");
          at += value;
          // Checked before cbor-x's conversion, which is quadratic in the length.
          const bignum = underBignum && major === 2 ? value : bignumBytes === -1 ? -1 : (bignumBytes += value);
          if (bignum > maxBignumBytes) {
            throw new CodecError(`CBOR bignum of ${bignum}${underBignum ? "" : " or more"} bytes exceeds maxBignumBytes ${maxBignumBytes}`);
          }
          break;
        }
        case 4:
        case 5: {
          if (depth >= maxDepth) throw tooDeep(maxDepth);
          if (value === -1) {
            expects.push(major === 4 ? ARRAY : MAP_KEY);
            left.push(0);
            depth++;
            continue walk;
          }
          // Every item takes at least one byte: a count beyond the payload is malformed, not a limit.
          const count = major === 4 ? value : value * 2;
          if (count > end - at) throw malformed("CBOR container longer than the payload");
          items += value; // a map entry counts once
          if (items > maxItems) throw tooManyItems(maxItems);
          if (count > 0) {
            expects.push(COUNTED);
            left.push(count);
            depth++;
            continue walk;
          }
          break;
        }
        case 6: {
          if (value === -1) throw malformed("major type 6 cannot have indefinite length");
          const reason = refusedTagReason(value, allowTags);
          if (reason !== undefined) throw new CodecError(`CBOR tag ${value} is not allowed (${reason}); allow it with allowTags`);
          if (depth >= maxDepth) throw tooDeep(maxDepth);
          if (++items > maxItems) throw tooManyItems(maxItems);
          expects.push(COUNTED);
          left.push(1);
          depth++;
          bignumContent = value === 2 || value === 3;
          continue walk;
        }
        default: // 7: simple values and floats
          if (value === -1) throw malformed("break (0xff) outside an indefinite-length item");
          if (info === 24 && value < 32) throw malformed("badly encoded simple value");
      }
    }

    // An item is complete: count it in its container, closing every container it completes.
    for (;;) {
      const top = expects.length - 1;
      if (top < 0) break walk; // the top-level item
      const expecting = expects[top];
      if (expecting === COUNTED) {
        const remaining = (left[top] as number) - 1;
        if (remaining > 0) {
          left[top] = remaining;
          break;
        }
        expects.pop();
        left.pop();
        depth--;
        continue;
      }
      if (expecting === MAP_KEY) expects[top] = MAP_VALUE;
      else if (expecting === MAP_VALUE) expects[top] = MAP_KEY;
      break;
    }
  }
  if (at !== end) throw malformed(`${end - at} bytes after the CBOR item`);
  return items;
}

function malformed(detail: string): CodecError {
  return new CodecError(`payload is not valid CBOR: ${detail}`);
}

function tooDeep(maxDepth: number): CodecError {
  return new CodecError(`CBOR nesting deeper than ${maxDepth}`);
}

function tooManyItems(maxItems: number): CodecError {
  return new CodecError(`CBOR has more than ${maxItems} items`);
}
