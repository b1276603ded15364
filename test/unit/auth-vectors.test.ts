/**
 * docs/protocol.md §14 ⇄ src/auth/: the authenticated handshake's examples, rebuilt from their
 * fixed keys, nonces and clock, must be byte for byte what the doc shows, and must verify; the
 * server's checks (order, window, replay cache) and the key formats, with a clock of our own.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import type { ServerAuthenticator } from "../../src/auth/authenticator.ts";
import { checkWelcome, type ResolvedClientAuth, signHello } from "../../src/auth/client-auth.ts";
import { ed25519Auth, ed25519ServerAuth } from "../../src/auth/ed25519.ts";
import { hmacAuth, hmacServerAuth } from "../../src/auth/hmac.ts";
import { resolveClientAuth, resolveServerAuth } from "../../src/auth/options.ts";
import { ReplayCache } from "../../src/auth/replay-cache.ts";
import { type AuthOutcome, type AuthPassed, ServerAuthGate } from "../../src/auth/server-gate.ts";
import { helloTranscript, signedPrefix } from "../../src/auth/transcript.ts";
import { ErrorCode } from "../../src/codes.ts";
import type { FramewireError } from "../../src/errors.ts";
import { decodeHello, decodeWelcome, encodeHello, encodeWelcome, type Hello, type Welcome } from "../../src/protocol/wire.ts";

const DOC = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");

function vectors(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const m of DOC.matchAll(/<!-- vector: (auth-[a-z0-9-]+) -->\r?\n```hex\r?\n([\s\S]*?)```/g)) {
    const bytes: number[] = [];
    for (const line of (m[2] as string).split("\n")) {
      for (const token of (line.split("#")[0] as string).trim().split(/\s+/)) if (token !== "") bytes.push(Number.parseInt(token, 16));
    }
    out.set(m[1] as string, Uint8Array.from(bytes));
  }
  return out;
}
const VECTORS = vectors();
const vector = (name: string): Uint8Array => {
  const bytes = VECTORS.get(name);
  if (bytes === undefined) throw new Error(`vector ${name} missing from docs/protocol.md`);
  return bytes;
};
/** A frame's fields (after the u32 length and the type byte), checking both. */
const fieldsOf = (frame: Uint8Array, type: number): Uint8Array => {
  const length = new DataView(frame.buffer, frame.byteOffset).getUint32(0);
  expect(length).toBe(frame.length - 4);
  expect(frame[4]).toBe(type);
  return frame.subarray(5);
};

const SECRET = Uint8Array.from({ length: 32 }, (_, i) => i);
const NONCE = "000102030405060708090a0b0c0d0e0f";
const TS = 1764662400000;
const RFC8032_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const BASE: Hello = { minVersion: 1, maxVersion: 1, tags: {}, maxFrameSize: 16777216 };
const WELCOME: Welcome = { version: 1, session: "abc", maxFrameSize: 16777216, heartbeatMs: 15000 };
const hex = (s: string) => Uint8Array.from((s.match(/../g) ?? []).map((h) => Number.parseInt(h, 16)));

function gate(authenticators: ServerAuthenticator[], clock: { now: number }, options: { required?: boolean; maxClockSkewMs?: number; replayCacheSize?: number } = {}): ServerAuthGate {
  const resolved = resolveServerAuth({ authenticators, ...options }, "framewire");
  if (resolved === undefined) throw new Error("no auth");
  return new ServerAuthGate(resolved, () => clock.now);
}
const hmacClient = (mutual: boolean, secret: Uint8Array | string = SECRET): ResolvedClientAuth => ({ authenticator: hmacAuth({ id: "sensor-7", secret }), requireServerProof: mutual });
const hello = (auth: ResolvedClientAuth, ts = TS, nonce = NONCE): Promise<Uint8Array> => signHello(auth, (a) => encodeHello({ ...BASE, auth: a }), ts, nonce);
const check = (g: ServerAuthGate, fields: Uint8Array): Promise<AuthOutcome> => g.check(decodeHello(fields).auth, fields);
const codeOf = (outcome: AuthOutcome): string => ("code" in outcome ? outcome.code : "passed");

