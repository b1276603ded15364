import { describe, expect, test } from "bun:test";
import {
  FrameTooLargeError,
  FramewireError,
  InvalidOptionError,
  MalformedFrameError,
} from "../../src/errors.ts";
import {
  createFramer,
  DelimiterFramer,
  LengthPrefixedFramer,
  type LengthPrefixedOptions,
  PassthroughFramer,
} from "../../src/framing/index.ts";
import { PartialFrame } from "../../src/framing/partial-frame.ts";
import {
  arr,
  concat,
  decodeChunks,
  decodeUntilError,
  expectError,
  expectThrows,
  innerBoundaries,
  pattern,
  recorder,
  splitAt,
  u8,
  utf8,
} from "./helpers.ts";

const CONFIGS: { name: string; options: LengthPrefixedOptions }[] = [
  { name: "1-byte big", options: { headerBytes: 1, endian: "big" } },
  { name: "1-byte little", options: { headerBytes: 1, endian: "little" } },
  { name: "2-byte big", options: { headerBytes: 2, endian: "big" } },
  { name: "2-byte little", options: { headerBytes: 2, endian: "little" } },
  { name: "4-byte big", options: { headerBytes: 4, endian: "big" } },
  { name: "4-byte little", options: { headerBytes: 4, endian: "little" } },
  { name: "varint", options: { headerBytes: "varint" } },
];

/** Frames used for the split tests: zero-length ones at the start, middle and end, and a 200-byte
 * one so varint headers take two bytes and every header variant straddles some boundary. */
const STREAM_FRAMES: Uint8Array[] = [
  new Uint8Array(0),
  u8(0x61),
  utf8("hello"),
  pattern(200, 3),
  new Uint8Array(0),
  new Uint8Array(0),
  utf8("xyz"),
  new Uint8Array(0),
];

function encodeAll(framer: LengthPrefixedFramer, frames: readonly Uint8Array[]): Uint8Array {
  return concat(frames.map((f) => framer.encode(f)));
}

