/**
 * Hostile bytes before and in HELLO: other protocols' greetings and garbage, HELLOs with a wrong
 * magic, impossible version ranges, malformed or oversized JSON and tags. Each is refused with
 * REJECT and a code, before anything reaches the application.
 */
import type { Connection } from "../../../../src/index.ts";
import { encoder, equal, helloWith, ok, type Scenario, typed, u32, until } from "../../kit.ts";
import { hostile, toldCode } from "./kit.ts";

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be replayed. */
export function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A HELLO frame whose fields are exactly `fields` (magic and versions included). */
function helloFields(fields: number[] | Uint8Array): Uint8Array {
  return typed(0x01, fields);
}

const GARBAGE: [string, Uint8Array, string][] = [
  ["an HTTP request", encoder.encode("GET / HTTP/1.1\r\nHost: example\r\n\r\n"), "FW_FRAME_TOO_LARGE"],
  ["a TLS ClientHello", Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, ...noise(64, 7)]), "FW_FRAME_TOO_LARGE"],
  ["an SSH banner", encoder.encode("SSH-2.0-OpenSSH_9.6\r\n"), "FW_FRAME_TOO_LARGE"],
  ["4 KiB of noise behind a small length", Uint8Array.from([...u32(200), 0x55, ...noise(4096, 11)]), "FW_PROTOCOL_ERROR"],
  ["zero bytes", new Uint8Array(64), "FW_MALFORMED_FRAME"],
  ["DATA before HELLO", typed(0x00, [1, 2, 3]), "FW_PROTOCOL_ERROR"],
  ["PING before HELLO", typed(0x04, new Uint8Array(8)), "FW_PROTOCOL_ERROR"],
  ["GOAWAY before HELLO", typed(0x07, encoder.encode('{"code":"FW_NORMAL","reason":""}')), "FW_PROTOCOL_ERROR"],
  ["WELCOME before HELLO", typed(0x02, [1, ...encoder.encode("{}")]), "FW_PROTOCOL_ERROR"],
];

