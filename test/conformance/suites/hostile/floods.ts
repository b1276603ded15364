/**
 * Floods from one connection: a million tiny frames, a PING flood from a peer that reads none of
 * the answers. The flooder is served (or closed); the bystander is not slowed beyond the bounds and
 * nothing the flood made the server hold outlives it.
 */
import type { Connection } from "../../../../src/index.ts";
import { equal, ok, type Scenario, until } from "../../kit.ts";
import { hostile } from "./kit.ts";

const FRAMES = 1_000_000;

/** `count` DATA frames of one payload byte each (`i & 0xff`), back to back. */
function tinyFrames(count: number): Uint8Array {
  const out = new Uint8Array(count * 6);
  for (let i = 0, at = 0; i < count; i++, at += 6) {
    out[at + 3] = 2; // length 2: type byte + 1 payload byte
    out[at + 5] = i & 0xff;
  }
  return out;
}

export const floodAttacks: Scenario[] = [
  (() => {
    let received = 0;
    let inOrder = true;
    return hostile(
      "a million one-byte DATA frames in one burst: all delivered in order, the bystander barely notices",
      {
        onMessage(message) {
          const m = message as Uint8Array;
          if (m.length !== 1 || m[0] !== (received & 0xff)) inOrder = false;
          received++;
        },
        bounds: { medianRttMs: 80 },
        async attack(arena) {
          received = 0;
          inOrder = true;
          const peer = await arena.handshaken();
          const t0 = performance.now();
          peer.write(tinyFrames(FRAMES));
          await until(() => received >= FRAMES, 20_000, `${received}/${FRAMES} tiny frames delivered`);
          const seconds = (performance.now() - t0) / 1000;
          equal(received, FRAMES, "frames delivered");
          ok(inOrder, "every frame whole and in order");
          equal((arena.offenders[0] as Connection<unknown>).state, "open", `the flooder is served, not closed (${seconds.toFixed(1)} s for the burst)`);
        },
      },
      40_000,
    );
  })(),
  hostile("a PING flood from a peer that reads none of the PONGs: what the server queues stays bounded, and it keeps parsing", {
    async attack(arena) {
      const peer = await arena.handshaken();
      peer.client.pause(); // never read: PONGs pile up in the kernel, then must not pile up in the server
      const conn = arena.offenders[0] as Connection<unknown>;
      let maxQueued = 0;
      const sampler = setInterval(() => (maxQueued = Math.max(maxQueued, conn.bufferedAmount)), 5);
      const ping = Uint8Array.from([0, 0, 0, 9, 0x04, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
      const burst = new Uint8Array(ping.length * 20_000);
      for (let at = 0; at < burst.length; at += ping.length) burst.set(ping, at);
      const bursts = 25; // 500,000 PINGs, 6.5 MB: far more PONG bytes than loopback buffers hold
      let delivered = false;
      conn.on("message", () => (delivered = true));
      try {
        for (let i = 0; i < bursts; i++) peer.write(burst);
        peer.write(Uint8Array.from([0, 0, 0, 2, 0x00, 0x2a])); // one DATA frame behind the flood
        // Today every PING is read and (at most one unwritten PONG at a time) answered; a bound on
        // PONGs may close the flooder instead. Either way the server gets through the flood.
        await until(() => delivered || conn.state === "closed", 20_000, "the server parsed the whole flood (the DATA behind it arrived) or closed the flooder");
      } finally {
        clearInterval(sampler);
      }
      ok(maxQueued < 256 * 1024, `the server queued up to ${maxQueued} bytes for the flooder (expected < 256 KiB)`);
      ok(conn.stats().bytesIn >= (delivered ? bursts * burst.length : 0), `the server read ${conn.stats().bytesIn} bytes of the flood`);
    },
  }),
];
