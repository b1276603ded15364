/**
 * The authenticated handshake on real sockets (docs/protocol.md §14): HMAC and Ed25519 accepted
 * and refused with typed errors, a captured HELLO replayed or sent stale, mutual authentication,
 * and a well-behaved client served throughout. HELLOs are captured from the real client by a raw
 * framewire listener that records what it receives and never answers.
 */
import {
  type Client,
  type Connection,
  ed25519Auth,
  ed25519ServerAuth,
  type FramewireError,
  type HandshakeInfo,
  hmacAuth,
  hmacServerAuth,
  type Server,
  type ServerAuthOptions,
  type Transport,
} from "../../../src/index.ts";
import { concat, deepEqual, echoThree, equal, HOST, jsonFields, ok, RawPeer, rejectsWith, type Scenario, sleep, until, within, withServer } from "../kit.ts";

const SECRET = "5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2";
const OTHER_SECRET = "0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5e0be5";
/** RFC 8032 test 1 and test 2 key pairs (seed, public key). */
const ED_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const ED_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const ED2_SEED = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const ED2_PUBLIC = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

type AuthFailure = FramewireError & { reasonCode?: string; reason?: string };

/** An echo server with HMAC key "app" and Ed25519 key "agent" (and its own Ed25519 key for mutual auth). */
async function authServer(transport: Transport, auth: Partial<ServerAuthOptions> = {}, seen: HandshakeInfo[] = []): Promise<Server<Uint8Array>> {
  const server = await transport.listen({
    host: HOST,
    port: 0,
    auth: {
      authenticators: [hmacServerAuth({ keys: { app: SECRET } }), ed25519ServerAuth({ keys: { agent: ED_PUBLIC }, privateKey: ED2_SEED })],
      ...auth,
    },
    verifyHandshake: (info) => {
      seen.push(info);
      return true;
    },
  });
  server.on("connection", (c) => c.on("message", (m) => c.send(m)));
  return server;
}

/** Connects the well-behaved client that must be served throughout. */
function goodClient(transport: Transport, port: number): Promise<Client<Uint8Array>> {
  return transport.connect({ host: HOST, port, auth: hmacAuth({ id: "app", secret: SECRET }) });
}

/**
 * The HELLO a real client sends with `auth`, captured by a raw listener that never answers (so
 * the real server never sees it). The capturing side is then cut; the client's attempt fails.
 */
async function captureHello(transport: Transport, auth: ReturnType<typeof hmacAuth>): Promise<Uint8Array> {
  const capture = await transport.listen({ host: HOST, port: 0, protocol: "raw", framing: { type: "none" } });
  const chunks: Uint8Array[] = [];
  const sides: Connection<Uint8Array>[] = [];
  capture.on("connection", (c) => {
    sides.push(c);
    c.on("message", (m) => chunks.push(m.slice()));
  });
  const bytes = (): Uint8Array => concat(chunks);
  const complete = (): boolean => {
    const all = bytes();
    return all.length >= 4 && all.length >= 4 + new DataView(all.buffer).getUint32(0);
  };
  try {
    const attempt = transport.connect({ host: HOST, port: capture.port, auth, handshakeTimeoutMs: 5000 });
    attempt.catch(() => {});
    await until(complete, 5000, "the client's HELLO reached the capturing listener");
    for (const side of sides) side.destroy();
    await rejectsWith(within(attempt, 5000, "the captured client's attempt ends"), "the captured client gets no WELCOME");
  } finally {
    await capture.close(200);
  }
  const all = bytes();
  equal(all[4], 0x01, "the captured frame is a HELLO");
  return all;
}

/** Sends `hello` from a raw peer; returns the answer's type and code (WELCOME: no code). */
async function answerTo(transport: Transport, port: number, hello: Uint8Array): Promise<{ type: number; code: unknown }> {
  const peer = await RawPeer.connect(transport, port);
  try {
    peer.write(hello);
    await until(() => peer.frames().length >= 1, 5000, "an answer to the raw HELLO");
    const answer = jsonFields(peer.frames()[0] as Uint8Array);
    return { type: answer.type, code: answer.fields.code };
  } finally {
    await peer.client.close();
  }
}