describe("LengthPrefixedFramer encoding: exact bytes", () => {
  test("defaults are a 4-byte big-endian header and 16 MiB max frame", () => {
    const f = new LengthPrefixedFramer();
    expect(f.kind).toBe("length-prefixed");
    expect(f.headerBytes).toBe(4);
    expect(f.littleEndian).toBe(false);
    expect(f.maxFrameSize).toBe(16 * 1024 * 1024);
    expect(arr(f.encode(utf8("abc")))).toEqual([0, 0, 0, 3, 0x61, 0x62, 0x63]);
  });

  test("1-byte header (endian is irrelevant)", () => {
    for (const endian of ["big", "little"] as const) {
      const f = new LengthPrefixedFramer({ headerBytes: 1, endian });
      expect(arr(f.encode(utf8("abc")))).toEqual([3, 0x61, 0x62, 0x63]);
      expect(arr(f.encode(new Uint8Array(0)))).toEqual([0]);
      expect(f.encodedLength(3)).toBe(4);
    }
  });

  test("2-byte header big and little endian", () => {
    const be = new LengthPrefixedFramer({ headerBytes: 2, endian: "big" });
    const le = new LengthPrefixedFramer({ headerBytes: 2, endian: "little" });
    expect(arr(be.encode(utf8("abc")))).toEqual([0x00, 0x03, 0x61, 0x62, 0x63]);
    expect(arr(le.encode(utf8("abc")))).toEqual([0x03, 0x00, 0x61, 0x62, 0x63]);
    const body = pattern(0x0102);
    const beOut = be.encode(body);
    const leOut = le.encode(body);
    expect(beOut.length).toBe(0x0102 + 2);
    expect(arr(beOut.subarray(0, 2))).toEqual([0x01, 0x02]);
    expect(arr(leOut.subarray(0, 2))).toEqual([0x02, 0x01]);
    expect(arr(beOut.subarray(2))).toEqual(arr(body));
    expect(arr(leOut.subarray(2))).toEqual(arr(body));
    expect(be.encodedLength(0x0102)).toBe(0x0104);
  });

  test("4-byte header big and little endian", () => {
    const be = new LengthPrefixedFramer({ headerBytes: 4, endian: "big" });
    const le = new LengthPrefixedFramer({ headerBytes: 4, endian: "little" });
    expect(arr(be.encode(utf8("abc")))).toEqual([0, 0, 0, 3, 0x61, 0x62, 0x63]);
    expect(arr(le.encode(utf8("abc")))).toEqual([3, 0, 0, 0, 0x61, 0x62, 0x63]);
    const body = pattern(0x010203);
    const beOut = be.encode(body);
    const leOut = le.encode(body);
    expect(arr(beOut.subarray(0, 4))).toEqual([0x00, 0x01, 0x02, 0x03]);
    expect(arr(leOut.subarray(0, 4))).toEqual([0x03, 0x02, 0x01, 0x00]);
    expect(beOut.length).toBe(0x010203 + 4);
    expect(beOut.subarray(4)).toEqual(body);
    expect(leOut.subarray(4)).toEqual(body);
  });

  test("varint header (unsigned LEB128)", () => {
    const f = new LengthPrefixedFramer({ headerBytes: "varint" });
    const cases: [number, number[]][] = [
      [0, [0x00]],
      [1, [0x01]],
      [127, [0x7f]],
      [128, [0x80, 0x01]],
      [300, [0xac, 0x02]],
      [16383, [0xff, 0x7f]],
      [16384, [0x80, 0x80, 0x01]],
    ];
    for (const [n, header] of cases) {
      const body = pattern(n, n);
      const out = f.encode(body);
      expect(arr(out.subarray(0, header.length))).toEqual(header);
      expect(out.subarray(header.length)).toEqual(body);
      expect(out.length).toBe(header.length + n);
      expect(f.encodedLength(n)).toBe(header.length + n);
    }
    const wide = new LengthPrefixedFramer({ headerBytes: "varint", maxFrameSize: 0xffff_ffff });
    expect(wide.encodedLength(2 ** 21 - 1)).toBe(3 + 2 ** 21 - 1);
    expect(wide.encodedLength(2 ** 21)).toBe(4 + 2 ** 21);
    expect(wide.encodedLength(2 ** 28)).toBe(5 + 2 ** 28);
    expect(wide.encodedLength(0xffff_ffff)).toBe(5 + 0xffff_ffff);
  });

  test("encodeInto writes header, type prefix and payload at the offset and nothing else", () => {
    // [options, header for a 3-byte body, header for a 2-byte body]
    const cases: [LengthPrefixedOptions, number[], number[]][] = [
      [{ headerBytes: 1 }, [3], [2]],
      [{ headerBytes: 2, endian: "big" }, [0, 3], [0, 2]],
      [{ headerBytes: 2, endian: "little" }, [3, 0], [2, 0]],
      [{ headerBytes: 4, endian: "big" }, [0, 0, 0, 3], [0, 0, 0, 2]],
      [{ headerBytes: 4, endian: "little" }, [3, 0, 0, 0], [2, 0, 0, 0]],
      [{ headerBytes: "varint" }, [3], [2]],
    ];
    for (const [options, header3, header2] of cases) {
      const f = new LengthPrefixedFramer(options);
      const target = new Uint8Array(16).fill(0xee);
      const end = f.encodeInto(target, 2, u8(0xaa, 0xbb), 0x07);
      expect(end).toBe(2 + header3.length + 3);
      expect(f.encodedLength(3)).toBe(header3.length + 3);
      expect(arr(target)).toEqual([0xee, 0xee, ...header3, 0x07, 0xaa, 0xbb, ...Array(16 - end).fill(0xee)]);
      // Without a prefix (-1) the body is only the payload.
      const plain = new Uint8Array(8).fill(0xee);
      const plainEnd = f.encodeInto(plain, 1, u8(0xaa, 0xbb), -1);
      expect(plainEnd).toBe(1 + header2.length + 2);
      expect(arr(plain)).toEqual([0xee, ...header2, 0xaa, 0xbb, ...Array(8 - plainEnd).fill(0xee)]);
      // The body with the prefix decodes back to prefix + payload.
      expect(decodeChunks(f, [target.subarray(2, end)])).toEqual([[0x07, 0xaa, 0xbb]]);
    }
  });

  test("encode returns a fresh array each time", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 2 });
    const payload = utf8("same");
    const a = f.encode(payload);
    const b = f.encode(payload);
    expect(a).not.toBe(b);
    expect(a.buffer).not.toBe(b.buffer);
    a[2] = 0;
    expect(arr(b)).toEqual([0, 4, ...arr(payload)]);
  });
});

describe("LengthPrefixedFramer options", () => {
  test("invalid headerBytes, endian or maxFrameSize throw InvalidOptionError FW_INVALID_OPTION", () => {
    const bad: unknown[] = [
      { headerBytes: 3 },
      { headerBytes: 8 },
      { headerBytes: "4" },
      { endian: "middle" },
      { endian: "BIG" },
      { maxFrameSize: -1 },
      { maxFrameSize: 1.5 },
      { maxFrameSize: Number.NaN },
      { maxFrameSize: Number.POSITIVE_INFINITY },
    ];
    for (const options of bad) {
      expectThrows(() => new LengthPrefixedFramer(options as LengthPrefixedOptions), InvalidOptionError, "FW_INVALID_OPTION");
    }
  });

  test("maxFrameSize is capped by what the header can express", () => {
    expect(new LengthPrefixedFramer({ headerBytes: 1, maxFrameSize: 1000 }).maxFrameSize).toBe(255);
    expect(new LengthPrefixedFramer({ headerBytes: 1 }).headerLimit).toBe(255);
    expect(new LengthPrefixedFramer({ headerBytes: 2 }).maxFrameSize).toBe(65535);
    expect(new LengthPrefixedFramer({ headerBytes: 2, maxFrameSize: 100 }).maxFrameSize).toBe(100);
    expect(new LengthPrefixedFramer({ headerBytes: 4, maxFrameSize: 2 ** 40 }).maxFrameSize).toBe(0xffff_ffff);
    expect(new LengthPrefixedFramer({ headerBytes: "varint", maxFrameSize: 0 }).maxFrameSize).toBe(0);
  });

  test("createFramer builds framers from options and passes a framer through", () => {
    const lp = createFramer({ type: "length-prefixed", headerBytes: 2, endian: "little", maxFrameSize: 9 });
    expect(lp).toBeInstanceOf(LengthPrefixedFramer);
    expect((lp as LengthPrefixedFramer).headerBytes).toBe(2);
    expect((lp as LengthPrefixedFramer).littleEndian).toBe(true);
    expect((lp as LengthPrefixedFramer).maxFrameSize).toBe(9);
    expect(createFramer({ type: "delimiter" })).toBeInstanceOf(DelimiterFramer);
    expect(createFramer({ type: "none" })).toBeInstanceOf(PassthroughFramer);
    const ready = new LengthPrefixedFramer();
    expect(createFramer(ready)).toBe(ready);
    expectThrows(() => createFramer({ type: "bogus" } as never), InvalidOptionError, "FW_INVALID_OPTION");
    expectThrows(
      () => createFramer({ type: "length-prefixed", headerBytes: 3 } as never),
      InvalidOptionError,
      "FW_INVALID_OPTION",
    );
  });
});

