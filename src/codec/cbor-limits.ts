/**
 * Decoding limits of the cbor codec and its tag policy. The limits are enforced by the
 * well-formedness check (cbor-wellformed.ts) before cbor-x sees a byte, so a payload that breaks
 * one costs one linear scan, never cbor-x's work.
 */
import { InvalidOptionError } from "../errors.ts";
import { describeValue, integer, plainObject, rejectUnknownKeys } from "../validate.ts";

/** Bounds on what one received CBOR payload may contain. */
export interface CborLimits {
  /**
   * Most arrays, maps and tags nested inside one another (each counts one level; a scalar at the
   * top is depth 0). The check is iterative, so this is the same limit on every runtime.
   * @default 64
   */
  maxDepth?: number;
  /**
   * Most array elements plus map entries (an entry counts once) plus tags in the whole payload:
   * the number of values cbor-x has to allocate, whatever their nesting.
   * @default 100_000
   */
  maxItems?: number;
  /**
   * Largest bignum (tag 2 or 3) in bytes of magnitude; for an indefinite-length byte string the
   * chunks count together. cbor-x converts bignums in quadratic time (a 256 KiB one blocked the
   * event loop for more than 10 s); 128 bytes is a 1024-bit integer, about 10 µs.
   * @default 128
   */
  maxBignumBytes?: number;
  /**
   * Tags to accept although {@link REFUSED_CBOR_TAGS} refuses them, for peers you trust to use
   * those cbor-x extensions. Every other tag is accepted already.
   * @default []
   */
  allowTags?: readonly number[];
}

/** The limits a `cborCodec()` without arguments applies. */
export const DEFAULT_CBOR_LIMITS: Readonly<Required<CborLimits>> = Object.freeze({
  maxDepth: 64,
  maxItems: 100_000,
  maxBignumBytes: 128,
  allowTags: Object.freeze([]),
});

/** A range of refused tags, `first` to `last` inclusive, and why (shown in the error). */
export interface RefusedCborTags {
  readonly first: number;
  readonly last: number;
  readonly reason: string;
}

/**
 * The tag policy. The tags below are refused unless listed in `allowTags`; every other tag is
 * accepted, because cbor-x either gives it a meaning that is safe or none at all (it then decodes
 * to an inert `Tag { tag, value }`). The safe meanings in cbor-x 1.6.8 (decode.js):
 * 0 and 1 (dates), 2 and 3 (bignums, bounded by `maxBignumBytes`), 4 and 5 (decimal fraction,
 * bigfloat), 258 (Set), 259 (Map), 55799 (self-described CBOR), and the typed arrays of its
 * `typedArrayTags` loop: 64 to 75, 77 to 79, 81, 82, 85 and 86 (each little-endian tag and, for
 * elements wider than a byte, its big-endian twin at tag − 4).
 *
 * Why each group is refused:
 * - 27 (generic object): cbor-x calls `RegExp(…)` or `Error(…)` with peer-chosen arguments, a
 *   live object (a peer-written regular expression can backtrack for ever in the application).
 * - 28, 29 (value sharing): aliased and cyclic object graphs. Walking, cloning or re-encoding
 *   the value costs time exponential in the payload size, or never ends.
 * - 6, 51, 216–255, 27647–28671, 28704–32767, 1811939328–2147483647 (packed values): tag 51
 *   defines a table of values, prefixes and suffixes; the others copy table entries or
 *   concatenate them with their content, so a small payload becomes large strings and arrays.
 * - 14, 15, 105, 0xdff9–0xffff (bundled strings, records): slices of a string bundle, and record
 *   definitions that cbor-x keeps in module-wide state, so one payload changes how the next
 *   decodes. 0xe000–0xffff is cbor-x's record-structure range; refused as a whole.
 * - 0x53687264 (shared data): exposes the decoder's packed values and record structures.
 * - 25, 256 (stringref): cbor-x does not implement them yet; refused so that an upgrade cannot
 *   start expanding string references unnoticed.
 *
 * Tags from 2^32 up are not listed: cbor-x cannot decode them and fails with a `CodecError`.
 * Ranges are inclusive, sorted and disjoint; `reason` is quoted in the error.
 */
