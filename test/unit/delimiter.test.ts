import { describe, expect, test } from "bun:test";
import { CodecError, FrameTooLargeError, InvalidOptionError } from "../../src/errors.ts";
import { createFramer, DelimiterFramer, type DelimiterOptions } from "../../src/framing/index.ts";
import {
  arr,
  concat,
  decodeChunks,
  decodeUntilError,
  expectError,
  expectThrows,
  innerBoundaries,
  recorder,
  splitAt,
  u8,
  utf8,
} from "./helpers.ts";

function encodeAll(framer: DelimiterFramer, lines: readonly Uint8Array[]): Uint8Array {
  return concat(lines.map((l) => framer.encode(l)));
}

/** Lines that end in, start with or contain parts of the delimiter without containing it. */
const MULTI: { name: string; options: DelimiterOptions; lines: Uint8Array[] }[] = [
  {
    name: "\\r\\n",
    options: { delimiter: "\r\n" },
    lines: [utf8(""), utf8("a"), utf8("hello\r"), utf8("\nworld"), utf8(""), utf8("\r\r"), utf8("x\n\r"), utf8("")],
  },
  {
    name: "3-byte ||>",
    options: { delimiter: "||>" },
    lines: [utf8(""), utf8("a|"), utf8("||"), utf8("|>x"), utf8(">"), utf8("b||"), utf8("|"), utf8("")],
  },
  {
    name: "3-byte binary fe ff 00 as Uint8Array",
    options: { delimiter: u8(0xfe, 0xff, 0x00) },
    lines: [u8(), u8(0xfe), u8(0xfe, 0xff), u8(0xff, 0x00, 0xfe), u8(0x00), u8(0xfe, 0xfe, 0xff), u8()],
  },
];