describe("docs/protocol.md §14 examples", () => {
  test("every auth- vector is checked here", () => {
    expect([...VECTORS.keys()].sort()).toEqual(["auth-ed25519-hello", "auth-hmac-hello", "auth-hmac-hello-transcript", "auth-hmac-welcome"]);
  });

  test("auth-hmac-hello and its transcript: what the client sends and MACs", async () => {
    const fields = await hello(hmacClient(true));
    expect(fieldsOf(vector("auth-hmac-hello"), 0x01)).toEqual(fields);
    const decoded = decodeHello(fields);
    expect(decoded.auth).toStrictEqual({ scheme: "hmac-sha256", id: "sensor-7", nonce: NONCE, ts: TS, mutual: true, proof: "00e8da23bdea370751b894c814d7bf456a55b25855955a859c2632515988376b" });
    const emptyProof = encodeHello({ ...BASE, auth: { ...(decoded.auth as NonNullable<Hello["auth"]>), proof: "" } });
    const transcript = helloTranscript(signedPrefix(emptyProof));
    expect(transcript).toEqual(vector("auth-hmac-hello-transcript"));
    // The proof is HMAC-SHA256(secret, transcript), computed here by the runtime's own crypto, not ours.
    const key = await webcrypto.subtle.importKey("raw", SECRET, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = Buffer.from(await webcrypto.subtle.sign("HMAC", key, transcript)).toString("hex");
    expect(mac).toBe(decoded.auth?.proof as string);
  });

  test("auth-hmac-welcome: the server's proof over HELLO and WELCOME, accepted by the client", async () => {
    const helloFields = fieldsOf(vector("auth-hmac-hello"), 0x01);
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], { now: TS });
    const passed = await check(g, helloFields);
    expect(passed).toStrictEqual({ identity: { scheme: "hmac-sha256", id: "sensor-7" }, prover: expect.any(Function) });
    const welcome = await ServerAuthGate.welcome(passed as AuthPassed, helloFields, WELCOME, encodeWelcome);
    const documented = fieldsOf(vector("auth-hmac-welcome"), 0x02);
    expect(welcome).toEqual(documented);
    expect(await checkWelcome(hmacClient(true), helloFields, documented, decodeWelcome(documented))).toBeUndefined();
  });

  test("auth-ed25519-hello: RFC 8032 test 1 key; verified by the server with the public key", async () => {
    const client = { authenticator: ed25519Auth({ id: "agent-1", privateKey: RFC8032_SEED }), requireServerProof: false };
    const fields = await signHello(client, (a) => encodeHello({ ...BASE, auth: a }), TS, "f0e1d2c3b4a5968778695a4b3c2d1e0f");
    expect(fieldsOf(vector("auth-ed25519-hello"), 0x01)).toEqual(fields);
    const g = gate([ed25519ServerAuth({ keys: { "agent-1": RFC8032_PUBLIC } })], { now: TS });
    expect(await check(g, fields)).toStrictEqual({ identity: { scheme: "ed25519", id: "agent-1" } });
    // The runtime's own Ed25519 agrees (independently of the wrapping in src/auth/ed25519.ts).
    const publicKey = await webcrypto.subtle.importKey("raw", hex(RFC8032_PUBLIC), { name: "Ed25519" }, false, ["verify"]);
    const proof = hex(decodeHello(fields).auth?.proof as string);
    const transcript = helloTranscript(fields.subarray(0, fields.length - (proof.length * 2 + 4)));
    expect(await webcrypto.subtle.verify({ name: "Ed25519" }, publicKey, proof, transcript)).toBe(true);
  });
});

