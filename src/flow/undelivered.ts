/**
 * Counting what a closed connection could not deliver: the messages whose frames had not
 * reached the kernel when the socket went away (the outbound queue's `unsent()` runs). A frame
 * the kernel had only part of counts as undelivered: the peer can never complete it.
 *
 * Parsed with a fresh decoder of the connection's own framer, so it works for every framer and
 * costs nothing until a connection closes with bytes still queued.
 */
import type { Framer } from "../framing/index.ts";

/** Messages (and their payload bytes) that were queued but never reached the kernel. */
export interface Undelivered {
  messages: number;
  bytes: number;
}

/**
 * @param framewire frames carry a type byte and only DATA frames (type 0) are messages.
 */
export function countUndelivered(runs: readonly { bytes: Uint8Array; skip: number }[], framer: Framer, framewire: boolean): Undelivered {
  const total: Undelivered = { messages: 0, bytes: 0 };
  for (const run of runs) {
    const decoder = framer.createDecoder();
    const skip = run.skip;
    try {
      decoder.push(run.bytes, (bytes, start, end) => {
        // Offsets are into `run.bytes` (or a copy of a straddling frame, which then ends past skip).
        if (bytes === run.bytes && end <= skip) return;
        if (framewire) {
          if (end === start || bytes[start] !== 0) return;
          total.messages++;
          total.bytes += end - start - 1;
          return;
        }
        total.messages++;
        total.bytes += end - start;
      });
    } catch {
      // Our own frames always parse; should one not, what was counted stands.
    }
  }
  return total;
}
