/**
 * Fuzzing what a hostile peer reaches first: the framewire frame decoder, the handshake parsers
 * (HELLO, WELCOME, REJECT/GOAWAY, ACK) and the codecs' decoders with their limits. Random bytes and
 * mutations of valid input (byte flips, truncations, splices, every chunking): a result or one of
 * framewire's typed errors with a stable code, never anything else; every case bounded in time; a
 * stream decodes to the same frames (and the same error) however it is chunked.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cborCodec } from "../../src/codec/cbor.ts";
import { jsonCodec } from "../../src/codec/json.ts";
import { textCodec } from "../../src/codec/text.ts";
import { isValidUtf8 } from "../../src/codec/utf8-check.ts";
import { CodecError, FramewireError, ProtocolError } from "../../src/errors.ts";
import { LengthPrefixedFramer } from "../../src/framing/index.ts";
import { decodeAck, encodeAck } from "../../src/protocol/resume.ts";
import { decodeHello, decodeReason, decodeWelcome, encodeHello, encodeReason, encodeWelcome, type Hello, type Reason } from "../../src/protocol/wire.ts";
import { concat, splitAt } from "./helpers.ts";

/** What one case may take; a hang or a quadratic path shows up far above it. */
const CASE_MS = 250;

/** Runs `fn`; returns its value, or the error if it is a framewire error with one of `codes`; rethrows anything else. */
function typedOutcome<T>(fn: () => T, codes: readonly string[]): { value?: T; code?: string } {
  const t0 = performance.now();
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof FramewireError) || !codes.includes(error.code)) throw error;
    return { code: error.code };
  } finally {
    expect(performance.now() - t0).toBeLessThan(CASE_MS);
  }
}

// ─────────────── the framewire frame decoder ───────────────

/** framewire's decoder as a connection configures it (small limit: oversize headers are common). */
const LIMIT = 4096 + 1;
const framer = new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: LIMIT });
const FRAME_CODES = ["FW_FRAME_TOO_LARGE", "FW_MALFORMED_FRAME"];

/** A framewire frame: u32 BE length | type | body. */
function frame(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  new DataView(out.buffer).setUint32(0, body.length + 1);
  out[4] = type;
  out.set(body, 5);
  return out;
}

/** Frames (type byte first) decoded from `chunks`, and the code of the error that stopped them. */
function decodeAll(chunks: readonly Uint8Array[]): { frames: number[][]; code: string | undefined } {
  const decoder = framer.createDecoder();
  const frames: number[][] = [];
  const sink = (b: Uint8Array, s: number, e: number): void => void frames.push(Array.from(b.subarray(s, e)));
  for (const chunk of chunks) {
    const { code } = typedOutcome(() => decoder.push(chunk, sink), FRAME_CODES);
    if (code !== undefined) {
      // Failed for good: it never resynchronises.
      expect(typedOutcome(() => decoder.push(Uint8Array.of(0, 0, 0, 1, 0), sink), FRAME_CODES).code).toBe(code);
      return { frames, code };
    }
  }
  return { frames, code: undefined };
}

const frames = fc.array(fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })), { maxLength: 12 });
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });
const cutAt = (length: number, fractions: readonly number[]): number[] => fractions.map((f) => Math.floor(f * length));

