/**
 * Decoding untrusted payloads is bounded in time and memory, the same on every runtime: hostile
 * JSON and CBOR fail with FW_CODEC_ERROR at once, and other connections keep being served.
 */
import type { CloseInfo } from "../../../src/index.ts";
import { equal, HELLO, HOST, ok, RawPeer, type Scenario, typed, until, within, withServer } from "../kit.ts";

/** A CBOR byte string header of `length` (major type 2, 4-byte length). */
function cborBytesHeader(length: number): number[] {
  return [0x5a, (length >>> 24) & 0xff, (length >>> 16) & 0xff, (length >>> 8) & 0xff, length & 0xff];
}

function nested(open: number, depth: number, scalar: number): Uint8Array {
  const out = new Uint8Array(depth + 1).fill(open);
  out[depth] = scalar;
  return out;
}

/** [name, codec, payload]: each must close its connection with FW_CODEC_ERROR, quickly. */
const HOSTILE: [string, "json" | "cbor", () => Uint8Array][] = [
  ["a 256 KiB CBOR bignum (cbor-x converts it in quadratic time)", "cbor", () => Uint8Array.from([0xc2, ...cborBytesHeader(256 * 1024), ...new Uint8Array(256 * 1024).fill(0xab)])],
  ["a bignum wrapping a 192 KiB typed array (tag 2 over tag 64: past a byte-string size check)", "cbor", () => Uint8Array.from([0xc2, 0xd8, 0x40, ...cborBytesHeader(192 * 1024), ...new Uint8Array(192 * 1024).fill(0xab)])],
  ["5,000-deep CBOR arrays (a recursive check depends on the stack)", "cbor", () => nested(0x81, 5000, 0x00)],
  ["CBOR tag 27 (a live RegExp from peer input)", "cbor", () => Uint8Array.from([0xd8, 0x1b, 0x82, 0x66, ...new TextEncoder().encode("RegExp"), 0x62, 0x28, 0x61])],
  ["CBOR tag 28 (value sharing)", "cbor", () => Uint8Array.from([0xd8, 0x1c, 0x80])],
  ["4 MiB of nested JSON arrays", "json", () => new TextEncoder().encode("[".repeat(4 * 1024 * 1024))],
  ["JSON with 2 million items", "json", () => new TextEncoder().encode(`[${"0,".repeat(2_000_000)}0]`)],
];

export const decodingScenarios: Scenario[] = [
  {
    name: "hostile JSON and CBOR (huge bignums, deep nesting, millions of items, constructor tags) fail with FW_CODEC_ERROR at once; others are served meanwhile",
    timeoutMs: 60_000,
    async run({ transport }) {
      for (const codec of ["json", "cbor"] as const) {
        const server = await transport.listen({ host: HOST, port: 0, codec });
        await withServer(server, async () => {
          const closes: CloseInfo[] = [];
          server.on("connection", (conn) => {
            conn.on("message", (m) => conn.send(m));
            conn.on("close", (info) => closes.push(info));
          });
          const bystander = await transport.connect({ host: HOST, port: server.port, codec });
          for (const [what, kind, payload] of HOSTILE) {
            if (kind !== codec) continue;
            const peer = await RawPeer.connect(transport, server.port);
            peer.write(HELLO);
            await until(() => peer.frames().length >= 1, 5000, "WELCOME");
            const before = closes.length;
            const t0 = performance.now();
            peer.write(typed(0x00, payload()));
            // The bystander is answered while (or right after) the hostile payload is refused.
            const reply = new Promise<unknown>((resolve) => bystander.once("message", resolve));
            bystander.send({ ping: what });
            const echoed = await within(reply, 3000, `the bystander's echo while ${what} is refused`);
            equal(JSON.stringify(echoed), JSON.stringify({ ping: what }), "bystander echo");
            await until(() => closes.length > before, 3000, `${what}: closed`);
            const elapsed = performance.now() - t0;
            equal(closes[before]?.code, "FW_CODEC_ERROR", `${what}: close code (${closes[before]?.reason})`);
            ok(elapsed < 2000, `${what}: refused after ${Math.round(elapsed)} ms (expected well under 2 s)`);
          }
          // Ordinary messages at the limits still pass: 64 levels of nesting, a 128-byte bignum.
          const deep = JSON.parse(`${"[".repeat(63)}1${"]".repeat(63)}`) as unknown;
          const reply = new Promise<unknown>((resolve) => bystander.once("message", resolve));
          bystander.send(codec === "cbor" ? { big: 2n ** 1000n, deep } : { deep });
          const back = (await within(reply, 5000, "echo at the limits")) as { big?: bigint };
          if (codec === "cbor") equal(back.big, 2n ** 1000n, "a 126-byte bignum round trip");
          equal(bystander.state, "open", "the bystander is still open");
          await bystander.close();
        });
      }
    },
  },
];
