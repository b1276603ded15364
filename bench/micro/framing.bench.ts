/**
 * Micro-benchmarks of the framers (src/framing), in-process, no sockets.
 *
 *   ./node_modules/.bin/bun bench/micro/framing.bench.ts [--filter=regex]
 *
 * Each decode benchmark parses the same 512 KiB of 64-byte-payload frames per iteration; the
 * summary at the end converts mitata's time per iteration into frames/s and MB/s of wire bytes.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { DelimiterFramer, LengthPrefixedFramer } from "../../src/framing/index.ts";

const PAYLOAD = 64;
const CHUNK_BYTES = 512 * 1024;

function payload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = 0x61 + (i % 26); // 'a'..'z', never '\n'
  return bytes;
}

/** Whole frames laid out back to back in one buffer of at most `bytes` bytes. */
function stream(framer: LengthPrefixedFramer | DelimiterFramer, body: Uint8Array, bytes: number, prefix = -1) {
  const frameLength = framer.encodedLength(body.length + (prefix >= 0 ? 1 : 0));
  const frames = Math.floor(bytes / frameLength);
  const out = new Uint8Array(frames * frameLength);
  let at = 0;
  for (let i = 0; i < frames; i++) at = framer.encodeInto(out, at, body, prefix);
  return { bytes: out, frames };
}

/** Splits `bytes` into chunks of `size` (the last may be shorter). */
function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, Math.min(at + size, bytes.length)));
  return chunks;
}

const body = payload(PAYLOAD);
const lp = new LengthPrefixedFramer({ headerBytes: 4, endian: "big" });
const lpStream = stream(lp, body, CHUNK_BYTES);
// The framewire protocol's framing: u32 BE length | type byte | payload.
const fwFramer = new LengthPrefixedFramer({ headerBytes: 4, endian: "big", maxFrameSize: 16 * 1024 * 1024 + 1 });
const fwStream = stream(fwFramer, body, CHUNK_BYTES, 0);
const varint = new LengthPrefixedFramer({ headerBytes: "varint" });
const varintStream = stream(varint, body, CHUNK_BYTES);
const delim = new DelimiterFramer({ delimiter: "\n" });
const delimStream = stream(delim, body.subarray(0, PAYLOAD - 1), CHUNK_BYTES); // 63 B + "\n" = 64 B per frame
const crlf = new DelimiterFramer({ delimiter: "\r\n" });
const crlfStream = stream(crlf, body.subarray(0, PAYLOAD - 2), CHUNK_BYTES);

// Straddling: the same 512 KiB cut at sizes that are not multiples of the frame length, so
// headers and bodies both straddle chunk boundaries.
const straddle4093 = split(lpStream.bytes, 4093);
const straddle65521 = split(lpStream.bytes, 65521);
const straddle61 = split(lpStream.bytes, 61); // every frame straddles (61 < 68)
const delimStraddle4093 = split(delimStream.bytes, 4093);

// The sink makes the view a `message` listener would get (as the connection does): creating
// that view is most of the cost, so the "parse only" row at the end shows the decoder alone.
let lastView: Uint8Array | undefined;
const viewSink = (bytes: Uint8Array, start: number, end: number): void => {
  lastView = bytes.subarray(start, end);
};
let sunk = 0;
const countSink = (_bytes: Uint8Array, start: number, end: number): void => {
  sunk += end - start;
};

/** name → frames parsed per iteration and wire bytes per iteration, for the summary. */
const perIteration = new Map<string, { frames: number; bytes: number }>();
function decodeBench(name: string, framer: LengthPrefixedFramer | DelimiterFramer, chunks: Uint8Array[], frames: number, frameSink = viewSink) {
  const decoder = framer.createDecoder();
  let bytes = 0;
  for (const c of chunks) bytes += c.length;
  perIteration.set(name, { frames, bytes });
  bench(name, () => {
    for (let i = 0; i < chunks.length; i++) decoder.push(chunks[i] as Uint8Array, frameSink);
  });
}

