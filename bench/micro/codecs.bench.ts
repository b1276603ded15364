/**
 * Micro-benchmarks of the built-in codecs (src/codec): encode + decode of one small message.
 *
 *   ./node_modules/.bin/bun bench/micro/codecs.bench.ts [--filter=regex]
 *
 * The message is a small object (~100 B as JSON); "text" sends its JSON string, "buffer" its
 * UTF-8 bytes, so every codec moves the same information. The summary gives messages/s.
 */
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { bufferCodec, cborCodec, jsonCodec, textCodec } from "../../src/codec/index.ts";

interface Order {
  id: number;
  symbol: string;
  side: "buy" | "sell";
  price: number;
  qty: number;
  ts: number;
  tags: string[];
}
const message: Order = { id: 123456, symbol: "ACME", side: "buy", price: 101.25, qty: 300, ts: 1_700_000_000_000, tags: ["ioc", "dark"] };
const text = JSON.stringify(message);
const bytes = new TextEncoder().encode(text);

const json = jsonCodec<Order>();
const cbor = cborCodec<Order>();
const cborBytes = cbor.encode(message).slice();
const jsonBytes = json.encode(message);

let sink: unknown;
group(`codecs: one small object (${bytes.length} B as JSON, ${cborBytes.length} B as CBOR)`, () => {
  summary(() => {
    bench("buffer encode+decode", () => {
      sink = bufferCodec.decode(bufferCodec.encode(bytes));
    });
    bench("text encode+decode", () => {
      sink = textCodec.decode(textCodec.encode(text));
    });
    bench("json encode+decode", () => {
      sink = json.decode(json.encode(message));
    });
    bench("cbor encode+decode", () => {
      sink = cbor.decode(cbor.encode(message));
    });
  });
});

group("codecs: encode only", () => {
  bench("text encode", () => (sink = textCodec.encode(text)));
  bench("json encode", () => (sink = json.encode(message)));
  bench("cbor encode", () => (sink = cbor.encode(message)));
});

group("codecs: decode only", () => {
  bench("text decode", () => (sink = textCodec.decode(bytes)));
  bench("json decode", () => (sink = json.decode(jsonBytes)));
  bench("cbor decode", () => (sink = cbor.decode(cborBytes)));
});

const filterArg = process.argv.find((a) => a.startsWith("--filter="));
const result = await run({
  ...(filterArg ? { filter: new RegExp(filterArg.slice("--filter=".length)) } : {}),
  colors: process.stdout.isTTY ?? false,
});
do_not_optimize(sink);

console.log("\n| benchmark | time/op (avg) | ops/s |\n|---|---:|---:|");
for (const trial of result.benchmarks) {
  for (const r of trial.runs) {
    if (!r.stats) continue;
    const ops = 1e9 / r.stats.avg;
    console.log(`| ${r.name} | ${r.stats.avg.toFixed(1)} ns | ${ops >= 1e6 ? `${(ops / 1e6).toFixed(2)} M` : `${(ops / 1e3).toFixed(0)} k`} |`);
  }
}