describe("LengthPrefixedFramer size limits", () => {
  test("1-byte header: 255 encodes, 256 is FW_PAYLOAD_TOO_LARGE", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 1 });
    const ok = f.encode(pattern(255));
    expect(ok.length).toBe(256);
    expect(ok[0]).toBe(0xff);
    expect(decodeChunks(f, [ok])).toEqual([arr(pattern(255))]);
    const e1 = expectThrows(() => f.encode(pattern(256)), FrameTooLargeError, "FW_PAYLOAD_TOO_LARGE");
    expect(e1.size).toBe(256);
    expect(e1.limit).toBe(255);
    expectThrows(() => f.encodedLength(256), FrameTooLargeError, "FW_PAYLOAD_TOO_LARGE");
    // Even when the caller asked for a larger maxFrameSize, the header width wins.
    const g = new LengthPrefixedFramer({ headerBytes: 1, maxFrameSize: 10_000 });
    expectThrows(() => g.encodedLength(256), FrameTooLargeError, "FW_PAYLOAD_TOO_LARGE");
    expect(g.encodedLength(255)).toBe(256);
  });

  test("2-byte header: 65535 encodes, 65536 is FW_PAYLOAD_TOO_LARGE", () => {
    for (const endian of ["big", "little"] as const) {
      const f = new LengthPrefixedFramer({ headerBytes: 2, endian });
      const ok = f.encode(pattern(65535));
      expect(ok.length).toBe(65537);
      expect(arr(ok.subarray(0, 2))).toEqual([0xff, 0xff]);
      expect(decodeChunks(f, [ok])).toEqual([arr(pattern(65535))]);
      const e = expectThrows(() => f.encode(pattern(65536)), FrameTooLargeError, "FW_PAYLOAD_TOO_LARGE");
      expect(e.size).toBe(65536);
      expect(e.limit).toBe(65535);
    }
  });

  test("4-byte and varint headers: 2^32 is FW_PAYLOAD_TOO_LARGE, the default 16 MiB bound is FW_FRAME_TOO_LARGE", () => {
    for (const headerBytes of [4, "varint"] as const) {
      const wide = new LengthPrefixedFramer({ headerBytes, maxFrameSize: 2 ** 40 });
      expectThrows(() => wide.encodedLength(2 ** 32), FrameTooLargeError, "FW_PAYLOAD_TOO_LARGE");
      const def = new LengthPrefixedFramer({ headerBytes });
      expect(def.encodedLength(16 * 1024 * 1024)).toBeGreaterThan(16 * 1024 * 1024);
      const e = expectThrows(() => def.encodedLength(16 * 1024 * 1024 + 1), FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      expect(e.limit).toBe(16 * 1024 * 1024);
    }
  });

  for (const { name, options } of CONFIGS) {
    test(`${name}: maxFrameSize boundary on encode and decode (FW_FRAME_TOO_LARGE)`, () => {
      const f = new LengthPrefixedFramer({ ...options, maxFrameSize: 100 });
      const ok = f.encode(pattern(100));
      expect(decodeChunks(f, [ok])).toEqual([arr(pattern(100))]);
      const e = expectThrows(() => f.encode(pattern(101)), FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      expect(e.size).toBe(101);
      expect(e.limit).toBe(100);
      expectThrows(() => f.encodedLength(101), FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      // A peer announcing 101 bytes is rejected on decode too.
      const unlimited = new LengthPrefixedFramer(options);
      const tooBig = unlimited.encode(pattern(101));
      const r = decodeUntilError(f.createDecoder(), [tooBig]);
      const err = expectError(r.error, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      expect(err.size).toBe(101);
      expect(err.limit).toBe(100);
      expect(r.frames).toEqual([]);
    });
  }

  test("maxFrameSize 0 allows only empty frames", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 2, maxFrameSize: 0 });
    expect(arr(f.encode(new Uint8Array(0)))).toEqual([0, 0]);
    expectThrows(() => f.encode(u8(1)), FrameTooLargeError, "FW_FRAME_TOO_LARGE");
    expect(decodeChunks(f, [u8(0, 0, 0, 0)])).toEqual([[], []]);
    expectError(decodeUntilError(f.createDecoder(), [u8(0, 0, 0, 1, 9)]).error, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
  });

  test("a 4-byte header of 0xffffffff reports the unsigned size", () => {
    for (const endian of ["big", "little"] as const) {
      const f = new LengthPrefixedFramer({ headerBytes: 4, endian });
      const e = expectError(
        decodeUntilError(f.createDecoder(), [u8(0xff, 0xff, 0xff, 0xff)]).error,
        FrameTooLargeError,
        "FW_FRAME_TOO_LARGE",
      );
      expect(e.size).toBe(0xffff_ffff);
    }
    const be = new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: 0x7fff_ffff });
    const e = expectError(
      decodeUntilError(be.createDecoder(), [u8(0x80, 0, 0, 0)]).error,
      FrameTooLargeError,
      "FW_FRAME_TOO_LARGE",
    );
    expect(e.size).toBe(0x8000_0000);
  });
});