describe("fuzz: the framewire frame decoder", () => {
  test("random bytes in random chunks: frames or FW_FRAME_TOO_LARGE / FW_MALFORMED_FRAME, the same however chunked", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), cuts, cuts, (bytes, a, b) => {
        const one = decodeAll(splitAt(bytes, cutAt(bytes.length, a)));
        expect(decodeAll(splitAt(bytes, cutAt(bytes.length, b)))).toEqual(one);
      }),
      { numRuns: 10_000 },
    );
  });

  test("a valid stream decodes to its frames at every single split point and byte by byte", () => {
    fc.assert(
      fc.property(frames, (list) => {
        const stream = concat(list.map(([type, body]) => frame(type, body)));
        const want = list.map(([type, body]) => [type, ...body]);
        for (let at = 0; at <= stream.length; at++) expect(decodeAll(splitAt(stream, [at]))).toEqual({ frames: want, code: undefined });
        expect(decodeAll(Array.from(stream, (byte) => Uint8Array.of(byte)))).toEqual({ frames: want, code: undefined });
      }),
      { numRuns: 500 },
    );
  });

  test("mutated streams (flips, truncations, splices): the frames before the damage are intact, the rest a typed error or frames, the same however chunked", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }) }),
      fc.record({ kind: fc.constant("splice" as const), at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), other: frames, from: fc.double({ min: 0, max: 1, noNaN: true }) }),
    );
    fc.assert(
      fc.property(frames, mutation, cuts, cuts, (list, m, a, b) => {
        const encoded = list.map(([type, body]) => frame(type, body));
        const stream = concat(encoded);
        const at = Math.floor(m.at * stream.length);
        let damaged: Uint8Array;
        if (m.kind === "flip") {
          damaged = stream.slice();
          if (damaged.length > 0) damaged[at] = (damaged[at] as number) ^ m.xor;
        } else if (m.kind === "truncate") damaged = stream.slice(0, at);
        else {
          const other = concat(m.other.map(([type, body]) => frame(type, body)));
          damaged = concat([stream.subarray(0, at), other.subarray(Math.floor(m.from * other.length))]);
        }
        const result = decodeAll(splitAt(damaged, cutAt(damaged.length, a)));
        expect(decodeAll(splitAt(damaged, cutAt(damaged.length, b)))).toEqual(result);
        // Every frame that ends before the first damaged byte comes out as it was sent.
        let end = 0;
        const intact: number[][] = [];
        for (const [i, bytes] of encoded.entries()) {
          end += bytes.length;
          if (end > at) break;
          const [type, body] = list[i] as [number, Uint8Array];
          intact.push([type, ...body]);
        }
        expect(result.frames.slice(0, intact.length)).toEqual(intact);
      }),
      { numRuns: 8000 },
    );
  });

  test("a header above the limit fails from its 4 bytes, before any body arrives", () => {
    fc.assert(
      fc.property(fc.integer({ min: LIMIT + 1, max: 0xffff_ffff }), fc.nat({ max: 3 }), (length, split) => {
        const header = Uint8Array.of(length >>> 24, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff);
        expect(decodeAll(splitAt(header, [split]))).toEqual({ frames: [], code: "FW_FRAME_TOO_LARGE" });
      }),
      { numRuns: 500 },
    );
  });
});

// ─────────────── the handshake parsers ───────────────

const PROTOCOL = ["FW_PROTOCOL_ERROR"];
const tagsArb = fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 12 }), { maxKeys: 5 });
const helloArb: fc.Arbitrary<Hello> = fc.record(
  {
    minVersion: fc.integer({ min: 0, max: 255 }),
    maxVersion: fc.integer({ min: 0, max: 255 }),
    app: fc.string({ maxLength: 20 }),
    tags: tagsArb,
    maxFrameSize: fc.integer({ min: 64, max: 2 ** 32 }),
  },
  { requiredKeys: ["minVersion", "maxVersion"] },
);

/** Mutations of a valid body: a flipped byte, a cut, or random bytes spliced in. */
function mutate(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  return fc.tuple(valid, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 2 }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([bytes, f, kind, noise]) => {
    const at = Math.floor(f * bytes.length);
    if (kind === 0) {
      const out = bytes.slice();
      if (out.length > 0) out[at] = (out[at] as number) ^ (noise[0] as number || 1);
      return out;
    }
    if (kind === 1) return bytes.slice(0, at);
    return concat([bytes.subarray(0, at), noise, bytes.subarray(at)]);
  });
}

