/**
 * Peers that end badly, played by a separate process (test/fixtures/hostile_peer.py) because a
 * runtime's own sockets cannot: one that half-closes and never reads, one that resets (RST) in the
 * middle of a 16 MiB frame.
 */
import { type ConformanceContext, equal, need, ok, type Scenario, within } from "../../kit.ts";
import { hostile } from "./kit.ts";

const MiB = 1024 * 1024;

/** Runs the hostile peer fixture in `mode` until it printed DONE; returns its handle. */
async function hostilePeer(ctx: ConformanceContext, port: number, mode: string, bytes: number) {
  const child = await need(ctx, "spawn")("python", "hostile_peer", [String(port), mode, String(bytes)]);
  equal(await child.readLine(10_000), "READY", `${mode}: the hostile peer's handshake (stderr: ${child.stderr().slice(0, 500)})`);
  const done = await child.readLine(15_000);
  ok(done.startsWith("DONE "), `${mode}: the hostile peer finished (${done}; stderr: ${child.stderr().slice(0, 500)})`);
  return child;
}

export const peerAttacks: Scenario[] = [
  hostile("a half-open peer (FIN without GOAWAY, never reads, holds its socket): closed with FW_PEER_CLOSED within closeTimeoutMs, its echoes let go", {
    listen: { closeTimeoutMs: 1000 },
    async attack(arena) {
      // 8 MiB of DATA, echoed towards a peer that reads none of it: the server holds what the kernel will not take.
      const child = await hostilePeer(arena.ctx, arena.port, "half-open", 8 * MiB);
      const t0 = performance.now();
      const [outcome] = await arena.offenderClosed("FW_PEER_CLOSED", "the half-open peer", 1, 5000);
      ok(outcome?.opened === true && "remote" in (outcome.info as object) && (outcome.info as { remote: boolean }).remote, "closed as the peer's doing (remote)");
      ok(performance.now() - t0 < 3000, `closed ${Math.round(performance.now() - t0)} ms after the FIN (closeTimeoutMs 1000)`);
      child.endInput();
      equal(await within(child.exited, 5000, "the hostile peer exits"), 0, "the hostile peer's exit code");
    },
  }),
  hostile("a reset (RST) in the middle of a 16 MiB frame: closed with FW_SOCKET_ERROR, the partial frame let go even while its close info is kept", {
    async attack(arena) {
      const child = await hostilePeer(arena.ctx, arena.port, "rst-in-frame", 8 * MiB);
      // The reset is reported as an error (never a silent close), and the partial frame goes with
      // the connection even though the harness keeps its close info (an error holds its stack's
      // receivers on V8: the connection used to keep 8 MiB of pieces alive through it). Usually a
      // socket error; on Node the kernel's read sometimes ends with EOF before the ECONNRESET
      // (measured: 'end', then the error 4–5 ms later, on about one run in four), and a stream that
      // ends inside a frame is FW_MALFORMED_FRAME: the same verdict, told from what was read.
      await arena.offenderClosed(["FW_SOCKET_ERROR", "FW_MALFORMED_FRAME"], "the peer that reset mid-frame", 1, 10_000);
      child.endInput();
      equal(await within(child.exited, 5000, "the hostile peer exits"), 0, "the hostile peer's exit code");
    },
  }),
];
