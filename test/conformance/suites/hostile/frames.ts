/**
 * Hostile frames on an open connection: oversized length headers, frame types v1 does not have,
 * frames a server never receives, empty frames, a second HELLO.
 */
import { equal, HELLO, type Scenario, typed, u32 } from "../../kit.ts";
import { hostile, toldCode } from "./kit.ts";

const MiB = 1024 * 1024;

export const frameAttacks: Scenario[] = [
  hostile("oversized length headers (before and after the handshake) close with FW_FRAME_TOO_LARGE before any body is buffered", {
    async attack(arena) {
      // After the handshake: one over the default limit, the largest u32, and 1 GiB.
      for (const length of [16 * MiB + 2, 0xffff_ffff, 1024 * MiB]) {
        const peer = await arena.handshaken();
        peer.write(Uint8Array.from([...u32(length), 0x00, 1, 2, 3]));
        equal(await toldCode(peer, 0x07, `length ${length}`), "FW_FRAME_TOO_LARGE", `GOAWAY code for length ${length}`);
        await arena.offenderClosed("FW_FRAME_TOO_LARGE", `length ${length} after the handshake`);
      }
      // Before it, HELLO itself may not exceed 64 KiB of fields.
      const early = await arena.raw();
      early.write(Uint8Array.from([...u32(64 * 1024 + 2), 0x01, 0x46, 0x57, 1, 1]));
      equal(await toldCode(early, 0x03, "a 64 KiB + 1 HELLO"), "FW_FRAME_TOO_LARGE", "REJECT code for an oversized HELLO");
      await arena.offenderClosed("FW_FRAME_TOO_LARGE", "an oversized HELLO");
    },
  }),
  hostile("frame types v1 does not have, frames only a server sends, ACK without a session and empty frames are refused with a code", {
    async attack(arena) {
      const cases: [string, Uint8Array, string][] = [
        ...[0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x7f, 0x80, 0xff].map((type): [string, Uint8Array, string] => [`type 0x${type.toString(16)}`, typed(type, [1, 2, 3]), "FW_PROTOCOL_ERROR"]),
        ["WELCOME from a client", typed(0x02, [1, ...new TextEncoder().encode('{"session":"x","maxFrameSize":65536,"heartbeatMs":0}')]), "FW_PROTOCOL_ERROR"],
        ["REJECT from a client", typed(0x03, new TextEncoder().encode('{"code":"NO","reason":""}')), "FW_PROTOCOL_ERROR"],
        ["ACK without a resumable session", typed(0x06, [0, 0, 0, 0, 0, 0, 0, 1]), "FW_PROTOCOL_ERROR"],
        ["an empty frame (no type byte)", Uint8Array.from(u32(0)), "FW_MALFORMED_FRAME"],
        ["a PING whose fields are 5 KiB", typed(0x04, new Uint8Array(5000)), "FW_PROTOCOL_ERROR"],
      ];
      for (const [what, frame, code] of cases) {
        const peer = await arena.handshaken();
        // A valid DATA frame first: it is echoed, the bad frame after it closes the connection.
        peer.write(Uint8Array.from([...typed(0x00, [42]), ...frame]));
        equal(await toldCode(peer, 0x07, what), code, `GOAWAY code for ${what}`);
        equal(peer.frames()[1]?.[1], 42, `${what}: the DATA frame before it was echoed first`);
        await arena.offenderClosed(code, what);
      }
    },
  }),
  hostile("a second HELLO (after WELCOME, or pipelined behind the first) is a protocol error", {
    async attack(arena) {
      const late = await arena.handshaken();
      late.write(HELLO);
      equal(await toldCode(late, 0x07, "HELLO after WELCOME"), "FW_PROTOCOL_ERROR", "GOAWAY code for a HELLO after WELCOME");
      await arena.offenderClosed("FW_PROTOCOL_ERROR", "HELLO after WELCOME");
      // Two HELLOs in one write: the second is parsed once the connection is open.
      const twice = await arena.raw();
      twice.write(Uint8Array.from([...HELLO, ...HELLO]));
      equal(await toldCode(twice, 0x07, "two pipelined HELLOs"), "FW_PROTOCOL_ERROR", "GOAWAY code for a pipelined second HELLO");
      equal(twice.frames()[0]?.[0], 0x02, "the first HELLO was answered with WELCOME");
      await arena.offenderClosed("FW_PROTOCOL_ERROR", "two pipelined HELLOs");
    },
  }),
];