describe("DelimiterFramer construction and encoding", () => {
  test("defaults: newline delimiter, 65536 max line length", () => {
    const f = new DelimiterFramer();
    expect(f.kind).toBe("delimiter");
    expect(arr(f.delimiter)).toEqual([0x0a]);
    expect(f.maxLineLength).toBe(65536);
    expect(arr(f.encode(utf8("abc")))).toEqual([0x61, 0x62, 0x63, 0x0a]);
    expect(arr(f.encode(u8()))).toEqual([0x0a]);
    expect(f.encodedLength(3)).toBe(4);
  });

  test("multi-byte delimiters encode exactly; string delimiters are UTF-8", () => {
    const crlf = new DelimiterFramer({ delimiter: "\r\n" });
    expect(arr(crlf.encode(utf8("ab")))).toEqual([0x61, 0x62, 0x0d, 0x0a]);
    expect(crlf.encodedLength(2)).toBe(4);
    const three = new DelimiterFramer({ delimiter: "||>" });
    expect(arr(three.encode(utf8("a")))).toEqual([0x61, 0x7c, 0x7c, 0x3e]);
    const euro = new DelimiterFramer({ delimiter: "€" });
    expect(arr(euro.delimiter)).toEqual([0xe2, 0x82, 0xac]);
    expect(arr(euro.encode(u8(1)))).toEqual([1, 0xe2, 0x82, 0xac]);
  });

  test("encodeInto writes at the offset and returns the end", () => {
    const f = new DelimiterFramer({ delimiter: "\r\n" });
    const target = new Uint8Array(8).fill(0xee);
    const end = f.encodeInto(target, 1, utf8("hi"), -1);
    expect(end).toBe(5);
    expect(arr(target)).toEqual([0xee, 0x68, 0x69, 0x0d, 0x0a, 0xee, 0xee, 0xee]);
  });

  test("a type prefix is refused with InvalidOptionError", () => {
    const f = new DelimiterFramer();
    expectThrows(() => f.encodeInto(new Uint8Array(8), 0, utf8("a"), 1), InvalidOptionError, "FW_INVALID_OPTION");
  });

  test("an empty delimiter is rejected at construction (FW_INVALID_OPTION)", () => {
    expectThrows(() => new DelimiterFramer({ delimiter: "" }), InvalidOptionError, "FW_INVALID_OPTION");
    expectThrows(() => new DelimiterFramer({ delimiter: new Uint8Array(0) }), InvalidOptionError, "FW_INVALID_OPTION");
    expectThrows(() => createFramer({ type: "delimiter", delimiter: "" }), InvalidOptionError, "FW_INVALID_OPTION");
  });

  test("an invalid maxLineLength is rejected at construction (FW_INVALID_OPTION)", () => {
    for (const maxLineLength of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectThrows(() => new DelimiterFramer({ maxLineLength }), InvalidOptionError, "FW_INVALID_OPTION");
    }
  });

  test("a Uint8Array delimiter is copied: mutating the caller's array changes nothing", () => {
    const mine = u8(0x0d, 0x0a);
    const f = new DelimiterFramer({ delimiter: mine });
    mine[0] = 0x21;
    expect(arr(f.delimiter)).toEqual([0x0d, 0x0a]);
    expect(decodeChunks(f, [utf8("a!\nb\r\n")])).toEqual([arr(utf8("a!\nb"))]);
  });

  test("encoding a payload containing the delimiter throws CodecError (FW_CODEC_ERROR)", () => {
    const nl = new DelimiterFramer();
    for (const bad of ["\n", "a\nb", "\nab", "ab\n"]) {
      expectThrows(() => nl.encode(utf8(bad)), CodecError, "FW_CODEC_ERROR");
      expectThrows(() => nl.checkPayload(utf8(bad)), CodecError, "FW_CODEC_ERROR");
    }
    const crlf = new DelimiterFramer({ delimiter: "\r\n" });
    expectThrows(() => crlf.encode(utf8("a\r\nb")), CodecError, "FW_CODEC_ERROR");
    // Halves of the delimiter alone are fine.
    expect(arr(crlf.encode(utf8("a\rb\n")))).toEqual([0x61, 0x0d, 0x62, 0x0a, 0x0d, 0x0a]);
    const three = new DelimiterFramer({ delimiter: "||>" });
    expectThrows(() => three.encode(utf8("x||>y")), CodecError, "FW_CODEC_ERROR");
    expectThrows(() => three.encode(utf8("||>")), CodecError, "FW_CODEC_ERROR");
    expect(three.encode(utf8("x||y|>")).length).toBe(9);
  });

  // Regression, fixed (src/framing/delimiter.ts:51): encodeInto only checks that the delimiter is not inside the
  // payload. For a delimiter with a border (a proper prefix that is also a suffix, e.g. "\r\n\r\n"
  // or "\n\n"), a payload that ends with part of the delimiter still creates an earlier delimiter
  // match across the payload/delimiter boundary: encode("abc\r\n") with delimiter "\r\n\r\n" gives
  // "abc\r\n\r\n\r\n", which decodes as the line "abc" and leaves "\r\n" at the start of the next
  // line. Expected: CodecError (FW_CODEC_ERROR), or a frame that decodes back to the payload.
  test("a payload that forms the delimiter together with it is refused or round-trips", () => {
    for (const [delimiter, payload] of [
      ["\r\n\r\n", "abc\r\n"],
      ["\n\n", "x\n"],
    ] as const) {
      const f = new DelimiterFramer({ delimiter });
      let encoded: Uint8Array | undefined;
      let error: unknown;
      try {
        encoded = f.encode(utf8(payload));
      } catch (e) {
        error = e;
      }
      if (encoded === undefined) {
        expectError(error, CodecError, "FW_CODEC_ERROR");
      } else {
        expect(decodeChunks(f, [encoded, f.encode(utf8("next"))])).toEqual([arr(utf8(payload)), arr(utf8("next"))]);
      }
    }
  });
});