group("LengthPrefixedFramer decode, 512 KiB of 64 B payloads, a view per frame", () => {
  summary(() => {
    decodeBench("lp u32 decode: 1 chunk", lp, [lpStream.bytes], lpStream.frames);
    decodeBench("lp framewire (type byte) decode: 1 chunk", fwFramer, [fwStream.bytes], fwStream.frames);
    decodeBench("lp varint decode: 1 chunk", varint, [varintStream.bytes], varintStream.frames);
    decodeBench("lp u32 decode: straddling, 65521 B chunks", lp, straddle65521, lpStream.frames);
    decodeBench("lp u32 decode: straddling, 4093 B chunks", lp, straddle4093, lpStream.frames);
    decodeBench("lp u32 decode: straddling, 61 B chunks (every frame)", lp, straddle61, lpStream.frames);
    decodeBench("lp u32 decode: 1 chunk, parse only (no view)", lp, [lpStream.bytes], lpStream.frames, countSink);
  });
});

group("DelimiterFramer decode, 512 KiB of 64 B lines, a view per frame", () => {
  summary(() => {
    decodeBench("delimiter \\n decode: 1 chunk", delim, [delimStream.bytes], delimStream.frames);
    decodeBench("delimiter \\r\\n decode: 1 chunk", crlf, [crlfStream.bytes], crlfStream.frames);
    decodeBench("delimiter \\n decode: straddling, 4093 B chunks", delim, delimStraddle4093, delimStream.frames);
  });
});

const target = new Uint8Array(64 * 1024);
let at = 0;
group("encodeInto, 64 B payload", () => {
  summary(() => {
    perIteration.set("lp u32 encodeInto 64 B", { frames: 1, bytes: 68 });
    bench("lp u32 encodeInto 64 B", () => {
      if (at + 68 > target.length) at = 0;
      at = lp.encodeInto(target, at, body, -1);
    });
    perIteration.set("lp framewire encodeInto 64 B (+type byte)", { frames: 1, bytes: 69 });
    bench("lp framewire encodeInto 64 B (+type byte)", () => {
      if (at + 69 > target.length) at = 0;
      at = fwFramer.encodeInto(target, at, body, 0);
    });
    perIteration.set("lp u32 encodedLength + encodeInto 64 B", { frames: 1, bytes: 68 });
    bench("lp u32 encodedLength + encodeInto 64 B", () => {
      const size = lp.encodedLength(body.length);
      if (at + size > target.length) at = 0;
      at = lp.encodeInto(target, at, body, -1);
    });
    perIteration.set("delimiter encodeInto 63 B + \\n", { frames: 1, bytes: 64 });
    const line = body.subarray(0, 63);
    bench("delimiter encodeInto 63 B + \\n", () => {
      if (at + 64 > target.length) at = 0;
      at = delim.encodeInto(target, at, line, -1);
    });
  });
});

const filterArg = process.argv.find((a) => a.startsWith("--filter="));
const result = await run({
  ...(filterArg ? { filter: new RegExp(filterArg.slice("--filter=".length)) } : {}),
  colors: process.stdout.isTTY ?? false,
});
do_not_optimize(sunk);
do_not_optimize(lastView);
do_not_optimize(at);

// frames/s from mitata's average time per iteration.
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${(n / 1e3).toFixed(0)} k`);
console.log("\n| benchmark | time/iter (avg) | frames/s | MB/s (wire) |\n|---|---:|---:|---:|");
for (const trial of result.benchmarks) {
  for (const r of trial.runs) {
    const per = perIteration.get(r.name);
    if (!r.stats || !per) continue;
    const seconds = r.stats.avg / 1e9;
    const t = r.stats.avg >= 1e6 ? `${(r.stats.avg / 1e6).toFixed(2)} ms` : r.stats.avg >= 1e3 ? `${(r.stats.avg / 1e3).toFixed(2)} µs` : `${r.stats.avg.toFixed(1)} ns`;
    console.log(`| ${r.name} | ${t} | ${fmt(per.frames / seconds)} | ${(per.bytes / seconds / 1e6).toFixed(0)} |`);
  }
}