describe("LengthPrefixedFramer decoding", () => {
  for (const { name, options } of CONFIGS) {
    test(`${name}: a split at every byte boundary decodes identically`, () => {
      const f = new LengthPrefixedFramer(options);
      const stream = encodeAll(f, STREAM_FRAMES);
      const expected = STREAM_FRAMES.map(arr);
      expect(decodeChunks(f, [stream])).toEqual(expected);
      for (const cut of innerBoundaries(stream.length)) {
        expect({ cut, frames: decodeChunks(f, splitAt(stream, [cut])) }).toEqual({ cut, frames: expected });
      }
      // One byte at a time.
      expect(decodeChunks(f, splitAt(stream, innerBoundaries(stream.length)))).toEqual(expected);
    });

    test(`${name}: every pair of split points of a small stream decodes identically`, () => {
      const f = new LengthPrefixedFramer(options);
      const frames = [u8(1, 2, 3), new Uint8Array(0), utf8("four"), u8(5), new Uint8Array(0), pattern(9)];
      const stream = encodeAll(f, frames);
      const expected = frames.map(arr);
      for (let i = 0; i <= stream.length; i++) {
        for (let j = i; j <= stream.length; j++) {
          const got = decodeChunks(f, splitAt(stream, [i, j]));
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            expect({ i, j, got }).toEqual({ i, j, got: expected });
          }
        }
      }
    });

    test(`${name}: many frames in one chunk are all delivered as views of that chunk, in order`, () => {
      const f = new LengthPrefixedFramer(options);
      const frames = Array.from({ length: 1000 }, (_, i) => pattern(i % 37, i));
      const chunk = encodeAll(f, frames);
      const decoder = f.createDecoder();
      const rec = recorder();
      decoder.push(chunk, rec.sink);
      expect(rec.calls.length).toBe(1000);
      expect(rec.frames()).toEqual(frames.map(arr));
      for (const call of rec.calls) expect(call.bytes).toBe(chunk);
      // Offsets are exact: each frame starts right after its header.
      let at = 0;
      for (let i = 0; i < frames.length; i++) {
        const headerLength = f.encodedLength((frames[i] as Uint8Array).length) - (frames[i] as Uint8Array).length;
        expect(rec.calls[i]?.start).toBe(at + headerLength);
        at += f.encodedLength((frames[i] as Uint8Array).length);
        expect(rec.calls[i]?.end).toBe(at);
      }
      expect(decoder.bufferedBytes).toBe(0);
      expect(decoder.stopped).toBe(false);
    });

    test(`${name}: zero-length frames alone, between others and at chunk edges`, () => {
      const f = new LengthPrefixedFramer(options);
      const empty = f.encode(new Uint8Array(0));
      const one = f.encode(u8(0x42));
      // Alone.
      const alone = f.createDecoder();
      const r1 = recorder();
      alone.push(empty, r1.sink);
      expect(r1.calls.length).toBe(1);
      expect(r1.calls[0]?.start).toBe(empty.length);
      expect(r1.calls[0]?.end).toBe(empty.length);
      expect(alone.bufferedBytes).toBe(0);
      // Between others, one chunk.
      expect(decodeChunks(f, [concat([one, empty, empty, one])])).toEqual([[0x42], [], [], [0x42]]);
      // A chunk that ends exactly after an empty frame's header, and one that starts with it.
      expect(decodeChunks(f, [concat([one, empty]), concat([empty, one])])).toEqual([[0x42], [], [], [0x42]]);
      // A chunk that ends right after a non-empty frame's header; the next chunk starts with its body.
      const two = f.encode(u8(7, 8));
      const headerLength = two.length - 2;
      expect(
        decodeChunks(f, [concat([empty, two.subarray(0, headerLength)]), concat([two.subarray(headerLength), empty])]),
      ).toEqual([[], [7, 8], []]);
      // Only empty frames, one per chunk.
      expect(decodeChunks(f, [empty, empty, empty])).toEqual([[], [], []]);
    });
  }

  test("empty chunks are a no-op, also in the middle of a split header and body", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 4 });
    const frame = f.encode(utf8("body"));
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(new Uint8Array(0), rec.sink);
    expect(rec.calls.length).toBe(0);
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.stopped).toBe(false);
    decoder.push(frame.subarray(0, 2), rec.sink);
    decoder.push(new Uint8Array(0), rec.sink);
    expect(decoder.bufferedBytes).toBe(2);
    decoder.push(frame.subarray(2, 6), rec.sink);
    decoder.push(new Uint8Array(0), rec.sink);
    expect(decoder.bufferedBytes).toBe(2);
    expect(rec.calls.length).toBe(0);
    decoder.push(frame.subarray(6), rec.sink);
    decoder.push(new Uint8Array(0), rec.sink);
    expect(rec.frames()).toEqual([arr(utf8("body"))]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("frames wholly inside a chunk are views of it; only the straddling frame is a copy", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 2 });
    const frames = [utf8("aa"), utf8("bbb"), utf8("c"), utf8("straddles"), utf8("ee")];
    const stream = encodeAll(f, frames);
    const cut = 2 + 2 + (2 + 3) + (2 + 1) + 2 + 4; // inside the body of "straddles"
    const [c1, c2] = splitAt(stream, [cut]) as [Uint8Array, Uint8Array];
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(c1, rec.sink);
    expect(rec.calls.length).toBe(3);
    expect(rec.calls.map((c) => [c.bytes === c1, c.start, c.end])).toEqual([
      [true, 2, 4],
      [true, 6, 9],
      [true, 11, 12],
    ]);
    expect(decoder.bufferedBytes).toBe(4);
    decoder.push(c2, rec.sink);
    expect(rec.frames()).toEqual(frames.map(arr));
    const straddling = rec.calls[3]!;
    expect(straddling.bytes).not.toBe(c1);
    expect(straddling.bytes).not.toBe(c2);
    expect(straddling.bytes.buffer).not.toBe(c1.buffer);
    expect(straddling.bytes.buffer).not.toBe(c2.buffer);
    expect([straddling.start, straddling.end]).toEqual([0, 9]);
    const last = rec.calls[4]!;
    expect(last.bytes).toBe(c2);
    expect([last.start, last.end]).toEqual([c2.length - 2, c2.length]);
    // The copy does not alias the chunks: scribbling on them leaves the assembled frame intact.
    c1.fill(0);
    c2.fill(0);
    expect(arr(straddling.bytes.subarray(straddling.start, straddling.end))).toEqual(arr(utf8("straddles")));
  });

  test("a frame whose header straddles chunks is assembled exactly", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 4, endian: "little" });
    const frame = f.encode(pattern(70_000));
    for (const cut of [1, 2, 3, 4, 5]) {
      expect(decodeChunks(f, splitAt(frame, [cut]))).toEqual([arr(pattern(70_000))]);
    }
  });

  test("bufferedBytes reports a split header and a partial body", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 4 });
    const frame = f.encode(pattern(10));
    const decoder = f.createDecoder();
    const rec = recorder();
    decoder.push(frame.subarray(0, 3), rec.sink);
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(frame.subarray(3, 7), rec.sink);
    expect(decoder.bufferedBytes).toBe(3);
    decoder.push(frame.subarray(7, 13), rec.sink);
    expect(decoder.bufferedBytes).toBe(9);
    decoder.push(frame.subarray(13), rec.sink);
    expect(decoder.bufferedBytes).toBe(0);
    expect(rec.frames()).toEqual([arr(pattern(10))]);
  });
});

