/**
 * What the driver checks in both processes' results of a run, per kind of traffic, on top of each
 * process's own per-message checks (length, sequence number, last byte). Any problem fails the run.
 */
import type { RunConfig } from "./common.ts";
import { idleConnections } from "./memory.ts";
import type { Result } from "./scenarios.ts";

export function verify(cfg: RunConfig, c: Result, s: Result): string[] {
  const problems: string[] = [];
  if ((s.errors as number) > 0) problems.push(`server: ${s.errors} errors, first: ${String(s.firstError)}`);
  if ((c.errors as number) > 0) problems.push(`client: ${c.errors} errors, first: ${String(c.firstError)}`);
  switch (cfg.kind) {
    case "oneway":
      if (s.received !== c.sent) problems.push(`sent ${c.sent} but received ${s.received}`);
      if (!s.windowComplete) problems.push("the sender stopped before the window ended");
      break;
    case "pingpong":
    case "conns": {
      const expected = cfg.kind === "pingpong" ? cfg.warmupRounds + cfg.rounds : (c.received as number);
      if (c.received !== expected || s.echoed !== c.received) problems.push(`echoed ${s.echoed}, received ${c.received}, expected ${expected}`);
      if (!c.windowComplete) problems.push("window incomplete");
      break;
    }
    case "idle": {
      // The server measured at conns and 2 × conns connections established (fw: handshake done) and nothing received;
      // an overlap of the second batch with the first measurement is one of the server's own errors.
      const total = idleConnections(cfg.conns);
      if (s.connections !== total || c.connected !== total) problems.push(`server saw ${s.connections}, client opened ${c.connected}, expected ${total}`);
      if (s.firstAt !== cfg.conns || s.secondAt !== total) problems.push(`server measured at ${s.firstAt} and ${s.secondAt} connections, expected ${cfg.conns} and ${total}`);
      if (s.received !== 0 || c.received !== 0) problems.push(`idle connections carried data: server got ${s.received}, client ${c.received}`);
      break;
    }
    case "broadcast":
      // Every connection got every round, in order (each checked its sequence numbers).
      if (c.connections !== cfg.conns) problems.push(`${c.connections} receivers, expected ${cfg.conns}`);
      if (c.received !== s.deliveries) problems.push(`server queued ${s.deliveries} deliveries, clients received ${c.received}`);
      if (c.minPerConnection !== s.rounds || c.maxPerConnection !== s.rounds) {
        problems.push(`per connection ${c.minPerConnection}–${c.maxPerConnection} messages, server sent ${s.rounds} rounds`);
      }
      if (!c.windowComplete) problems.push("a connection closed before the window ended");
      break;
  }
  return problems;
}