const BAD_HELLOS: [string, Uint8Array, string][] = [
  ["magic FX", helloFields([0x46, 0x58, 1, 1, ...encoder.encode("{}")]), "FW_PROTOCOL_ERROR"],
  ["lower-case magic", helloFields([0x66, 0x77, 1, 1, ...encoder.encode("{}")]), "FW_PROTOCOL_ERROR"],
  ["no magic, JSON only", helloFields(encoder.encode('{"tags":{}}')), "FW_PROTOCOL_ERROR"],
  ["3 bytes of fields", helloFields([0x46, 0x57, 1]), "FW_PROTOCOL_ERROR"],
  ["no fields at all", helloFields([]), "FW_PROTOCOL_ERROR"],
  ["versions 2-2", helloFields([0x46, 0x57, 2, 2, ...encoder.encode("{}")]), "FW_VERSION_MISMATCH"],
  ["versions 0-0", helloFields([0x46, 0x57, 0, 0, ...encoder.encode("{}")]), "FW_VERSION_MISMATCH"],
  ["versions 1-0 (max below min)", helloFields([0x46, 0x57, 1, 0, ...encoder.encode("{}")]), "FW_VERSION_MISMATCH"],
  ["versions 255-255", helloFields([0x46, 0x57, 255, 255, ...encoder.encode("{}")]), "FW_VERSION_MISMATCH"],
  ["magic and versions, no JSON", helloFields([0x46, 0x57, 1, 1]), "FW_PROTOCOL_ERROR"],
  ["JSON cut short", helloWith('{"tags":{"a":"b"'), "FW_PROTOCOL_ERROR"],
  ["a JSON array", helloWith("[]"), "FW_PROTOCOL_ERROR"],
  ["JSON null", helloWith("null"), "FW_PROTOCOL_ERROR"],
  ["a JSON string", helloWith('"hello"'), "FW_PROTOCOL_ERROR"],
  ["invalid UTF-8", helloFields([0x46, 0x57, 1, 1, 0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), "FW_PROTOCOL_ERROR"],
  ["an overlong UTF-8 quote", helloFields([0x46, 0x57, 1, 1, 0x7b, 0xc0, 0xa2, 0x7d]), "FW_PROTOCOL_ERROR"],
  ["tags an array", helloWith('{"tags":["a"]}'), "FW_PROTOCOL_ERROR"],
  ["tags a string", helloWith('{"tags":"a=b"}'), "FW_PROTOCOL_ERROR"],
  ["tags null", helloWith('{"tags":null}'), "FW_PROTOCOL_ERROR"],
  ["a nested tag value", helloWith('{"tags":{"a":{"b":"c"}}}'), "FW_PROTOCOL_ERROR"],
  ["a __proto__ tag holding an object", helloWith('{"tags":{"__proto__":{"polluted":"yes"}}}'), "FW_PROTOCOL_ERROR"],
  ["a duplicate key whose last value is bad", helloWith('{"tags":{},"tags":{"a":1}}'), "FW_PROTOCOL_ERROR"],
  ["app null", helloWith('{"app":null}'), "FW_PROTOCOL_ERROR"],
  ["maxFrameSize a string", helloWith('{"maxFrameSize":"16777216"}'), "FW_PROTOCOL_ERROR"],
  ["maxFrameSize 1e400 (Infinity)", helloWith('{"maxFrameSize":1e400}'), "FW_PROTOCOL_ERROR"],
  ["maxFrameSize -1", helloWith('{"maxFrameSize":-1}'), "FW_PROTOCOL_ERROR"],
  ["maxFrameSize 65536.5", helloWith('{"maxFrameSize":65536.5}'), "FW_PROTOCOL_ERROR"],
  ["resume a number", helloWith('{"resume":5}'), "FW_PROTOCOL_ERROR"],
  ["60,000 levels of nested arrays", helloWith(`${"[".repeat(60_000)}${"]".repeat(60)}`), "FW_PROTOCOL_ERROR"],
  ["a tag nested 30,000 levels deep", helloWith(`{"tags":{"a":${"[".repeat(30_000)}`), "FW_PROTOCOL_ERROR"],
  ["tags over 64 KiB", helloWith(JSON.stringify({ tags: Object.fromEntries(Array.from({ length: 700 }, (_, i) => [`tag${i}`, "v".repeat(100)])) })), "FW_FRAME_TOO_LARGE"],
];

export const handshakeAttacks: Scenario[] = [
  hostile("garbage before HELLO (other protocols' greetings, noise, frames not allowed yet) is refused with REJECT and a code", {
    async attack(arena) {
      for (const [what, bytes, code] of GARBAGE) {
        const peer = await arena.raw();
        peer.write(bytes);
        equal(await toldCode(peer, 0x03, what), code, `REJECT code for ${what}`);
        await arena.offenderClosed(code, what);
        equal(peer.frames().length, 1, `${what}: REJECT is the only frame sent`);
      }
    },
  }),
  hostile("HELLOs with a bad magic, impossible version ranges, malformed, nested or oversized JSON and tags are refused with a code", {
    async attack(arena) {
      for (const [what, bytes, code] of BAD_HELLOS) {
        const peer = await arena.raw();
        peer.write(bytes);
        equal(await toldCode(peer, 0x03, what), code, `REJECT code for a HELLO with ${what}`);
        await arena.offenderClosed(code, `a HELLO with ${what}`);
      }
      equal(arena.offenders.length, 0, "no offender reached the application");
    },
  }),
  hostile("odd but valid HELLOs are accepted without harm: versions 0-255, a __proto__ tag, thousands of tags within 64 KiB", {
    async attack(arena) {
      const wide = await arena.raw();
      wide.write(typed(0x01, [0x46, 0x57, 0, 255, ...encoder.encode("{}")]));
      await until(() => wide.frames().length >= 1, 5000, "an answer to versions 0-255");
      deepWelcome(wide.frames()[0] as Uint8Array, "versions 0-255");

      const proto = await arena.raw();
      proto.write(helloWith('{"tags":{"__proto__":"x","constructor":"y"}}'));
      await until(() => arena.offenders.length === 2, 5000, "the __proto__ peer's connection");
      const tags = (arena.offenders[1] as Connection<unknown>).peerTags;
      equal(Object.getPrototypeOf(tags), Object.prototype, "peerTags keeps the plain prototype");
      equal(Object.getOwnPropertyDescriptor(tags, "__proto__")?.value, "x", "__proto__ is an own tag like any other");
      equal(({} as Record<string, unknown>).x, undefined, "nothing was polluted");

      // Many small tags within the 64 KiB allowance: refusing them is the limits' business; what
      // must hold today is an answer, quickly, with the bystander served meanwhile.
      const many = await arena.raw();
      const t0 = performance.now();
      many.write(helloWith(JSON.stringify({ tags: Object.fromEntries(Array.from({ length: 6000 }, (_, i) => [`t${i}`, "v"])) })));
      await until(() => many.frames().length >= 1, 5000, "an answer to 6,000 tags");
      const answer = (many.frames()[0] as Uint8Array)[0];
      ok(answer === 0x02 || answer === 0x03, `6,000 tags: answered with frame type ${answer}`);
      ok(performance.now() - t0 < 1000, `6,000 tags answered in ${Math.round(performance.now() - t0)} ms`);
    },
  }),
];

function deepWelcome(frame: Uint8Array, what: string): void {
  equal(frame[0], 0x02, `${what}: WELCOME`);
  equal(frame[1], 1, `${what}: version 1 chosen`);
}