export const authScenarios: Scenario[] = [
  {
    name: "auth: HMAC accepted (identity in verifyHandshake and on the connection); a wrong secret or unknown id is FW_AUTH_FAILED at the client, the same text for both, while a good client is served",
    timeoutMs: 20_000,
    async run({ transport }) {
      const seen: HandshakeInfo[] = [];
      const server = await authServer(transport, {}, seen);
      await withServer(server, async () => {
        const identities: unknown[] = [];
        const rejects: FramewireError[] = [];
        server.on("connection", (c) => identities.push(c.identity));
        server.on("reject", (error) => rejects.push(error));
        const good = await goodClient(transport, server.port);
        deepEqual(seen.map((i) => i.identity), [{ scheme: "hmac-sha256", id: "app" }], "verifyHandshake saw the identity");
        await until(() => identities.length === 1, 2000, "connection event");
        deepEqual(identities, [{ scheme: "hmac-sha256", id: "app" }], "connection.identity");
        await echoThree(good, "before the bad clients");

        const wrong = (await rejectsWith(transport.connect({ host: HOST, port: server.port, auth: hmacAuth({ id: "app", secret: OTHER_SECRET }) }), "wrong secret")) as AuthFailure;
        const unknown = (await rejectsWith(transport.connect({ host: HOST, port: server.port, auth: hmacAuth({ id: "nobody", secret: SECRET }) }), "unknown id")) as AuthFailure;
        for (const [what, e] of [["wrong secret", wrong], ["unknown id", unknown]] as const) {
          deepEqual([e.name, e.code, e.reasonCode], ["AuthRejectedError", "FW_AUTH_FAILED", "FW_AUTH_FAILED"], `${what}: typed error`);
        }
        equal(wrong.reason, unknown.reason, "a stranger is not told which of the two happened");
        equal(seen.length, 1, "verifyHandshake never saw the refused clients");
        await until(() => rejects.length === 2, 2000, "two reject events");
        ok(rejects.every((e) => e.code === "FW_AUTH_FAILED" && e.message.includes("bad proof or unknown key id")), `the server keeps the detail: ${rejects.map((e) => e.message).join(" | ")}`);
        await echoThree(good, "after the bad clients");
        equal(good.state, "open", "the good client's state");
        await good.close();
      });
    },
  },
  {
    name: "auth: Ed25519 accepted with the client's key, refused (FW_AUTH_FAILED) with another; a client without auth against a server that requires it is FW_AUTH_FAILED",
    timeoutMs: 20_000,
    async run({ transport }) {
      const seen: HandshakeInfo[] = [];
      const server = await authServer(transport, {}, seen);
      await withServer(server, async () => {
        const client = await transport.connect({ host: HOST, port: server.port, auth: ed25519Auth({ id: "agent", privateKey: ED_SEED }) });
        deepEqual(seen.map((i) => i.identity), [{ scheme: "ed25519", id: "agent" }], "identity");
        await echoThree(client, "ed25519 client");
        await client.close();
        const impostor = (await rejectsWith(transport.connect({ host: HOST, port: server.port, auth: ed25519Auth({ id: "agent", privateKey: ED2_SEED }) }), "another key")) as AuthFailure;
        deepEqual([impostor.name, impostor.code], ["AuthRejectedError", "FW_AUTH_FAILED"], "Ed25519 with another key");
        const anonymous = (await rejectsWith(transport.connect({ host: HOST, port: server.port }), "no auth")) as AuthFailure;
        deepEqual([anonymous.name, anonymous.code, anonymous.reasonCode], ["AuthRejectedError", "FW_AUTH_FAILED", "FW_AUTH_FAILED"], "no auth");
        equal(seen.length, 1, "verifyHandshake saw only the authenticated client");
      });
      // required: false admits a client without auth, with no identity.
      const open = await authServer(transport, { required: false }, seen);
      await withServer(open, async () => {
        const anonymous = await transport.connect({ host: HOST, port: open.port });
        equal(seen.at(-1)?.identity, undefined, "an unauthenticated client has no identity");
        await anonymous.close();
      });
    },
  },
  {
    name: "auth: a captured authenticated HELLO replayed on a new raw connection is REJECT FW_AUTH_REPLAY; a good client is served throughout",
    timeoutMs: 25_000,
    async run({ transport }) {
      const server = await authServer(transport);
      await withServer(server, async () => {
        const rejects: FramewireError[] = [];
        server.on("reject", (error) => rejects.push(error));
        const good = await goodClient(transport, server.port);
        const hello = await captureHello(transport, hmacAuth({ id: "app", secret: SECRET }));
        // The first delivery is the genuine one: accepted.
        deepEqual(await answerTo(transport, server.port, hello), { type: 0x02, code: undefined }, "the captured HELLO, first time");
        await echoThree(good, "between the deliveries");
        for (let i = 0; i < 3; i++) {
          deepEqual(await answerTo(transport, server.port, hello), { type: 0x03, code: "FW_AUTH_REPLAY" }, `replay ${i + 1}`);
        }
        await until(() => rejects.length === 3, 2000, "three reject events");
        ok(rejects.every((e) => e.code === "FW_AUTH_REPLAY" && e.message.includes("seen before")), `replays: ${rejects.map((e) => e.message).join(" | ")}`);
        await echoThree(good, "after the replays");
        await good.close();
      });
    },
  },
  {
    name: "auth: a HELLO whose timestamp left the window is REJECT FW_AUTH_REPLAY even though its nonce was never seen",
    timeoutMs: 20_000,
    async run({ transport }) {
      const server = await authServer(transport, { maxClockSkewMs: 1000 });
      await withServer(server, async () => {
        const rejects: FramewireError[] = [];
        server.on("reject", (error) => rejects.push(error));
        const fresh = await captureHello(transport, hmacAuth({ id: "app", secret: SECRET }));
        const stale = await captureHello(transport, hmacAuth({ id: "app", secret: SECRET }));
        // Within the window a captured HELLO the server never saw is accepted: the test can tell.
        deepEqual(await answerTo(transport, server.port, fresh), { type: 0x02, code: undefined }, "inside the window");
        await sleep(1500);
        deepEqual(await answerTo(transport, server.port, stale), { type: 0x03, code: "FW_AUTH_REPLAY" }, "1.5 s later, with a 1 s window");
        await until(() => rejects.length === 1, 2000, "reject event");
        ok((rejects[0] as FramewireError).message.includes("timestamp"), `refused for its timestamp: ${(rejects[0] as FramewireError).message}`);
        const good = await goodClient(transport, server.port);
        await echoThree(good, "a fresh client after the stale HELLO");
        await good.close();
      });
    },
  },
  {
    name: "auth: mutual authentication (HMAC, Ed25519) succeeds; a server with the wrong key, or without auth, is refused by the client with FW_AUTH_SERVER_UNVERIFIED",
    timeoutMs: 25_000,
    async run({ transport }) {
      const server = await authServer(transport);
      await withServer(server, async () => {
        const hmac = await transport.connect({ host: HOST, port: server.port, auth: hmacAuth({ id: "app", secret: SECRET }), requireServerProof: true });
        await echoThree(hmac, "mutual HMAC");
        await hmac.close();
        const ed = await transport.connect({ host: HOST, port: server.port, auth: ed25519Auth({ id: "agent", privateKey: ED_SEED, serverPublicKey: ED2_PUBLIC }), requireServerProof: true });
        await echoThree(ed, "mutual Ed25519");
        await ed.close();
      });
      // An impostor: it accepts the client's key (it has its public key) but signs with another private key.
      const impostor = await transport.listen({ host: HOST, port: 0, auth: { authenticators: [ed25519ServerAuth({ keys: { agent: ED_PUBLIC }, privateKey: ED_SEED })] } });
      const plain = await transport.listen({ host: HOST, port: 0 });
      const opened: string[] = [];
      for (const s of [impostor, plain]) s.on("connection", () => opened.push("x"));
      await withServer(impostor, () =>
        withServer(plain, async () => {
          for (const [what, port] of [["impostor", impostor.port], ["server without auth", plain.port]] as const) {
            const e = (await rejectsWith(
              transport.connect({ host: HOST, port, auth: ed25519Auth({ id: "agent", privateKey: ED_SEED, serverPublicKey: ED2_PUBLIC }), requireServerProof: true }),
              what,
            )) as AuthFailure;
            deepEqual([e.name, e.code], ["AuthError", "FW_AUTH_SERVER_UNVERIFIED"], what);
          }
          // Without requireServerProof the same client connects to the impostor: the check is what refused it.
          const trusting = await transport.connect({ host: HOST, port: impostor.port, auth: ed25519Auth({ id: "agent", privateKey: ED_SEED }) });
          await trusting.close();
        }),
      );
    },
  },
  {
    name: "auth: invalid auth options fail listen and connect with FW_INVALID_OPTION before any socket",
    timeoutMs: 10_000,
    async run({ transport }) {
      const hmac = hmacServerAuth({ keys: { app: SECRET } });
      const listens: [string, () => Promise<unknown>][] = [
        ["no authenticators", () => transport.listen({ host: HOST, port: 0, auth: { authenticators: [] } })],
        ["skew of 10 ms", () => transport.listen({ host: HOST, port: 0, auth: { authenticators: [hmac], maxClockSkewMs: 10 } })],
        ["unknown auth key", () => transport.listen({ host: HOST, port: 0, auth: { authenticators: [hmac], cache: 3 } as unknown as ServerAuthOptions })],
        ["raw mode", () => transport.listen({ host: HOST, port: 0, protocol: "raw", auth: { authenticators: [hmac] } })],
        ["short secret", async () => hmacServerAuth({ keys: { app: "abcd" } })],
        ["Ed25519 key of the wrong size", async () => ed25519ServerAuth({ keys: { a: "00".repeat(33) } })],
      ];
      const connects: [string, () => Promise<unknown>][] = [
        ["requireServerProof without auth", () => transport.connect({ host: HOST, port: 9, requireServerProof: true })],
        ["requireServerProof, no serverPublicKey", () => transport.connect({ host: HOST, port: 9, auth: ed25519Auth({ id: "a", privateKey: ED_SEED }), requireServerProof: true })],
        ["auth that is not an authenticator", () => transport.connect({ host: HOST, port: 9, auth: { scheme: "x", id: "a" } as unknown as ReturnType<typeof hmacAuth> })],
        ["id with a newline", async () => hmacAuth({ id: "a\nFAKE", secret: SECRET })],
      ];
      for (const [what, make] of [...listens, ...connects]) {
        const e = await rejectsWith(make(), what);
        equal(e.code, "FW_INVALID_OPTION", `${what}: ${e.message}`);
      }
    },
  },
];