describe("LengthPrefixedFramer oversize and malformed headers", () => {
  const HEADERS: { name: string; options: LengthPrefixedOptions; header: number[] }[] = [
    { name: "1-byte", options: { headerBytes: 1, maxFrameSize: 10 }, header: [11] },
    { name: "2-byte big", options: { headerBytes: 2, endian: "big", maxFrameSize: 1024 }, header: [0x04, 0x01] },
    { name: "2-byte little", options: { headerBytes: 2, endian: "little", maxFrameSize: 1024 }, header: [0x01, 0x04] },
    { name: "4-byte big", options: { headerBytes: 4, endian: "big", maxFrameSize: 1024 }, header: [0, 0x0f, 0x42, 0x40] },
    { name: "4-byte little", options: { headerBytes: 4, endian: "little", maxFrameSize: 1024 }, header: [0x40, 0x42, 0x0f, 0] },
    { name: "varint", options: { headerBytes: "varint", maxFrameSize: 1024 }, header: [0xc0, 0x84, 0x3d] },
  ];

  for (const { name, options, header } of HEADERS) {
    test(`${name}: rejected as soon as the header arrives, before any body`, () => {
      const f = new LengthPrefixedFramer(options);
      const decoder = f.createDecoder();
      const rec = recorder();
      const good = f.encode(u8(1, 2));
      let error: unknown;
      try {
        decoder.push(concat([good, Uint8Array.from(header)]), rec.sink);
      } catch (e) {
        error = e;
      }
      const e = expectError(error, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      expect(e.limit).toBe(f.maxFrameSize);
      expect(e.size).toBeGreaterThan(f.maxFrameSize);
      // The good frame before it was delivered; nothing of the bad one is buffered.
      expect(rec.frames()).toEqual([[1, 2]]);
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(5);
    });

    test(`${name}: rejected when the header arrives one byte at a time`, () => {
      const f = new LengthPrefixedFramer(options);
      const decoder = f.createDecoder();
      const r = decodeUntilError(decoder, header.map((b) => u8(b)));
      expectError(r.error, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      expect(r.failedAt).toBe(header.length - 1);
      expect(decoder.bufferedBytes).toBeLessThanOrEqual(5);
    });

    test(`${name}: the decoder stays failed and never resynchronises`, () => {
      const f = new LengthPrefixedFramer(options);
      const decoder = f.createDecoder();
      const rec = recorder();
      let first: unknown;
      try {
        decoder.push(Uint8Array.from(header), rec.sink);
      } catch (e) {
        first = e;
      }
      expectError(first, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
      // A perfectly valid frame afterwards: still the same error, and nothing delivered.
      for (let i = 0; i < 3; i++) {
        let again: unknown;
        try {
          decoder.push(f.encode(u8(9)), rec.sink);
        } catch (e) {
          again = e;
        }
        expect(again).toBe(first);
      }
      let onResume: unknown;
      try {
        decoder.resume(rec.sink);
      } catch (e) {
        onResume = e;
      }
      expect(onResume).toBe(first);
      expect(rec.calls.length).toBe(0);
    });
  }

  test("a malformed varint (continuation bit on 6 bytes) is FW_MALFORMED_FRAME, whole or split", () => {
    const f = new LengthPrefixedFramer({ headerBytes: "varint", maxFrameSize: 0xffff_ffff });
    const bad = u8(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
    const whole = decodeUntilError(f.createDecoder(), [bad]);
    expectError(whole.error, MalformedFrameError, "FW_MALFORMED_FRAME");
    expect(whole.error).toBeInstanceOf(FramewireError);
    // Byte by byte: it fails no later than the 6th byte and never waits for more.
    const decoder = f.createDecoder();
    const split = decodeUntilError(decoder, Array.from(bad, (b) => u8(b)));
    expectError(split.error, MalformedFrameError, "FW_MALFORMED_FRAME");
    expect(split.failedAt).toBeLessThanOrEqual(5);
    expect(decoder.bufferedBytes).toBeLessThanOrEqual(5);
    // Sticky.
    let again: unknown;
    try {
      decoder.push(u8(0), () => {});
    } catch (e) {
      again = e;
    }
    expect(again).toBe(split.error);
  });

  test("a 5-byte varint above 2^32-1 is FW_MALFORMED_FRAME; 2^32-1 itself is only too large", () => {
    const f = new LengthPrefixedFramer({ headerBytes: "varint", maxFrameSize: 0xffff_ffff });
    expectError(
      decodeUntilError(f.createDecoder(), [u8(0xff, 0xff, 0xff, 0xff, 0x1f)]).error,
      MalformedFrameError,
      "FW_MALFORMED_FRAME",
    );
    const def = new LengthPrefixedFramer({ headerBytes: "varint" });
    const e = expectError(
      decodeUntilError(def.createDecoder(), [u8(0xff, 0xff, 0xff, 0xff, 0x0f)]).error,
      FrameTooLargeError,
      "FW_FRAME_TOO_LARGE",
    );
    expect(e.size).toBe(0xffff_ffff);
  });

  // Regression, fixed (src/framing/length-prefixed.ts:208): in the in-chunk fast path the header length of a
  // varint is recomputed from its value (`varintLength(size)`) instead of counting the bytes read,
  // so a non-minimal varint such as [0x81, 0x00] (= 1, two bytes) is treated as a one-byte header.
  // Decoding [0x81, 0x00, 0x41] in one chunk delivers the body [0x00] and then parses 0x41 as the
  // next header (65 bytes), while the same bytes pushed one at a time deliver [0x41]. Either
  // decoding (or rejecting it as FW_MALFORMED_FRAME) is fine; silently desynchronising is not.
  test("a non-minimal varint header decodes the same in one chunk as byte by byte", () => {
    const f = new LengthPrefixedFramer({ headerBytes: "varint" });
    const stream = u8(0x81, 0x00, 0x41, 0x01, 0x42);
    const whole = decodeUntilError(f.createDecoder(), [stream]);
    const split = decodeUntilError(f.createDecoder(), Array.from(stream, (b) => u8(b)));
    expect(whole.frames).toEqual(split.frames);
    expect(whole.error === undefined).toBe(split.error === undefined);
    if (whole.error === undefined) expect(whole.frames).toEqual([[0x41], [0x42]]);
    else expectError(whole.error, MalformedFrameError, "FW_MALFORMED_FRAME");
  });
});

describe("LengthPrefixedFramer stop() and resume()", () => {
  test("stop() in the sink returns after that frame; resume() delivers the remainder in order", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 1 });
    const frames = [utf8("a"), utf8("bb"), new Uint8Array(0), utf8("ccc"), utf8("dddd"), utf8("e")];
    const stream = encodeAll(f, frames);
    const decoder = f.createDecoder();
    const stopAfter = new Set([1, 3]);
    let halted = false;
    const rec = recorder((_call, index) => {
      expect(halted).toBe(false);
      if (stopAfter.has(index)) {
        decoder.stop();
        halted = true;
      }
    });
    decoder.push(stream, rec.sink);
    halted = false;
    expect(rec.frames()).toEqual([[0x61], [0x62, 0x62]]);
    expect(decoder.stopped).toBe(true);
    // Unparsed remainder: "" + "ccc" + "dddd" + "e" with their 1-byte headers.
    expect(decoder.bufferedBytes).toBe(1 + 4 + 5 + 2);

    // A chunk pushed while stopped is queued behind the remainder, not parsed.
    const more = f.encode(utf8("ff"));
    decoder.push(more, rec.sink);
    expect(rec.calls.length).toBe(2);
    expect(decoder.stopped).toBe(true);
    expect(decoder.bufferedBytes).toBe(1 + 4 + 5 + 2 + 3);

    decoder.resume(rec.sink);
    halted = false;
    expect(rec.frames()).toEqual([[0x61], [0x62, 0x62], [], [0x63, 0x63, 0x63]]);
    expect(decoder.stopped).toBe(true);

    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual([...frames.map(arr), [0x66, 0x66]]);
    expect(decoder.stopped).toBe(false);
    expect(decoder.bufferedBytes).toBe(0);
    // resume() with nothing left is a no-op.
    decoder.resume(rec.sink);
    expect(rec.calls.length).toBe(7);
  });

  test("stop() on the last frame of a chunk leaves nothing stopped", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 2 });
    const decoder = f.createDecoder();
    const rec = recorder((_c, i) => {
      if (i === 1) decoder.stop();
    });
    decoder.push(encodeAll(f, [u8(1), u8(2)]), rec.sink);
    expect(decoder.stopped).toBe(false);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(f.encode(u8(3)), rec.sink);
    expect(rec.frames()).toEqual([[1], [2], [3]]);
  });

  test("stop() in the sink of an assembled (straddling) frame keeps the rest of that chunk", () => {
    const f = new LengthPrefixedFramer({ headerBytes: "varint" });
    const frames = [pattern(150, 1), utf8("x"), utf8("yz")];
    const stream = encodeAll(f, frames);
    const decoder = f.createDecoder();
    const rec = recorder((_c, i) => {
      if (i === 0) decoder.stop();
    });
    decoder.push(stream.subarray(0, 100), rec.sink);
    expect(rec.calls.length).toBe(0);
    decoder.push(stream.subarray(100), rec.sink);
    expect(rec.frames()).toEqual([arr(pattern(150, 1))]);
    expect(decoder.stopped).toBe(true);
    expect(decoder.bufferedBytes).toBe(2 + 3);
    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual(frames.map(arr));
    expect(decoder.stopped).toBe(false);
  });

  test("stop() called outside push does not hold back the next push", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 1 });
    const decoder = f.createDecoder();
    decoder.stop();
    const rec = recorder();
    decoder.push(encodeAll(f, [u8(1), u8(2), u8(3)]), rec.sink);
    expect(rec.frames()).toEqual([[1], [2], [3]]);
    expect(decoder.stopped).toBe(false);
  });

  test("an error found while resuming makes the decoder fail for good", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 1, maxFrameSize: 5 });
    const decoder = f.createDecoder();
    const rec = recorder((_c, i) => {
      if (i === 0) decoder.stop();
    });
    decoder.push(concat([f.encode(u8(1)), f.encode(u8(2)), u8(200)]), rec.sink);
    expect(decoder.stopped).toBe(true);
    let error: unknown;
    try {
      decoder.resume(rec.sink);
    } catch (e) {
      error = e;
    }
    expectError(error, FrameTooLargeError, "FW_FRAME_TOO_LARGE");
    expect(rec.frames()).toEqual([[1], [2]]);
    let again: unknown;
    try {
      decoder.push(f.encode(u8(3)), rec.sink);
    } catch (e) {
      again = e;
    }
    expect(again).toBe(error);
  });
});