describe("DelimiterFramer decoding", () => {
  test("default newline: several lines in one chunk are views of that chunk", () => {
    const f = new DelimiterFramer();
    const chunk = utf8("one\ntwo\n\nthree\n");
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(chunk, rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("one")), arr(utf8("two")), [], arr(utf8("three"))]);
    expect(rec.calls.map((c) => [c.bytes === chunk, c.start, c.end])).toEqual([
      [true, 0, 3],
      [true, 4, 7],
      [true, 8, 8],
      [true, 9, 14],
    ]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("a trailing partial line is held until its delimiter arrives; only it is a copy", () => {
    const f = new DelimiterFramer();
    const c1 = utf8("ab\ncd");
    const c2 = utf8("ef\ngh\n");
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(c1, rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("ab"))]);
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(c2, rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("ab")), arr(utf8("cdef")), arr(utf8("gh"))]);
    expect(rec.calls[0]?.bytes).toBe(c1);
    expect(rec.calls[1]?.bytes).not.toBe(c1);
    expect(rec.calls[1]?.bytes).not.toBe(c2);
    expect(rec.calls[2]?.bytes).toBe(c2);
    expect([rec.calls[2]?.start, rec.calls[2]?.end]).toEqual([3, 5]);
    c1.fill(0);
    c2.fill(0);
    const straddling = rec.calls[1]!;
    expect(arr(straddling.bytes.subarray(straddling.start, straddling.end))).toEqual(arr(utf8("cdef")));
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("newline: a split at every byte boundary decodes identically", () => {
    const f = new DelimiterFramer();
    const lines = [utf8(""), utf8("a"), utf8("hello world"), utf8(""), utf8(""), utf8("é😀"), utf8("z")];
    const stream = encodeAll(f, lines);
    const expected = lines.map(arr);
    for (const cut of innerBoundaries(stream.length)) {
      expect({ cut, frames: decodeChunks(f, splitAt(stream, [cut])) }).toEqual({ cut, frames: expected });
    }
    expect(decodeChunks(f, splitAt(stream, innerBoundaries(stream.length)))).toEqual(expected);
  });

  for (const { name, options, lines } of MULTI) {
    test(`${name}: a split at every byte boundary (and every pair), including inside the delimiter`, () => {
      const f = new DelimiterFramer(options);
      const stream = encodeAll(f, lines);
      const expected = lines.map(arr);
      expect(decodeChunks(f, [stream])).toEqual(expected);
      for (const cut of innerBoundaries(stream.length)) {
        expect({ cut, frames: decodeChunks(f, splitAt(stream, [cut])) }).toEqual({ cut, frames: expected });
      }
      for (let i = 0; i <= stream.length; i++) {
        for (let j = i; j <= stream.length; j++) {
          const got = decodeChunks(f, splitAt(stream, [i, j]));
          if (JSON.stringify(got) !== JSON.stringify(expected)) expect({ i, j, got }).toEqual({ i, j, got: expected });
        }
      }
      expect(decodeChunks(f, splitAt(stream, innerBoundaries(stream.length)))).toEqual(expected);
    });
  }

  test("\\r\\n: a lone \\r or \\n is part of the line, not a delimiter", () => {
    const f = new DelimiterFramer({ delimiter: "\r\n" });
    expect(decodeChunks(f, [utf8("a\rb\nc\r\n\n\r\r\n")])).toEqual([arr(utf8("a\rb\nc")), arr(utf8("\n\r"))]);
    // The delimiter split as "\r" | "\n" across chunks, with the line itself ending in "\r".
    expect(decodeChunks(f, [utf8("x\r\r"), utf8("\n")])).toEqual([arr(utf8("x\r"))]);
  });

  test("a 3-byte delimiter split 1+1+1 across three chunks", () => {
    const f = new DelimiterFramer({ delimiter: "||>" });
    expect(decodeChunks(f, [utf8("ab|"), utf8("|"), utf8(">cd||>")])).toEqual([arr(utf8("ab")), arr(utf8("cd"))]);
    expect(decodeChunks(f, [utf8("ab"), utf8("|"), utf8("|"), utf8(">")])).toEqual([arr(utf8("ab"))]);
    expect(decodeChunks(f, [utf8("|"), utf8("|"), utf8("|"), utf8(">")])).toEqual([arr(utf8("|"))]);
  });

  test("a line with invalid UTF-8 followed by a valid line: both delivered byte-exact", () => {
    const f = new DelimiterFramer();
    // 0xe2 0x82 is a truncated 3-byte sequence right before the newline, 0xc0 0x8a is an overlong
    // encoding of "\n" (not a delimiter), 0xff is never valid.
    const bad = u8(0xff, 0xfe, 0xc0, 0x8a, 0x41, 0xe2, 0x82);
    const good = utf8("ok ✓");
    const stream = concat([bad, u8(0x0a), good, u8(0x0a)]);
    const expected = [arr(bad), arr(good)];
    expect(decodeChunks(f, [stream])).toEqual(expected);
    for (const cut of innerBoundaries(stream.length)) {
      expect({ cut, frames: decodeChunks(f, splitAt(stream, [cut])) }).toEqual({ cut, frames: expected });
    }
    const crlf = new DelimiterFramer({ delimiter: "\r\n" });
    const stream2 = concat([bad, u8(0x0d, 0x0a), good, u8(0x0d, 0x0a)]);
    for (const cut of innerBoundaries(stream2.length)) {
      expect({ cut, frames: decodeChunks(crlf, splitAt(stream2, [cut])) }).toEqual({ cut, frames: expected });
    }
  });

  test("empty chunks are a no-op", () => {
    const f = new DelimiterFramer({ delimiter: "\r\n" });
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(u8(), rec.sink);
    expect(rec.calls.length).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(utf8("ab\r"), rec.sink);
    decoder.push(u8(), rec.sink);
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(utf8("\n"), rec.sink);
    decoder.push(u8(), rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("ab"))]);
    expect(decoder.bufferedBytes).toBe(0);
  });
});