/** A JSON body for a HELLO or WELCOME from arbitrary JSON values, often with the right member names. */
const jsonFieldsArb = fc
  .dictionary(fc.constantFrom("app", "tags", "maxFrameSize", "resume", "session", "heartbeatMs", "code", "reason", "token", "received", "x"), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
  .map((o) => new TextEncoder().encode(JSON.stringify(o)));

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

describe("fuzz: the handshake parsers", () => {
  test("HELLO: valid ones round trip; random, mutated and odd-JSON bodies give a HELLO of the right shape or FW_PROTOCOL_ERROR", () => {
    fc.assert(
      fc.property(helloArb, (hello) => {
        expect(decodeHello(encodeHello(hello))).toEqual(hello);
      }),
      { numRuns: 500 },
    );
    const hellos = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      mutate(helloArb.map(encodeHello)),
      jsonFieldsArb.map((json) => concat([Uint8Array.of(0x46, 0x57, 1, 1), json])),
    );
    fc.assert(
      fc.property(hellos, (body) => {
        const { value } = typedOutcome(() => decodeHello(body), PROTOCOL);
        if (value === undefined) return;
        expect(body[0] === 0x46 && body[1] === 0x57).toBe(true);
        if (value.app !== undefined) expect(typeof value.app).toBe("string");
        for (const v of Object.values(value.tags ?? {})) expect(typeof v).toBe("string");
        if (value.maxFrameSize !== undefined) expect(Number.isSafeInteger(value.maxFrameSize) && value.maxFrameSize >= 64).toBe(true);
      }),
      { numRuns: 6000 },
    );
  });

  test("WELCOME: valid ones round trip; random and mutated bodies give a WELCOME of the right shape or FW_PROTOCOL_ERROR", () => {
    const welcomeArb = fc.record({
      version: fc.integer({ min: 0, max: 255 }),
      session: fc.string({ maxLength: 24 }),
      tags: tagsArb,
      maxFrameSize: fc.integer({ min: 64, max: 2 ** 32 }),
      heartbeatMs: fc.integer({ min: 0, max: 2_147_483_647 }),
    });
    fc.assert(
      fc.property(welcomeArb, (welcome) => expect(decodeWelcome(encodeWelcome(welcome))).toEqual(welcome)),
      { numRuns: 500 },
    );
    const bodies = fc.oneof(fc.uint8Array({ maxLength: 80 }), mutate(welcomeArb.map(encodeWelcome)), jsonFieldsArb.map((json) => concat([Uint8Array.of(1), json])));
    fc.assert(
      fc.property(bodies, (body) => {
        const { value } = typedOutcome(() => decodeWelcome(body), PROTOCOL);
        if (value === undefined) return;
        expect(typeof value.session).toBe("string");
        expect(Number.isSafeInteger(value.heartbeatMs) && value.heartbeatMs >= 0 && value.heartbeatMs <= 2_147_483_647).toBe(true);
        expect(Number.isSafeInteger(value.maxFrameSize) && value.maxFrameSize >= 64).toBe(true);
      }),
      { numRuns: 6000 },
    );
  });

  test("REJECT / GOAWAY: a well-formed code and a reason cut and cleaned, or FW_PROTOCOL_ERROR", () => {
    const reasonArb = fc.record({ code: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,63}$/), reason: fc.string({ maxLength: 300, unit: "binary" }) });
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      mutate(reasonArb.map((r) => encodeReason(r as Reason))),
      jsonFieldsArb,
      fc.record({ code: fc.string({ maxLength: 70, unit: "binary" }), reason: fc.string({ maxLength: 400, unit: "binary" }) }).map((o) => new TextEncoder().encode(JSON.stringify(o))),
    );
    fc.assert(
      fc.property(bodies, (body) => {
        const { value } = typedOutcome(() => decodeReason(body, "GOAWAY"), PROTOCOL);
        if (value === undefined) return;
        expect(value.code).toMatch(/^[A-Z][A-Z0-9_]{0,63}$/);
        expect(CONTROL_CHARS.test(value.reason)).toBe(false);
        expect(new TextEncoder().encode(value.reason).length).toBeLessThanOrEqual(256 * 3);
      }),
      { numRuns: 6000 },
    );
  });

  test("ACK: exactly 8 bytes below 2^53 round trip; anything else is FW_PROTOCOL_ERROR", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.maxSafeNat().map(encodeAck)), (body) => {
        const { value } = typedOutcome(() => decodeAck(body), PROTOCOL);
        if (value === undefined) return;
        expect(body.length).toBe(8);
        expect(encodeAck(value)).toEqual(body);
      }),
      { numRuns: 2000 },
    );
  });
});

// ─────────────── the codecs' decoders and their limits ───────────────

const CODEC = ["FW_CODEC_ERROR"];

/** Depth and items of a JSON value as the limits count them: `[[1]]` has depth 2, items = elements + members. */
function measure(value: unknown): { depth: number; items: number } {
  if (typeof value !== "object" || value === null) return { depth: 0, items: 0 };
  const children = Array.isArray(value) ? value : Object.values(value);
  let depth = 0;
  let items = children.length;
  for (const child of children) {
    const m = measure(child);
    depth = Math.max(depth, m.depth);
    items += m.items;
  }
  return { depth: depth + 1, items };
}

/** JSON values nested up to 12 deep (fc.jsonValue's own depth bias stays shallow). */
const deepJson = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.integer(), fc.string({ maxLength: 4 }), fc.array(tie("value"), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 3 }), tie("value"), { maxKeys: 3 })),
})).value;