describe("the server's checks", () => {
  test("a replayed HELLO is refused (FW_AUTH_REPLAY); a fresh nonce from the same key is accepted", async () => {
    const clock = { now: TS };
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], clock);
    const fields = await hello(hmacClient(false));
    expect(codeOf(await check(g, fields))).toBe("passed");
    const replay = await check(g, fields);
    expect(codeOf(replay)).toBe(ErrorCode.AUTH_REPLAY);
    expect((replay as { error: FramewireError }).error.message).toContain("seen before");
    expect(codeOf(await check(g, await hello(hmacClient(false), TS, "ffffffffffffffffffffffffffffffff")))).toBe("passed");
    expect(g.replayCacheEntries).toBe(2);
  });

  test("the clock window: ±maxClockSkewMs inclusive, stale or future beyond it; a nonce is forgotten once its window passed", async () => {
    const clock = { now: TS };
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], clock, { maxClockSkewMs: 1000 });
    const at = async (ts: number, nonce: string) => codeOf(await check(g, await hello(hmacClient(false), ts, nonce)));
    expect(await at(TS - 1000, "00000000000000000000000000000001")).toBe("passed");
    expect(await at(TS + 1000, "00000000000000000000000000000002")).toBe("passed");
    expect(await at(TS - 1001, "00000000000000000000000000000003")).toBe(ErrorCode.AUTH_REPLAY);
    expect(await at(TS + 1001, "00000000000000000000000000000004")).toBe(ErrorCode.AUTH_REPLAY);
    // A stale HELLO never took a slot.
    expect(g.replayCacheEntries).toBe(2);
    const fields = await hello(hmacClient(false), TS, "00000000000000000000000000000005");
    expect(codeOf(await check(g, fields))).toBe("passed");
    clock.now = TS + 1001; // the window of ts = TS has passed: the nonce may go, the timestamp alone refuses it
    expect(codeOf(await check(g, fields))).toBe(ErrorCode.AUTH_REPLAY);
    expect(await at(TS + 1001, "00000000000000000000000000000006")).toBe("passed");
    // Only the entry whose window is still open (ts = TS + 1000) and the new one remain.
    expect(g.replayCacheEntries).toBe(2);
  });

  test("the replay cache is bounded: full of live nonces it refuses (FW_AUTH_BUSY), and takes new ones as old ones expire", async () => {
    const clock = { now: TS };
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], clock, { maxClockSkewMs: 1000, replayCacheSize: 3 });
    const nonce = (i: number) => i.toString(16).padStart(32, "0");
    for (let i = 0; i < 3; i++) expect(codeOf(await check(g, await hello(hmacClient(false), TS + i * 100, nonce(i))))).toBe("passed");
    const busy = await check(g, await hello(hmacClient(false), TS, nonce(3)));
    expect(codeOf(busy)).toBe(ErrorCode.AUTH_BUSY);
    expect(g.replayCacheEntries).toBe(3);
    // A stranger's HELLO never reaches the cache: it fails verification first.
    expect(codeOf(await check(g, await hello(hmacClient(false, "ab".repeat(32)), TS, nonce(4))))).toBe(ErrorCode.AUTH_FAILED);
    clock.now = TS + 1001; // nonce(0)'s window is over (TS + 1000), the others' are not
    expect(codeOf(await check(g, await hello(hmacClient(false), clock.now, nonce(5))))).toBe("passed");
    expect(codeOf(await check(g, await hello(hmacClient(false), clock.now, nonce(6))))).toBe(ErrorCode.AUTH_BUSY);
    expect(g.replayCacheEntries).toBe(3);
  });

  test("ReplayCache alone: expiry order, replay, capacity", () => {
    const cache = new ReplayCache(2);
    expect(cache.add("a", 100, 0)).toBe("fresh");
    expect(cache.add("a", 100, 50)).toBe("replayed");
    expect(cache.add("b", 30, 0)).toBe("fresh");
    expect(cache.add("c", 500, 10)).toBe("full");
    expect(cache.add("c", 500, 31)).toBe("fresh"); // b expired at 30
    expect(cache.add("b", 600, 31)).toBe("full");
    expect(cache.add("b", 600, 101)).toBe("fresh"); // a expired at 100
    expect(cache.size).toBe(2);
  });

  test("unknown id, wrong secret and unknown scheme: the same code and peer text; the detail stays local", async () => {
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], { now: TS });
    const wrongSecret = await check(g, await hello(hmacClient(false, "cd".repeat(32))));
    const unknownId = await check(g, await signHello({ authenticator: hmacAuth({ id: "nobody", secret: SECRET }), requireServerProof: false }, (a) => encodeHello({ ...BASE, auth: a }), TS, NONCE));
    const unknownScheme = await check(g, await signHello({ authenticator: ed25519Auth({ id: "sensor-7", privateKey: RFC8032_SEED }), requireServerProof: false }, (a) => encodeHello({ ...BASE, auth: a }), TS, NONCE));
    for (const outcome of [wrongSecret, unknownId, unknownScheme]) {
      expect(outcome).toMatchObject({ code: ErrorCode.AUTH_FAILED, reason: "authentication failed" });
    }
    expect((unknownScheme as { error: FramewireError }).error.message).toContain("not accepted");
    expect(g.replayCacheEntries).toBe(0);
  });

  test("no auth: refused when required, accepted without identity when not", async () => {
    const fields = encodeHello(BASE);
    expect(await new ServerAuthGate(resolveServerAuth({ authenticators: [hmacServerAuth({ keys: { a: SECRET } })] }, "framewire")!).check(undefined, fields)).toMatchObject({ code: ErrorCode.AUTH_FAILED });
    expect(await gate([hmacServerAuth({ keys: { a: SECRET } })], { now: TS }, { required: false }).check(undefined, fields)).toStrictEqual({ identity: undefined });
  });

  test("a HELLO whose auth is not last (or proof not last in auth) is a protocol error, before any crypto", async () => {
    const fields = await hello(hmacClient(false));
    const json = new TextDecoder().decode(fields.subarray(4));
    const moved = JSON.parse(json) as Record<string, unknown>;
    const reordered = new TextEncoder().encode(JSON.stringify({ auth: moved.auth, tags: moved.tags, maxFrameSize: moved.maxFrameSize }));
    const body = Uint8Array.of(0x46, 0x57, 1, 1, ...reordered);
    let verified = 0;
    const counting: ServerAuthenticator = { scheme: "hmac-sha256", verify: async () => (verified++, true) };
    expect(codeOf(await check(gate([counting], { now: TS }), body))).toBe(ErrorCode.PROTOCOL);
    expect(verified).toBe(0);
    // A changed field breaks the proof: tags added in front.
    const tampered = new TextEncoder().encode(`{"tags":{"role":"admin"},${json.slice(json.indexOf('"maxFrameSize"'))}`);
    const g = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], { now: TS });
    expect(codeOf(await check(g, Uint8Array.of(0x46, 0x57, 1, 1, ...tampered)))).toBe(ErrorCode.AUTH_FAILED);
  });

  test("mutual: a WELCOME from a server with another secret, a missing proof, or a proof from another connection fail FW_AUTH_SERVER_UNVERIFIED", async () => {
    const helloFields = await hello(hmacClient(true));
    const impostor = gate([hmacServerAuth({ keys: { "sensor-7": "ee".repeat(32) } })], { now: TS });
    // The impostor cannot verify the client either, but could answer anyway: its proof must not pass.
    const forged = await ServerAuthGate.welcome({ identity: undefined, prover: (t) => hmacServerAuth({ keys: { "sensor-7": "ee".repeat(32) } }).proveServer!("sensor-7", t) }, helloFields, WELCOME, encodeWelcome);
    expect(codeOf(await check(impostor, helloFields))).toBe(ErrorCode.AUTH_FAILED);
    const verdict = async (fields: Uint8Array, hf = helloFields) => (await checkWelcome(hmacClient(true), hf, fields, decodeWelcome(fields)))?.code ?? "verified";
    expect(await verdict(forged)).toBe(ErrorCode.AUTH_SERVER_UNVERIFIED);
    expect(await verdict(encodeWelcome(WELCOME))).toBe(ErrorCode.AUTH_SERVER_UNVERIFIED);
    const real = gate([hmacServerAuth({ keys: { "sensor-7": SECRET } })], { now: TS });
    const genuine = await ServerAuthGate.welcome((await check(real, helloFields)) as AuthPassed, helloFields, WELCOME, encodeWelcome);
    expect(await verdict(genuine)).toBe("verified");
    // The same WELCOME replayed to a connection whose HELLO had another nonce.
    expect(await verdict(genuine, await hello(hmacClient(true), TS, "ffffffffffffffffffffffffffffffff"))).toBe(ErrorCode.AUTH_SERVER_UNVERIFIED);
  });
});