describe("LengthPrefixedFramer large frames across chunks", () => {
  // A frame that straddles chunks is assembled in a buffer that grows with the bytes that arrive
  // (at most 64 KiB ahead), never allocated at its announced size up front.
  test("frames above 64 KiB arrive byte-exact whatever the chunking", () => {
    const framer = new LengthPrefixedFramer();
    const sizes = [64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 200 * 1024, 1024 * 1024 + 7];
    const stream = concat(sizes.map((n) => framer.encode(pattern(n))));
    for (const chunk of [1000, 4096, 65536, 300_000, 777]) {
      const cuts: number[] = [];
      for (let at = chunk; at < stream.length; at += chunk) cuts.push(at);
      const frames = decodeChunks(framer, splitAt(stream, cuts));
      expect(frames.map((f) => f.length)).toEqual(sizes);
      sizes.forEach((n, i) => expect(frames[i]).toEqual(arr(pattern(n))));
    }
  });

  test("a header alone holds only what arrived; a changed limit applies from the next header", () => {
    const framer = new LengthPrefixedFramer({ maxFrameSize: 16 * 1024 * 1024 });
    const decoder = framer.createDecoder();
    const { sink, frames } = recorder();
    decoder.push(u8(0x01, 0x00, 0x00, 0x00, 0x2a), sink); // announces 16 MiB, sends one byte
    expect(decoder.bufferedBytes).toBe(1);
    expect(frames()).toEqual([]);
    // The connection lowers the limit during a handshake and raises it after: the next header counts.
    const small = new LengthPrefixedFramer({ maxFrameSize: 100 });
    const after = small.createDecoder();
    after.push(small.encode(pattern(11)), sink);
    expect(frames().length).toBe(1);
    after.maxFrameSize = 10;
    expectThrows(() => after.push(small.encode(pattern(11)), sink), FrameTooLargeError, "FW_FRAME_TOO_LARGE");
  });
});