describe("DelimiterFramer maxLineLength", () => {
  test("encode: exactly max is ok, max+1 is FW_LINE_TOO_LONG", () => {
    const f = new DelimiterFramer({ maxLineLength: 8 });
    expect(f.encode(utf8("12345678")).length).toBe(9);
    const e = expectThrows(() => f.encode(utf8("123456789")), FrameTooLargeError, "FW_LINE_TOO_LONG");
    expect(e.size).toBe(9);
    expect(e.limit).toBe(8);
    expectThrows(() => f.encodedLength(9), FrameTooLargeError, "FW_LINE_TOO_LONG");
  });

  for (const delimiter of ["\n", "\r\n", "||>"]) {
    const dl = utf8(delimiter).length;
    test(`${JSON.stringify(delimiter)}: a line of exactly max decodes at any split, max+1 is FW_LINE_TOO_LONG`, () => {
      const f = new DelimiterFramer({ delimiter, maxLineLength: 8 });
      const okStream = concat([utf8("12345678"), utf8(delimiter), utf8("x"), utf8(delimiter)]);
      for (const cut of [0, ...innerBoundaries(okStream.length)]) {
        expect(decodeChunks(f, splitAt(okStream, [cut]))).toEqual([arr(utf8("12345678")), [0x78]]);
      }
      const badStream = concat([utf8("ab"), utf8(delimiter), utf8("123456789"), utf8(delimiter)]);
      for (const cut of [0, ...innerBoundaries(badStream.length)]) {
        const r = decodeUntilError(f.createDecoder(), splitAt(badStream, [cut]));
        const e = expectError(r.error, FrameTooLargeError, "FW_LINE_TOO_LONG");
        expect(e.limit).toBe(8);
        expect(r.frames).toEqual([arr(utf8("ab"))]);
      }
    });

    test(`${JSON.stringify(delimiter)}: an over-long line with no delimiter is cut off across chunks`, () => {
      const f = new DelimiterFramer({ delimiter, maxLineLength: 8 });
      const decoder = f.createDecoder();
      const rec = recorder();
      let pushed = 0;
      let error: unknown;
      for (let i = 0; i < 100 && error === undefined; i++) {
        try {
          decoder.push(utf8("abc"), rec.sink);
          pushed += 3;
        } catch (e) {
          error = e;
        }
      }
      expectError(error, FrameTooLargeError, "FW_LINE_TOO_LONG");
      // No later than once max + (delimiter length - 1) bytes are exceeded; never before max is.
      expect(pushed).toBeGreaterThanOrEqual(6);
      expect(pushed + 3).toBeLessThanOrEqual(8 + dl - 1 + 3);
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(8 + dl - 1);
      expect(rec.calls.length).toBe(0);
      // And it stays failed.
      let again: unknown;
      try {
        decoder.push(utf8(delimiter), rec.sink);
      } catch (e) {
        again = e;
      }
      expect(again).toBe(error);
      expect(rec.calls.length).toBe(0);
    });
  }

  test("an over-long line inside a single chunk without a delimiter fails at once", () => {
    const f = new DelimiterFramer({ maxLineLength: 8 });
    const r = decodeUntilError(f.createDecoder(), [utf8("ok\n123456789")]);
    expectError(r.error, FrameTooLargeError, "FW_LINE_TOO_LONG");
    expect(r.frames).toEqual([arr(utf8("ok"))]);
  });

  test("maxLineLength 0 accepts only empty lines", () => {
    const f = new DelimiterFramer({ maxLineLength: 0 });
    expect(arr(f.encode(u8()))).toEqual([0x0a]);
    expectThrows(() => f.encode(u8(1)), FrameTooLargeError, "FW_LINE_TOO_LONG");
    expect(decodeChunks(f, [utf8("\n\n"), utf8("\n")])).toEqual([[], [], []]);
    expectError(decodeUntilError(f.createDecoder(), [utf8("\na\n")]).error, FrameTooLargeError, "FW_LINE_TOO_LONG");
  });
});