export const REFUSED_CBOR_TAGS: readonly RefusedCborTags[] = Object.freeze(
  [
    { first: 6, last: 6, reason: "packed-value reference: copies peer-defined values" },
    { first: 14, last: 15, reason: "bundled-string reference: slices peer-defined strings" },
    { first: 25, last: 25, reason: "stringref: refers to earlier strings" },
    { first: 27, last: 27, reason: "constructs live objects from peer input" },
    { first: 28, last: 29, reason: "value sharing: aliased and cyclic objects" },
    { first: 51, last: 51, reason: "packed-value table: peer-defined values for other tags to copy" },
    { first: 105, last: 105, reason: "record definition: changes decoder state" },
    { first: 216, last: 255, reason: "packed prefix/suffix: concatenates peer-defined values" },
    { first: 256, last: 256, reason: "stringref namespace" },
    { first: 27647, last: 28671, reason: "packed suffix: concatenates peer-defined values" },
    { first: 28704, last: 32767, reason: "packed prefix: concatenates peer-defined values" },
    { first: 0xdff9, last: 0xffff, reason: "record structures and bundled strings: change decoder state" },
    { first: 0x53687264, last: 0x53687264, reason: "shared data: exposes decoder state" },
    { first: 1811939328, last: 2147483647, reason: "packed prefix/suffix: concatenates peer-defined values" },
  ].map((range) => Object.freeze(range)),
);

/** `CborLimits` checked, with `allowTags` as a set. */
export interface ResolvedCborLimits {
  readonly maxDepth: number;
  readonly maxItems: number;
  readonly maxBignumBytes: number;
  readonly allowTags: ReadonlySet<number>;
}

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULT_CBOR_LIMITS));

/** Checks `limits` and fills in the defaults; throws `InvalidOptionError` for a bad value or an unknown key. */
export function resolveCborLimits(limits: CborLimits | undefined): ResolvedCborLimits {
  const given: Record<string, unknown> = limits === undefined ? {} : checkedObject(limits);
  return Object.freeze({
    maxDepth: integer("cborCodec limits.maxDepth", given.maxDepth, DEFAULT_CBOR_LIMITS.maxDepth),
    maxItems: integer("cborCodec limits.maxItems", given.maxItems, DEFAULT_CBOR_LIMITS.maxItems),
    maxBignumBytes: integer("cborCodec limits.maxBignumBytes", given.maxBignumBytes, DEFAULT_CBOR_LIMITS.maxBignumBytes),
    allowTags: tagSet(given.allowTags),
  });
}

/** Why `tag` is refused under `allowTags`, or `undefined` when it is accepted. */
export function refusedTagReason(tag: number, allowTags: ReadonlySet<number>): string | undefined {
  for (const range of REFUSED_CBOR_TAGS) {
    if (tag < range.first) return undefined; // sorted: no later range can hold it
    if (tag <= range.last) return allowTags.has(tag) ? undefined : range.reason;
  }
  return undefined;
}

function checkedObject(limits: unknown): Record<string, unknown> {
  plainObject("cborCodec limits", limits);
  rejectUnknownKeys(limits, KNOWN_KEYS, "cborCodec limits");
  return limits;
}

function tagSet(value: unknown): ReadonlySet<number> {
  if (value === undefined) return new Set();
  if (!Array.isArray(value)) {
    throw new InvalidOptionError(`cborCodec limits.allowTags must be an array of tag numbers, got ${describeValue(value)}`);
  }
  const list: readonly unknown[] = value;
  const tags = new Set<number>();
  for (let index = 0; index < list.length; index++) {
    const name = `cborCodec limits.allowTags[${index}]`;
    const tag = list[index];
    // `integer` takes undefined as "use the default"; a hole in this list is a mistake instead.
    if (tag === undefined) throw new InvalidOptionError(`${name} must be an integer >= 0, got undefined`);
    tags.add(integer(name, tag, 0));
  }
  return tags;
}
