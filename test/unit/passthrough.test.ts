import { describe, expect, test } from "bun:test";
import { InvalidOptionError } from "../../src/errors.ts";
import { createFramer, PassthroughFramer } from "../../src/framing/index.ts";
import { arr, expectThrows, recorder, u8, utf8 } from "./helpers.ts";

describe("PassthroughFramer (framing \"none\")", () => {
  test("kind is \"none\" and createFramer builds it", () => {
    expect(new PassthroughFramer().kind).toBe("none");
    expect(createFramer({ type: "none" }).kind).toBe("none");
  });

  test("each chunk is exactly one frame: the chunk itself, whole, in order", () => {
    const decoder = new PassthroughFramer().createDecoder();
    const rec = recorder();
    // Bytes that would be delimiters or length headers in other framings mean nothing here.
    const chunks = [utf8("a\nb\n"), u8(0, 0, 0, 5), u8(0xff), utf8("line\r\n")];
    for (const chunk of chunks) decoder.push(chunk, rec.sink);
    expect(rec.calls.length).toBe(4);
    rec.calls.forEach((call, i) => {
      expect(call.bytes).toBe(chunks[i] as Uint8Array);
      expect(call.start).toBe(0);
      expect(call.end).toBe((chunks[i] as Uint8Array).length);
    });
    expect(rec.frames()).toEqual(chunks.map(arr));
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.stopped).toBe(false);
  });

  test("a view chunk is delivered with its own offsets", () => {
    const decoder = new PassthroughFramer().createDecoder();
    const rec = recorder();
    const backing = u8(9, 9, 1, 2, 3, 9);
    const view = backing.subarray(2, 5);
    decoder.push(view, rec.sink);
    expect(rec.calls[0]?.bytes).toBe(view);
    expect([rec.calls[0]?.start, rec.calls[0]?.end]).toEqual([0, 3]);
    expect(rec.frames()).toEqual([[1, 2, 3]]);
  });

  test("an empty chunk produces no frame", () => {
    const decoder = new PassthroughFramer().createDecoder();
    const rec = recorder();
    decoder.push(u8(), rec.sink);
    expect(rec.calls.length).toBe(0);
    decoder.push(u8(7), rec.sink);
    expect(rec.frames()).toEqual([[7]]);
  });

  test("stop() in the sink does not lose or hold the next chunk", () => {
    const decoder = new PassthroughFramer().createDecoder();
    const rec = recorder(() => decoder.stop());
    decoder.push(u8(1, 2), rec.sink);
    expect(decoder.stopped).toBe(false);
    decoder.push(u8(3), rec.sink);
    decoder.resume(rec.sink);
    expect(rec.frames()).toEqual([[1, 2], [3]]);
  });

  test("encode copies the payload unchanged; encodedLength is the body length", () => {
    const f = new PassthroughFramer();
    const payload = utf8("raw\nbytes");
    const out = f.encode(payload);
    expect(out).not.toBe(payload);
    expect(arr(out)).toEqual(arr(payload));
    payload[0] = 0;
    expect(out[0]).toBe(0x72);
    expect(f.encodedLength(0)).toBe(0);
    expect(f.encodedLength(12345)).toBe(12345);
  });

  test("encodeInto writes at the offset; a type prefix is refused (FW_INVALID_OPTION)", () => {
    const f = new PassthroughFramer();
    const target = new Uint8Array(6).fill(0xee);
    expect(f.encodeInto(target, 2, u8(1, 2, 3), -1)).toBe(5);
    expect(arr(target)).toEqual([0xee, 0xee, 1, 2, 3, 0xee]);
    expectThrows(() => f.encodeInto(target, 0, u8(1), 0), InvalidOptionError, "FW_INVALID_OPTION");
  });
});