describe("fuzz: the codecs' decoders", () => {
  test("text: accepts exactly valid UTF-8 (as a fatal TextDecoder does), anything else is FW_CODEC_ERROR; isValidUtf8 agrees", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    const utf8ish = fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0xc0, 0xc2, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0x80, 0x9f, 0xa0, 0xbf)), { maxLength: 24 }).map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.oneof(utf8ish, fc.string({ unit: "binary", maxLength: 30 }).map((s) => new TextEncoder().encode(s))), (bytes) => {
        let valid = true;
        try {
          fatal.decode(bytes);
        } catch {
          valid = false;
        }
        expect(isValidUtf8(bytes, 0, bytes.length)).toBe(valid);
        const { code } = typedOutcome(() => textCodec.decode(bytes), CODEC);
        expect(code === undefined).toBe(valid);
      }),
      { numRuns: 20_000 },
    );
  });

  test("json: random and mutated payloads give a value or FW_CODEC_ERROR; valid JSON is accepted exactly when within maxDepth and maxItems", () => {
    const codec = jsonCodec();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), mutate(fc.jsonValue({ maxDepth: 4 }).map((v) => codec.encode(v)))), (bytes) => {
        typedOutcome(() => codec.decode(bytes), CODEC);
      }),
      { numRuns: 6000 },
    );
    fc.assert(
      fc.property(deepJson, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 30 }), (value, maxDepth, maxItems) => {
        const limited = jsonCodec({ maxDepth, maxItems });
        const { depth, items } = measure(value);
        const { value: back, code } = typedOutcome(() => limited.decode(limited.encode(value)), CODEC);
        expect(code === undefined).toBe(depth <= maxDepth && items <= maxItems);
        if (code === undefined) expect(back).toEqual(value);
      }),
      { numRuns: 6000 },
    );
  });

  test("cbor: random and mutated payloads give a value or FW_CODEC_ERROR; valid CBOR is accepted exactly when within maxDepth and maxItems", () => {
    const codec = cborCodec();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 60 }), mutate(fc.jsonValue({ maxDepth: 4 }).map((v) => codec.encode(v)))), (bytes) => {
        const { value, code } = typedOutcome(() => codec.decode(bytes), CODEC);
        if (code === undefined) expect(value).not.toBeInstanceOf(Error);
      }),
      { numRuns: 6000 },
    );
    fc.assert(
      fc.property(deepJson, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 30 }), (value, maxDepth, maxItems) => {
        const limited = cborCodec({ maxDepth, maxItems });
        const { depth, items } = measure(value);
        const { value: back, code } = typedOutcome(() => limited.decode(limited.encode(value)), CODEC);
        expect(code === undefined).toBe(depth <= maxDepth && items <= maxItems);
        if (code === undefined) expect(back).toEqual(value);
      }),
      { numRuns: 6000 },
    );
  });

  test("cbor: a text string is accepted exactly when its bytes are valid UTF-8; in chunks (indefinite length, which cbor-x cannot decode) it is FW_CODEC_ERROR", () => {
    const codec = cborCodec();
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { minLength: 1, maxLength: 3 }), fc.boolean(), (pieces, chunked) => {
        const head = (n: number): number[] => (n < 24 ? [0x60 | n] : [0x78, n]);
        const bytes = chunked
          ? Uint8Array.from([0x7f, ...pieces.flatMap((p) => [...head(p.length), ...p]), 0xff])
          : Uint8Array.from([...head((pieces[0] as Uint8Array).length), ...(pieces[0] as Uint8Array)]);
        const used = chunked ? pieces : [pieces[0] as Uint8Array];
        let valid = true;
        for (const p of used) {
          try {
            fatal.decode(p);
          } catch {
            valid = false;
          }
        }
        const { value, code } = typedOutcome(() => codec.decode(bytes), CODEC);
        expect(code === undefined).toBe(valid && !chunked);
        if (code === undefined) expect(value).toBe(fatal.decode(pieces[0] as Uint8Array));
      }),
      { numRuns: 6000 },
    );
  });
});

test("the typed errors are what they claim: ProtocolError and CodecError carry their codes", () => {
  expect(new ProtocolError("x").code).toBe("FW_PROTOCOL_ERROR");
  expect(new CodecError("x").code).toBe("FW_CODEC_ERROR");
});
