/**
 * Application code that fails while peers drive it: `message` and `connection` listeners that
 * throw or reject, `verifyHandshake` that throws, rejects, answers nonsense or never answers. Each
 * closes only its own connection, with `FW_HANDLER_ERROR` (or the handshake timeout), and tells
 * the peer nothing of the error's text. ../handlers.ts runs the same failures against a server in
 * a child process (the process survives, counted errors); this adds the bystander and memory.
 */
import { decoder, encoder, equal, helloWith, ok, type Scenario, typed } from "../../kit.ts";
import type { HandshakeInfo, HandshakeVerdict } from "../../../../src/index.ts";
import { type BatteryCodec, hostile, toldCode } from "./kit.ts";

const SECRET = "postgres://admin:hunter2@db.internal/users";

/** What each message makes the server's listener do (text codec: the message; buffer: its bytes as text). */
function failOn(message: string): unknown {
  switch (message) {
    case "throw":
      throw new Error(SECRET);
    case "throw-odd":
      throw Object.create(null);
    case "reject":
      return Promise.resolve().then(() => {
        throw new Error(SECRET);
      });
    case "reject-odd":
      return Promise.reject({ toString: () => { throw new Error(SECRET); } });
    default:
      return undefined;
  }
}

function verify(info: HandshakeInfo): HandshakeVerdict | Promise<HandshakeVerdict> {
  switch (info.tags.fail) {
    case "throw":
      throw new Error(SECRET);
    case "reject":
      return Promise.reject(new Error(SECRET));
    case "bad-code":
      return { code: `BAD\n${SECRET}` as "BAD" };
    case "nonsense":
      return 42 as unknown as HandshakeVerdict;
    case "never":
      return new Promise<HandshakeVerdict>(() => {});
    default:
      return true;
  }
}

function listenerAttack(codec: Extract<BatteryCodec, "buffer" | "text">): Scenario {
  return hostile(`message listeners that throw or reject (${codec === "buffer" ? "the one-listener hot path" : "the decoding path"}) close only their connection with FW_HANDLER_ERROR`, {
    codec,
    onMessage(message, conn) {
      const result = failOn(typeof message === "string" ? message : decoder.decode(message as Uint8Array));
      if (result === undefined) conn.send(message);
      return result;
    },
    async attack(arena) {
      for (const what of ["throw", "throw-odd", "reject", "reject-odd"]) {
        const peer = await arena.handshaken();
        peer.write(Uint8Array.from([...typed(0x00, encoder.encode("fine")), ...typed(0x00, encoder.encode(what))]));
        equal(await toldCode(peer, 0x07, what), "FW_HANDLER_ERROR", `GOAWAY code after a listener's ${what}`);
        ok(!decoder.decode(peer.bytes()).includes("hunter2"), `${what}: the error's text did not reach the peer`);
        equal(decoder.decode(peer.frames()[1]?.subarray(1)), "fine", `${what}: the message before it was answered`);
        await arena.offenderClosed("FW_HANDLER_ERROR", `a listener's ${what}`);
      }
    },
  });
}

export const handlerAttacks: Scenario[] = [
  listenerAttack("buffer"),
  listenerAttack("text"),
  hostile("connection listeners that throw or reject close that connection with FW_HANDLER_ERROR", {
    onConnection(conn) {
      const fail = conn.peerTags.fail;
      if (fail === "throw") throw new Error(SECRET);
      if (fail === "reject") return Promise.reject(new Error(SECRET));
      return undefined;
    },
    async attack(arena) {
      for (const fail of ["throw", "reject"]) {
        const peer = await arena.raw();
        peer.write(helloWith(JSON.stringify({ tags: { fail } })));
        equal(await toldCode(peer, 0x07, `connection listener ${fail}`), "FW_HANDLER_ERROR", `GOAWAY after a connection listener's ${fail}`);
        await arena.offenderClosed("FW_HANDLER_ERROR", `a connection listener's ${fail}`);
      }
    },
  }),
  hostile("verifyHandshake that throws, rejects or answers nonsense: REJECT FW_HANDLER_ERROR; one that never answers: FW_HANDSHAKE_TIMEOUT", {
    listen: { verifyHandshake: verify, handshakeTimeoutMs: 500 },
    async attack(arena) {
      for (const fail of ["throw", "reject", "bad-code", "nonsense", "never"]) {
        const peer = await arena.raw();
        peer.write(helloWith(JSON.stringify({ tags: { fail } })));
        const code = fail === "never" ? "FW_HANDSHAKE_TIMEOUT" : "FW_HANDLER_ERROR";
        equal(await toldCode(peer, 0x03, `verifyHandshake ${fail}`), code, `REJECT code when verifyHandshake ${fail}`);
        ok(!decoder.decode(peer.bytes()).includes("hunter2"), `verifyHandshake ${fail}: the error's text did not reach the peer`);
        await arena.offenderClosed(code, `verifyHandshake ${fail}`);
      }
      equal(arena.offenders.length, 0, "no refused peer reached the application");
    },
  }),
];
