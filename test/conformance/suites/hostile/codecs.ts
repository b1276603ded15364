/**
 * Payloads the server's codec must refuse: invalid UTF-8 (text), invalid JSON and CBOR, deep
 * nesting and impossible lengths. Each closes its connection with GOAWAY `FW_CODEC_ERROR` at once,
 * after the valid message before it was answered. Huge bignums and constructor tags are in
 * ../decoding.ts (with a bystander too); this battery adds the memory and unhandled-error checks.
 */
import { concat, encoder, equal, ok, type Scenario, typed } from "../../kit.ts";
import { type BatteryCodec, hostile, toldCode } from "./kit.ts";

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const text = (value: string): Uint8Array => encoder.encode(value);
/** `depth` times `open`, then `scalar`: nesting with nothing closed. */
const nested = (open: number[], depth: number, scalar: number[]): Uint8Array => {
  const out = new Uint8Array(open.length * depth + scalar.length);
  for (let i = 0; i < depth; i++) out.set(open, i * open.length);
  out.set(scalar, open.length * depth);
  return out;
};

/** [what, payload] per codec; every one must close with FW_CODEC_ERROR. */
const REFUSED: Record<Exclude<BatteryCodec, "buffer">, [string, () => Uint8Array][]> = {
  text: [
    ["a lone 0xFF", () => bytes(0xff)],
    ["an overlong '/' (C0 AF)", () => bytes(0x2f, 0xc0, 0xaf)],
    ["a UTF-16 surrogate (ED A0 80)", () => bytes(0x61, 0xed, 0xa0, 0x80)],
    ["a sequence cut short (E2 82)", () => bytes(0x61, 0x62, 0xe2, 0x82)],
    ["a code point above U+10FFFF", () => bytes(0xf4, 0x90, 0x80, 0x80)],
    ["a continuation byte alone", () => bytes(0x80)],
    ["1 MiB of valid text then one bad byte", () => concat([new Uint8Array(1 << 20).fill(0x61), bytes(0xfe)])],
  ],
  json: [
    ["an object cut short", () => text('{"a":')],
    ["single quotes", () => text("{'a':1}")],
    ["a trailing comma", () => text("[1,2,]")],
    ["NaN", () => text("NaN")],
    ["trailing garbage", () => text('{"a":1} x')],
    ["an empty payload", () => new Uint8Array(0)],
    ["invalid UTF-8 in a string", () => bytes(0x22, 0xff, 0x22)],
    ["65 levels of arrays (the limit is 64)", () => text(`${"[".repeat(65)}${"]".repeat(65)}`)],
    ["1 MiB of '['", () => new Uint8Array(1 << 20).fill(0x5b)],
    ["200,000 nested objects", () => text('{"a":'.repeat(200_000))],
    ["200,000 items (the limit is 100,000)", () => text(`[${"0,".repeat(199_999)}0]`)],
  ],
  cbor: [
    ["a stray break byte (cbor-x reads it as {})", () => bytes(0xff)],
    ["a map cut short", () => bytes(0xa1, 0x01)],
    ["a byte string claiming 4 GiB", () => bytes(0x5a, 0xff, 0xff, 0xff, 0xff, 0x00)],
    ["an array claiming 2^40 items", () => bytes(0x9b, 0, 0, 1, 0, 0, 0, 0, 0, 0x01)],
    ["an indefinite array never closed", () => bytes(0x9f, 0x01, 0x02)],
    ["reserved additional information (0x1C)", () => bytes(0x1c)],
    ["a text string that is not UTF-8", () => bytes(0x62, 0xc0, 0xaf)],
    ["65 levels of arrays (the limit is 64)", () => nested([0x81], 65, [0x00])],
    ["1 MiB of nested arrays", () => nested([0x81], 1 << 20, [0x00])],
    ["500,000 nested maps", () => nested([0xa1, 0x00], 500_000, [0x00])],
    ["200,000 items (the limit is 100,000)", () => concat([bytes(0x9a, 0x00, 0x03, 0x0d, 0x40), new Uint8Array(200_000)])],
  ],
};

/** A valid message of the codec, which must be echoed before the refused one closes the connection. */
const VALID: Record<Exclude<BatteryCodec, "buffer">, Uint8Array> = {
  text: text("ok ✓"),
  json: text('{"ok":[1,{"deep":true}]}'),
  cbor: bytes(0xa1, 0x62, 0x6f, 0x6b, 0xf5), // {"ok": true}
};

function codecAttack(codec: Exclude<BatteryCodec, "buffer">, what: string): Scenario {
  return hostile(what, {
    codec,
    async attack(arena) {
      for (const [name, payload] of REFUSED[codec]) {
        const peer = await arena.handshaken();
        const t0 = performance.now();
        peer.write(concat([typed(0x00, VALID[codec]), typed(0x00, payload())]));
        equal(await toldCode(peer, 0x07, `${codec}: ${name}`), "FW_CODEC_ERROR", `${codec}: GOAWAY code for ${name}`);
        const elapsed = performance.now() - t0;
        ok(elapsed < 2000, `${codec}: ${name} refused after ${Math.round(elapsed)} ms (expected well under 2 s)`);
        equal(peer.frames()[1]?.[0], 0x00, `${codec}: ${name}: the valid message before it was echoed first`);
        await arena.offenderClosed("FW_CODEC_ERROR", `${codec}: ${name}`);
      }
    },
  });
}

export const codecAttacks: Scenario[] = [
  codecAttack("text", "invalid UTF-8 for the text codec (overlong, surrogate, cut short, above U+10FFFF) closes with FW_CODEC_ERROR, never U+FFFD"),
  codecAttack("json", "invalid JSON and JSON nested or long past the limits close with FW_CODEC_ERROR at once"),
  codecAttack("cbor", "malformed CBOR (stray break, cut short, impossible lengths) and CBOR nested or long past the limits close with FW_CODEC_ERROR at once"),
];