describe("keys and options", () => {
  test("Ed25519 keys: raw bytes, hex, base64, DER, PEM and CryptoKey give the same signature", async () => {
    const seed = hex(RFC8032_SEED);
    const pkcs8 = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20, ...seed);
    const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString("base64")}\n-----END PRIVATE KEY-----\n`;
    const cryptoKey = await webcrypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"]);
    const forms = [seed, RFC8032_SEED, Buffer.from(seed).toString("base64"), Buffer.from(seed).toString("base64url"), pkcs8, pem, cryptoKey];
    const proofs = await Promise.all(forms.map((privateKey) => ed25519Auth({ id: "a", privateKey }).prove(Uint8Array.of(1, 2, 3))));
    for (const proof of proofs) expect(proof).toEqual(proofs[0] as Uint8Array);
    const spki = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00, ...hex(RFC8032_PUBLIC));
    const publicPem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(spki).toString("base64")}\n-----END PUBLIC KEY-----`;
    for (const key of [RFC8032_PUBLIC, spki, publicPem]) {
      expect(await ed25519ServerAuth({ keys: { a: key } }).verify("a", Uint8Array.of(1, 2, 3), proofs[0] as Uint8Array)).toBe(true);
    }
  });

  test("bad keys and options fail at once with FW_INVALID_OPTION", () => {
    const invalid = (make: () => unknown) => {
      try {
        make();
      } catch (error) {
        return (error as FramewireError).code;
      }
      return "accepted";
    };
    const hmac = hmacServerAuth({ keys: { a: SECRET } });
    const cases: [string, () => unknown][] = [
      ["short HMAC secret", () => hmacAuth({ id: "a", secret: "00".repeat(15) })],
      ["not hex/base64", () => hmacAuth({ id: "a", secret: "not a key!" })],
      ["id with a newline", () => hmacAuth({ id: "a\nb", secret: SECRET })],
      ["empty id", () => hmacAuth({ id: "", secret: SECRET })],
      ["Ed25519 key of 31 bytes", () => ed25519Auth({ id: "a", privateKey: "00".repeat(31) })],
      ["public PEM as a private key", () => ed25519Auth({ id: "a", privateKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----" })],
      ["no keys", () => hmacServerAuth({ keys: {} })],
      ["no authenticators", () => resolveServerAuth({ authenticators: [] }, "framewire")],
      ["a scheme twice", () => resolveServerAuth({ authenticators: [hmac, hmac] }, "framewire")],
      ["skew below 1 s", () => resolveServerAuth({ authenticators: [hmac], maxClockSkewMs: 999 }, "framewire")],
      ["cache of 0", () => resolveServerAuth({ authenticators: [hmac], replayCacheSize: 0 }, "framewire")],
      ["unknown key", () => resolveServerAuth({ authenticators: [hmac], maxSkew: 5 }, "framewire")],
      ["raw mode", () => resolveServerAuth({ authenticators: [hmac] }, "raw")],
      ["bad scheme name", () => resolveServerAuth({ authenticators: [{ scheme: "Bad Scheme", verify: async () => true }] }, "framewire")],
      ["requireServerProof without auth", () => resolveClientAuth(undefined, true, "framewire")],
      ["requireServerProof, no server key", () => resolveClientAuth(ed25519Auth({ id: "a", privateKey: RFC8032_SEED }), true, "framewire")],
      ["client auth without prove", () => resolveClientAuth({ scheme: "x", id: "a" }, false, "framewire")],
    ];
    for (const [what, make] of cases) expect([what, invalid(make)]).toEqual([what, ErrorCode.INVALID_OPTION]);
    expect(invalid(() => resolveClientAuth(ed25519Auth({ id: "a", privateKey: RFC8032_SEED, serverPublicKey: RFC8032_PUBLIC }), true, "framewire"))).toBe("accepted");
  });
});
