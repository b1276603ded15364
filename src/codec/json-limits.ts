/**
 * Decoding limits of the json codec, and the pre-scan that enforces them. `JSON.parse` has no
 * limits of its own: 16 MiB of `[[[[…` costs seconds and about a gigabyte before it fails. The
 * scan runs over the received bytes before they are decoded or parsed, in one pass with constant
 * memory, and stops at the first limit broken. It is not a validator: `JSON.parse` still is.
 */
import { CodecError } from "../errors.ts";
import { integer, plainObject, rejectUnknownKeys } from "../validate.ts";

/** Bounds on what one received JSON payload may contain. */
export interface JsonLimits {
  /**
   * Most arrays and objects nested inside one another; `[[1]]` has depth 2, a scalar depth 0.
   * Deep enough for any real message, shallow enough that no runtime's stack is at risk.
   * @default 64
   */
  maxDepth?: number;
  /**
   * Most array elements plus object members in the whole payload: the number of values
   * `JSON.parse` has to allocate, whatever their nesting.
   * @default 100_000
   */
  maxItems?: number;
}

/** The limits a `jsonCodec()` without arguments applies. */
export const DEFAULT_JSON_LIMITS: Readonly<Required<JsonLimits>> = Object.freeze({
  maxDepth: 64,
  maxItems: 100_000,
});

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_JSON_LIMITS));

/** Checks `limits` and fills in the defaults; throws `InvalidOptionError` for a bad value or an unknown key. */
export function resolveJsonLimits(limits: JsonLimits | undefined): Readonly<Required<JsonLimits>> {
  if (limits === undefined) return DEFAULT_JSON_LIMITS;
  plainObject("jsonCodec limits", limits);
  rejectUnknownKeys(limits, KNOWN_KEYS, "jsonCodec limits");
  return Object.freeze({
    maxDepth: integer("jsonCodec limits.maxDepth", limits.maxDepth, DEFAULT_JSON_LIMITS.maxDepth),
    maxItems: integer("jsonCodec limits.maxItems", limits.maxItems, DEFAULT_JSON_LIMITS.maxItems),
  });
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Throws `CodecError` when the JSON text in `bytes` nests deeper than `maxDepth` or holds more
 * than `maxItems` elements and members. Works on UTF-8 bytes: every byte of a multi-byte
 * character is ≥ 0x80, so none can be mistaken for a quote or a bracket. Input that is not JSON
 * is left to `JSON.parse`, except brackets that close more than they opened.
 * @returns the items counted (array elements plus object members), for memory accounting.
 */
export function assertJsonWithinLimits(bytes: Uint8Array, limits: Readonly<Required<JsonLimits>>): number {
  const { maxDepth, maxItems } = limits;
  const end = bytes.length;
  // Each level and each item is counted at a byte of its own: fewer bytes than either limit cannot
  // break it (and hold at most one item per two bytes, the count returned without a scan).
  if (end <= maxDepth && end <= maxItems) return Math.ceil(end / 2);
  let depth = 0;
  let items = 0;
  let at = 0;
  while (at < end) {
    switch (bytes[at]) {
      case QUOTE:
        at = stringEnd(bytes, at + 1);
        break;
      case COMMA:
        // Outside strings a comma only separates elements or members: each one is one more item.
        if (++items > maxItems) throw new CodecError(`JSON has more than ${maxItems} items`);
        at++;
        break;
      case OPEN_ARRAY:
      case OPEN_OBJECT: {
        if (++depth > maxDepth) throw new CodecError(`JSON nesting deeper than ${maxDepth}`);
        // The first element or member has no comma before it: count it unless the container is empty.
        at++;
        while (at < end && isWhitespace(bytes[at] as number)) at++;
        const next = bytes[at];
        if (next !== undefined && next !== CLOSE_ARRAY && next !== CLOSE_OBJECT && ++items > maxItems) {
          throw new CodecError(`JSON has more than ${maxItems} items`);
        }
        break;
      }
      case CLOSE_ARRAY:
      case CLOSE_OBJECT:
        // A surplus closer would let later openers go unnoticed by the depth count.
        if (--depth < 0) throw new CodecError("payload is not valid JSON: unbalanced brackets");
        at++;
        break;
      default:
        // Skip a run of number bytes (0x2e–0x39: ".", "/", digits; the unsigned shift makes one
        // comparison of it) at once: measured 2–3× faster on numeric payloads.
        do at++;
        while (at < end && ((bytes[at] as number) - 0x2e) >>> 0 < 12);
    }
  }
  return items;
}

/** Strings shorter than this are walked in JavaScript: a native `indexOf` call costs more. */
const SHORT_STRING = 24;

/** The index after the quote that closes the string whose content starts at `from`; `bytes.length` if none does. */
function stringEnd(bytes: Uint8Array, from: number): number {
  const end = bytes.length;
  const shortEnd = Math.min(end, from + SHORT_STRING);
  let at = from;
  for (; at < shortEnd; at++) {
    const byte = bytes[at] as number;
    if (byte === QUOTE) return at + 1;
    if (byte === BACKSLASH) at++; // the escaped byte cannot end the string
  }
  if (at >= end) return end;
  // A long string: a native search finds the next quote; with no backslash before it, it closes the string.
  const quote = bytes.indexOf(QUOTE, at);
  if (quote === -1) return end;
  if (bytes[quote - 1] !== BACKSLASH) return quote + 1;
  // Escapes near a quote (`\"`, `\\"`): walk on byte by byte. Each string is searched once and
  // walked at most once, so the scan stays linear.
  for (; at < end; at++) {
    const byte = bytes[at] as number;
    if (byte === BACKSLASH) at++;
    else if (byte === QUOTE) return at + 1;
  }
  return end;
}

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}
