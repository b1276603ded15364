/**
 * The outbound rate limit's accuracy end to end, within the 5%: N bytes at rate R with
 * burst B take (N − B) / R from the receiver's "go" to the last byte's arrival, on real sockets
 * and the receiver's clock, for 64 B and 1 MiB messages, and under the two conditions that made
 * the limiter slow before: a sender that does not yield for a long run of sends, and an event
 * loop so busy that the limiter's timers fire late.
 *
 * Each case takes ~1.2–1.5 s. The machine that runs these is shared (2 cores, other work): a case
 * outside 5% is measured once more, and the second run decides (both are in the message).
 * `bench/rate-limit.ts` measures the same thing in separate processes, repeated.
 */
import type { Transport } from "../../../src/index.ts";
import { AssertionFailed, type Scenario } from "../kit.ts";
import { type TransferPlan, throttledTransfer } from "./rate-limit.ts";

const TOLERANCE = 0.05;
const MiB = 1024 * 1024;

/** Runs `plan` (twice at most) and fails unless a run lands within 5% of (N − B) / R. */
async function accurate(transport: Transport, plan: TransferPlan, setup?: () => () => void): Promise<void> {
  const runs: string[] = [];
  for (let attempt = 0; attempt < 2; attempt++) {
    const teardown = setup?.();
    let r: Awaited<ReturnType<typeof throttledTransfer>>;
    try {
      r = await throttledTransfer(transport, plan);
    } finally {
      teardown?.();
    }
    const error = (r.measuredMs - r.expectedMs) / r.expectedMs;
    runs.push(`expected ${r.expectedMs.toFixed(0)} ms, measured ${r.measuredMs.toFixed(0)} ms (${(error * 100).toFixed(2)}%)`);
    if (Math.abs(error) <= TOLERANCE) return;
  }
  throw new AssertionFailed(`${plan.count} × ${plan.messageBytes} B at ${plan.bytesPerSecond} B/s, burst ${plan.burstBytes}: not within 5%: ${runs.join("; then ")}`);
}

/** Spins the CPU until `ms` have passed (the event loop is blocked meanwhile). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

export const rateTransferScenarios: Scenario[] = [
  {
    name: "rate transfer: 64 B messages, (N - B) / R within 5% on the receiver's clock",
    timeoutMs: 20_000,
    run: ({ transport }) => accurate(transport, { messageBytes: 64, count: 12_000, bytesPerSecond: 600_000, burstBytes: 16 * 1024 }),
  },
  {
    name: "rate transfer: 1 MiB messages, burst of one message, within 5%",
    timeoutMs: 20_000,
    run: ({ transport }) => accurate(transport, { messageBytes: MiB, count: 6, bytesPerSecond: 4 * MiB, burstBytes: MiB + 5 }),
  },
  {
    name: "rate transfer: 1 MiB messages larger than the burst, within 5%",
    timeoutMs: 20_000,
    run: ({ transport }) => accurate(transport, { messageBytes: MiB, count: 5, bytesPerSecond: 4 * MiB, burstBytes: 256 * 1024 }),
  },
  {
    // 400 ms of sends in one synchronous run: the limiter must release bytes during it, not
    // only once the caller yields (else it starts ~400 ms late with one burst of tokens).
    name: "rate transfer: a sender that does not yield for 400 ms while it sends, within 5%",
    timeoutMs: 20_000,
    run: ({ transport }) =>
      accurate(transport, {
        messageBytes: 64,
        count: 12_000,
        bytesPerSecond: 600_000,
        burstBytes: 4096,
        sendAll(send, count) {
          const start = performance.now();
          const runMs = 400;
          for (let i = 0; i < count; i++) {
            send();
            if ((i & 63) === 63) while (performance.now() < start + (runMs * i) / count);
          }
        },
      }),
  },
  {
    // Every 50 ms the event loop is blocked for 20 ms: the limiter's 1 ms timers fire up to 20 ms
    // late, which is more than the 4 KiB burst lasts (~7 ms). The tokens that accrued meanwhile
    // must not be lost to the burst cap.
    name: "rate transfer: timers that fire late (event loop blocked 20 ms in every 50), within 5%",
    timeoutMs: 20_000,
    run: ({ transport }) =>
      accurate(transport, { messageBytes: 64, count: 12_000, bytesPerSecond: 600_000, burstBytes: 4096 }, () => {
        const timer = setInterval(() => spin(20), 50);
        return () => clearInterval(timer);
      }),
  },
];