describe("PartialFrame", () => {
  test("a trickle of small pieces and large pieces alike assemble byte-exact, once", () => {
    const body = pattern(300 * 1024);
    for (const sizes of [[1], [7, 1, 16384, 3], [65536], [20000, 1, 20000, 9]]) {
      const frame = new PartialFrame(body.length);
      let at = 0;
      for (let i = 0; at < body.length; i++) {
        const n = Math.min(sizes[i % sizes.length] as number, body.length - at);
        frame.add(body, at, n);
        at += n;
      }
      expect(frame.filled).toBe(body.length);
      expect(arr(frame.assemble())).toEqual(arr(body));
    }
  });

  test("a large frame gets its body when a read target is asked for once half has arrived; bytes read into it are not copied again", () => {
    const size = 1024 * 1024;
    const body = pattern(size, 3);
    const frame = new PartialFrame(size);
    frame.add(body, 0, 100 * 1024);
    expect(frame.readTarget()).toBeUndefined(); // a tenth: only the pieces that arrived are held
    frame.add(body, 100 * 1024, 500 * 1024);
    const target = frame.readTarget() as Uint8Array;
    expect(target.length).toBe(size - 600 * 1024);
    // An adapter reads part of the rest into the target and hands back a view of it...
    target.set(body.subarray(600 * 1024, 900 * 1024), 0);
    frame.add(target.subarray(0, 300 * 1024), 0, 300 * 1024);
    // ...then the rest arrives in an ordinary chunk.
    const rest = frame.readTarget() as Uint8Array;
    expect(rest.length).toBe(size - 900 * 1024);
    expect(rest.buffer).toBe(target.buffer);
    frame.add(body.slice(900 * 1024), 0, size - 900 * 1024);
    const assembled = frame.assemble();
    expect(assembled.buffer).toBe(target.buffer);
    expect(assembled.length).toBe(size);
    expect(arr(assembled)).toEqual(arr(body));
  });

  test("frames below 256 KiB never get a body early: no read target", () => {
    const frame = new PartialFrame(200 * 1024);
    frame.add(pattern(190 * 1024), 0, 190 * 1024);
    expect(frame.readTarget()).toBeUndefined();
  });

  test("the decoder offers the read target only while not stopped, and delivers the frame as a view of it", () => {
    const f = new LengthPrefixedFramer({ headerBytes: 4 });
    const payload = pattern(512 * 1024, 5);
    const encoded = f.encode(payload);
    const decoder = f.createDecoder();
    const rec = recorder();
    expect(decoder.readTarget()).toBeUndefined();
    decoder.push(encoded.slice(0, 4 + 300 * 1024), rec.sink);
    const target = decoder.readTarget() as Uint8Array;
    expect(target.length).toBe(212 * 1024);
    target.set(encoded.subarray(4 + 300 * 1024));
    decoder.push(target, rec.sink);
    expect(rec.frames()).toEqual([arr(payload)]);
    expect(rec.calls[0]?.bytes.buffer).toBe(target.buffer);
    expect(decoder.readTarget()).toBeUndefined();
  });

  test("one piece that is the whole body is returned as it is (no copy)", () => {
    const chunk = pattern(100 * 1024);
    const frame = new PartialFrame(80 * 1024);
    frame.add(chunk, 10, 80 * 1024);
    const body = frame.assemble();
    expect(body.buffer).toBe(chunk.buffer);
    expect(arr(body)).toEqual(arr(chunk.subarray(10, 10 + 80 * 1024)));
  });
});