describe("DelimiterFramer stop() and resume()", () => {
  test("stop() holds the rest, later chunks queue behind it, resume() delivers in order", () => {
    const f = new DelimiterFramer({ delimiter: "\r\n" });
    const decoder = f.createDecoder();
    const stops = new Set([0, 2]);
    const rec = recorder((_c, i) => {
      if (stops.has(i)) decoder.stop();
    });
    decoder.push(utf8("a\r\nb\r\nc\r\nd"), rec.sink);
    expect(rec.frames()).toEqual([[0x61]]);
    expect(decoder.stopped).toBe(true);
    expect(decoder.bufferedBytes).toBe(7);
    decoder.push(utf8("\r\ne\r"), rec.sink);
    expect(rec.calls.length).toBe(1);
    expect(decoder.bufferedBytes).toBe(11);
    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual([[0x61], [0x62], [0x63]]);
    expect(decoder.stopped).toBe(true);
    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual([[0x61], [0x62], [0x63], [0x64]]);
    expect(decoder.stopped).toBe(false);
    expect(decoder.bufferedBytes).toBe(2); // "e\r" waits for its "\n"
    decoder.push(utf8("\n"), rec.sink);
    expect(rec.frames()).toEqual([[0x61], [0x62], [0x63], [0x64], [0x65]]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("stop() in the sink of a line assembled across chunks", () => {
    const f = new DelimiterFramer();
    const decoder = f.createDecoder();
    const rec = recorder((_c, i) => {
      if (i === 0) decoder.stop();
    });
    decoder.push(utf8("hel"), rec.sink);
    decoder.push(utf8("lo\nworld\n"), rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("hello"))]);
    expect(decoder.stopped).toBe(true);
    expect(decoder.bufferedBytes).toBe(6);
    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("hello")), arr(utf8("world"))]);
    expect(decoder.stopped).toBe(false);
  });
});
