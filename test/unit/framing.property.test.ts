import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  DelimiterFramer,
  type Framer,
  LengthPrefixedFramer,
  type LengthPrefixedOptions,
} from "../../src/framing/index.ts";
import { arr, concat, recorder, splitAt, utf8 } from "./helpers.ts";

const NUM_RUNS = 200;

interface Config {
  name: string;
  framer: Framer;
  payload: fc.Arbitrary<Uint8Array>;
}

const LP_OPTIONS: { name: string; options: LengthPrefixedOptions; maxPayload: number }[] = [
  { name: "1-byte big", options: { headerBytes: 1, endian: "big" }, maxPayload: 255 },
  { name: "1-byte little", options: { headerBytes: 1, endian: "little" }, maxPayload: 255 },
  { name: "2-byte big", options: { headerBytes: 2, endian: "big" }, maxPayload: 300 },
  { name: "2-byte little", options: { headerBytes: 2, endian: "little" }, maxPayload: 300 },
  { name: "4-byte big", options: { headerBytes: 4, endian: "big" }, maxPayload: 300 },
  { name: "4-byte little", options: { headerBytes: 4, endian: "little" }, maxPayload: 300 },
  // Up to 300 bytes: one- and two-byte varint headers.
  { name: "varint", options: { headerBytes: "varint" }, maxPayload: 300 },
];

/** Bytes over a small alphabet rich in delimiter bytes, with every occurrence of the delimiter removed. */
function withoutDelimiter(delimiter: Uint8Array): fc.Arbitrary<Uint8Array> {
  const alphabet = [...new Set([...delimiter, 0x00, 0x61, 0xff, 0xc3])];
  return fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }).map((bytes) => {
    const out = [...bytes];
    for (;;) {
      const at = indexOf(out, delimiter);
      if (at < 0) break;
      out.splice(at + delimiter.length - 1, 1);
    }
    return Uint8Array.from(out);
  });
}

function indexOf(haystack: readonly number[], needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const CONFIGS: Config[] = [
  ...LP_OPTIONS.map(({ name, options, maxPayload }) => ({
    name: `length-prefixed ${name}`,
    framer: new LengthPrefixedFramer(options),
    // Biased towards small payloads, with the occasional long one.
    payload: fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 3 },
      { arbitrary: fc.uint8Array({ maxLength: maxPayload }), weight: 1 },
    ),
  })),
  // Delimiters without a border (no proper prefix equal to a suffix): for those, "the payload does
  // not contain the delimiter" is exactly the condition for an unambiguous frame.
  ...["\n", "\r\n", "||>"].map((d) => ({
    name: `delimiter ${JSON.stringify(d)}`,
    framer: new DelimiterFramer({ delimiter: d }),
    payload: withoutDelimiter(utf8(d)),
  })),
];

/** Payloads plus cut points (as fractions of the encoded stream, so they do not depend on its size). */
function scenario(config: Config) {
  return fc.record({
    payloads: fc.array(config.payload, { maxLength: 20 }),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 25 }),
  });
}

function cutPoints(length: number, fractions: readonly number[]): number[] {
  return fractions.map((f) => Math.floor(f * length));
}

describe("framing properties: random payloads x random chunking decode exactly", () => {
  for (const config of CONFIGS) {
    test(config.name, () => {
      fc.assert(
        fc.property(scenario(config), ({ payloads, cuts }) => {
          const stream = concat(payloads.map((p) => config.framer.encode(p)));
          const chunks = splitAt(stream, cutPoints(stream.length, cuts));
          const decoder = config.framer.createDecoder();
          const rec = recorder();
          for (const chunk of chunks) decoder.push(chunk, rec.sink);
          expect(rec.frames()).toEqual(payloads.map(arr));
          // Every delivered view still holds its frame once everything is decoded.
          expect(rec.framesNow()).toEqual(payloads.map(arr));
          expect(decoder.bufferedBytes).toBe(0);
          expect(decoder.stopped).toBe(false);
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

describe("framing properties: stop() at random frames, then resume(), still yields the exact list", () => {
  for (const config of CONFIGS) {
    test(config.name, () => {
      fc.assert(
        fc.property(
          scenario(config),
          fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }),
          fc.array(fc.boolean(), { minLength: 26, maxLength: 26 }),
          ({ payloads, cuts }, stopAt, resumeBeforePush) => {
            const stream = concat(payloads.map((p) => config.framer.encode(p)));
            const chunks = splitAt(stream, cutPoints(stream.length, cuts));
            const decoder = config.framer.createDecoder();
            let halted = false;
            const rec = recorder((_call, index) => {
              // Nothing may be delivered after stop() within the same push/resume call.
              expect(halted).toBe(false);
              if (stopAt[index] === true) {
                decoder.stop();
                halted = true;
              }
            });
            chunks.forEach((chunk, i) => {
              // Sometimes keep pushing while stopped (the chunk must queue behind the rest),
              // sometimes resume first.
              if (decoder.stopped && resumeBeforePush[i] === true) {
                decoder.resume(rec.sink);
                halted = false;
              }
              decoder.push(chunk, rec.sink);
              halted = false;
            });
            let guard = 0;
            while (decoder.stopped) {
              decoder.resume(rec.sink);
              halted = false;
              if (++guard > payloads.length + 1) throw new Error("resume() made no progress");
            }
            expect(rec.frames()).toEqual(payloads.map(arr));
            expect(rec.framesNow()).toEqual(payloads.map(arr));
            expect(decoder.bufferedBytes).toBe(0);
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

describe("framing properties: encodeInto into one batch equals concatenated encode()", () => {
  for (const config of CONFIGS) {
    test(config.name, () => {
      fc.assert(
        fc.property(fc.array(config.payload, { maxLength: 10 }), fc.nat({ max: 7 }), (payloads, offset) => {
          const sizes = payloads.map((p) => config.framer.encodedLength(p.length));
          const batch = new Uint8Array(offset + sizes.reduce((a, b) => a + b, 0)).fill(0xee);
          let at = offset;
          payloads.forEach((p, i) => {
            const end = config.framer.encodeInto(batch, at, p, -1);
            expect(end - at).toBe(sizes[i] as number);
            at = end;
          });
          expect(arr(batch.subarray(0, offset))).toEqual(Array(offset).fill(0xee));
          expect(arr(batch.subarray(offset))).toEqual(arr(concat(payloads.map((p) => config.framer.encode(p)))));
        }),
        { numRuns: NUM_RUNS },
      );
    });
  }
});

describe("framing properties: a type prefix becomes the first body byte (length-prefixed)", () => {
  for (const { name, options, maxPayload } of LP_OPTIONS) {
    test(name, () => {
      const framer = new LengthPrefixedFramer(options);
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.uint8Array({ maxLength: Math.min(maxPayload - 1, 40) }), fc.integer({ min: 0, max: 255 })), {
            maxLength: 10,
          }),
          fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }),
          (frames, cuts) => {
            const parts = frames.map(([payload, prefix]) => {
              const out = new Uint8Array(framer.encodedLength(payload.length + 1));
              expect(framer.encodeInto(out, 0, payload, prefix)).toBe(out.length);
              return out;
            });
            const stream = concat(parts);
            const decoded: number[][] = [];
            const decoder = framer.createDecoder();
            for (const chunk of splitAt(stream, cutPoints(stream.length, cuts))) {
              decoder.push(chunk, (b, s, e) => decoded.push(Array.from(b.subarray(s, e))));
            }
            expect(decoded).toEqual(frames.map(([payload, prefix]) => [prefix, ...payload]));
          },
        ),
        { numRuns: NUM_RUNS },
      );
    });
  }
});
