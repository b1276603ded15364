/**
 * The hostile-input battery's harness. Every attack runs against an echo server that keeps serving a
 * well-behaved bystander client throughout, and the harness (not the attack) checks what must hold
 * whatever the attack was:
 * - the bystander lost nothing (every echo came back, in order, byte-exact) and its round trips during
 *   the attack stayed within a median and a maximum bound;
 * - no unhandled rejection or uncaught exception in this process (the server, the bystander and the
 *   attackers all run here, so a throw escaping framewire shows up here);
 * - once the attackers are gone, only the bystander is connected, a newcomer is served, and the memory
 *   outside the JS heap (`externalMemory`) is back near what it was before the attack.
 * The attack itself asserts how its offenders were closed (server-side close codes, and what a raw peer
 * was told in REJECT or GOAWAY), with {@link Arena.offenderClosed} and {@link toldCode}. The harness
 * keeps every offender's close info and error while it measures memory, as an application that logs
 * or counts them would: what a closed connection held must not outlive it through them.
 *
 * To add an attack: `hostile(name, { attack: async (arena) => { ... } })` in a file of this folder,
 * listed in `./index.ts`. Raw peers are framewire connections with `protocol: "raw"` and
 * `framing: { type: "none" }` (see ../../kit.ts), opened through the arena so they are destroyed and
 * let go before memory is measured.
 */
import type { Client, CloseInfo, Connection, FramewireError, Server, ServerOptions, Transport } from "../../../../src/index.ts";
import {
  AssertionFailed,
  type ConformanceContext,
  equal,
  HELLO,
  HOST,
  jsonFields,
  need,
  ok,
  RawPeer,
  type Scenario,
  sameBytes,
  sequenced,
  sleep,
  until,
  within,
} from "../../kit.ts";

export type BatteryCodec = "buffer" | "text" | "json" | "cbor";

/** How one offender ended, seen by the server. */
export interface Outcome {
  /**
   * The code the offender was closed with. For a deliberate refusal (version mismatch, a verdict of
   * `verifyHandshake`) the server's local error is a `HandshakeRejectedError` (`FW_HANDSHAKE_REJECTED`)
   * and this is the code it sent, its `reasonCode`.
   */
  code: string;
  /** True when the connection had completed its handshake (a `close` event), false for a `reject`. */
  opened: boolean;
  /** The close info (open connections) or the rejection's error. */
  info: CloseInfo | FramewireError;
}

/** What an attack is given. */
export interface Arena {
  readonly transport: Transport;
  readonly server: Server<unknown>;
  readonly port: number;
  readonly ctx: ConformanceContext;
  /** A raw peer (exact bytes out, exact bytes in), destroyed and let go by the harness afterwards. */
  raw(allowHalfOpen?: boolean): Promise<RawPeer>;
  /** A raw peer that sent HELLO and received WELCOME (its first frame). */
  handshaken(allowHalfOpen?: boolean): Promise<RawPeer>;
  /** How every connection but the bystander's ended, in order. */
  readonly outcomes: readonly Outcome[];
  /** Server-side connections other than the bystander's, in the order they opened. */
  readonly offenders: readonly Connection<unknown>[];
  /**
   * Waits for the next `count` outcomes not yet claimed by an earlier call and checks each has
   * `code` (one code, or any of several where runtimes legitimately differ, e.g. RST vs FIN).
   */
  offenderClosed(code: string | readonly string[], what: string, count?: number, timeoutMs?: number): Promise<Outcome[]>;
}

/** Bounds a battery checks; the defaults suit a loaded 2-core machine yet catch a stalled loop. */
export interface BatteryBounds {
  /** Median bystander round trip during the attack. @default 60 */
  medianRttMs?: number;
  /** Slowest bystander round trip during the attack. @default 1000 */
  maxRttMs?: number;
  /** externalMemory after the attackers left, above the baseline. @default 2 MiB */
  memorySlackBytes?: number;
  /** The bystander runs at least this long after the attack starts. @default 300 */
  minAttackMs?: number;
}

export interface AttackSpec {
  /** Server options besides host, port and codec. */
  listen?: Omit<ServerOptions<unknown>, "host" | "port" | "codec">;
  /** The codec of the server and the bystander. @default "buffer" */
  codec?: BatteryCodec;
  /** What the server does with an offender's message (what it returns is the listener's: a promise is watched). @default echo */
  onMessage?: (message: unknown, connection: Connection<unknown>) => unknown;
  /** Runs as a `connection` listener for each offender, before its message listener is attached. */
  onConnection?: (connection: Connection<unknown>) => unknown;
  bounds?: BatteryBounds;
  attack(arena: Arena): Promise<void>;
}

const MiB = 1024 * 1024;
/** One bystander echo may take this long before it counts as lost. */
const ECHO_TIMEOUT_MS = 5000;

/** A scenario running `spec` through the battery. */
export function hostile(name: string, spec: AttackSpec, timeoutMs = 30_000): Scenario {
  return { name: `hostile: ${name}`, timeoutMs, run: (ctx) => runBattery(ctx, spec) };
}

/** The code of the first REJECT (0x03) or GOAWAY (0x07) a raw peer received; waits for it. */
export async function toldCode(peer: RawPeer, type: 0x03 | 0x07, what: string, timeoutMs = 5000): Promise<string> {
  await until(() => peer.frames().some((f) => f[0] === type), timeoutMs, `${what}: a ${type === 0x03 ? "REJECT" : "GOAWAY"} frame`);
  return String(jsonFields(peer.frames().find((f) => f[0] === type) as Uint8Array).fields.code);
}

/** Median and maximum of a list of numbers. */
function spread(values: readonly number[]): { median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN };
}

/** The bystander's i-th message in the codec's own type. */
function bystanderMessage(codec: BatteryCodec, i: number): unknown {
  if (codec === "buffer") return sequenced(i);
  if (codec === "text") return `bystander ${i} ✓`;
  return { seq: i, text: "bystander ✓", list: [i, [i + 1]] };
}

function sameMessage(codec: BatteryCodec, back: unknown, sent: unknown, what: string): void {
  if (codec === "buffer") sameBytes(back as Uint8Array, sent as Uint8Array, what);
  else equal(JSON.stringify(back), JSON.stringify(sent), what);
}

/** A client doing echo round trips one after another, until stopped; it records every round trip. */
class Bystander {
  readonly rtts: { at: number; ms: number }[] = [];
  failure: string | undefined;
  #running = true;
  readonly #done: Promise<void>;

  constructor(
    readonly client: Client<unknown>,
    codec: BatteryCodec,
  ) {
    this.#done = this.#loop(codec);
  }

  async #loop(codec: BatteryCodec): Promise<void> {
    const client = this.client;
    for (let i = 0; this.#running; i++) {
      const sent = bystanderMessage(codec, i);
      const t0 = performance.now();
      const reply = new Promise<unknown>((resolve) => client.once("message", resolve));
      const status = client.send(sent);
      if (status !== "queued" && status !== "backpressure") {
        this.failure = `bystander send ${i} answered ${status}`;
        return;
      }
      try {
        const back = await within(reply, ECHO_TIMEOUT_MS, `bystander echo ${i}`);
        sameMessage(codec, back, sent, `bystander echo ${i}`);
      } catch (error) {
        this.failure = `the bystander lost echo ${i}: ${(error as Error).message} (state ${client.state})`;
        return;
      }
      const now = performance.now();
      this.rtts.push({ at: now, ms: now - t0 });
      await sleep(5);
    }
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#done;
  }
}

async function runBattery(ctx: ConformanceContext, spec: AttackSpec): Promise<void> {
  const { transport } = ctx;
  const externalMemory = need(ctx, "externalMemory");
  const watch = need(ctx, "watchUnhandled")();
  const codec = spec.codec ?? "buffer";
  const bounds = { medianRttMs: 60, maxRttMs: 1000, memorySlackBytes: 2 * MiB, minAttackMs: 300, ...spec.bounds };
  const outcomes: Outcome[] = [];
  const offenders: Connection<unknown>[] = [];
  const peers: RawPeer[] = [];
  let bystanderSide: Connection<unknown> | undefined;
  let attackOver = false;
  const server = (await transport.listen({ ...spec.listen, host: HOST, port: 0, codec } as ServerOptions<unknown>)) as Server<unknown>;
  server.on("reject", (error) => outcomes.push({ code: (error as { reasonCode?: string }).reasonCode ?? error.code, opened: false, info: error }));
  server.on("connection", (conn) => {
    if (bystanderSide === undefined || attackOver) {
      // The bystander, and the newcomer after the attack: plain echo.
      bystanderSide ??= conn;
      conn.on("message", (m) => void conn.send(m));
      return;
    }
    offenders.push(conn);
    conn.on("close", (info) => outcomes.push({ code: info.code, opened: true, info }));
    const onMessage = spec.onMessage ?? ((m: unknown) => void conn.send(m));
    conn.on("message", (m) => onMessage(m, conn));
    return spec.onConnection?.(conn);
  });
  let claimed = 0;
  const arena: Arena = {
    transport,
    server,
    port: server.port,
    ctx,
    outcomes,
    offenders,
    async raw(allowHalfOpen = false) {
      const peer = await RawPeer.connect(transport, server.port, allowHalfOpen);
      peers.push(peer);
      return peer;
    },
    async handshaken(allowHalfOpen = false) {
      const peer = await arena.raw(allowHalfOpen);
      peer.write(HELLO);
      await until(() => peer.frames().length >= 1, 5000, "WELCOME for a raw peer");
      equal(peer.frames()[0]?.[0], 0x02, "the raw peer's first frame is WELCOME");
      return peer;
    },
    async offenderClosed(code, what, count = 1, timeoutMs = 5000) {
      const want = claimed + count;
      await until(() => outcomes.length >= want, timeoutMs, `${what}: ${outcomes.length - claimed}/${count} offenders closed`);
      const mine = outcomes.slice(claimed, want);
      claimed = want;
      const codes = typeof code === "string" ? [code] : code;
      for (const o of mine) ok(codes.includes(o.code), `${what}: the offender closed with ${o.code} (${"reason" in o.info ? o.info.reason : o.info.message}), expected ${codes.join(" or ")}`);
      return mine;
    },
  };

  let bystander: Bystander | undefined;
  try {
    const client = (await transport.connect({ host: HOST, port: server.port, codec } as Parameters<Transport["connect"]>[0])) as Client<unknown>;
    bystander = new Bystander(client, codec);
    // Warm up what every attack touches once (a raw peer's handshake, the bystander's path), then the baseline.
    await until(() => (bystander as Bystander).rtts.length >= 20 || bystander?.failure !== undefined, 10_000, "bystander warm-up");
    const warm = await arena.handshaken();
    warm.client.destroy();
    await until(() => outcomes.length > 0, 5000, "the warm-up peer's close");
    outcomes.length = 0;
    offenders.length = 0;
    peers.length = 0;
    const baseline = await externalMemory();

    const attackStart = performance.now();
    await spec.attack(arena);
    // The bystander goes on a while after the attack too: its effects may outlast the attacker's calls.
    await sleep(Math.max(bounds.minAttackMs - (performance.now() - attackStart), 100));
    const attackEnd = performance.now();

    // The attackers leave; everything they made the server hold must go with them.
    for (const peer of peers) peer.client.destroy();
    await until(() => peers.every((p) => p.closeInfo !== undefined), 5000, "the attackers' sockets closed");
    peers.length = 0;
    await until(() => server.connectionCount === 1, 5000, `only the bystander is connected (${server.connectionCount})`);
    offenders.length = 0;
    let grown = (await externalMemory()) - baseline;
    for (let i = 0; i < 30 && grown > bounds.memorySlackBytes; i++) {
      await sleep(100);
      grown = (await externalMemory()) - baseline;
    }
    ok(grown <= bounds.memorySlackBytes, `externalMemory is ${(grown / MiB).toFixed(2)} MiB above its baseline after the attackers left (allowed ${(bounds.memorySlackBytes / MiB).toFixed(1)} MiB)`);

    // A newcomer is still served.
    attackOver = true;
    const newcomer = (await within(transport.connect({ host: HOST, port: server.port, codec } as Parameters<Transport["connect"]>[0]), 5000, "a newcomer connects")) as Client<unknown>;
    const reply = new Promise<unknown>((resolve) => newcomer.once("message", resolve));
    newcomer.send(bystanderMessage(codec, 7));
    sameMessage(codec, await within(reply, 5000, "the newcomer's echo"), bystanderMessage(codec, 7), "the newcomer's echo");
    await newcomer.close();

    await bystander.stop();
    if (bystander.failure !== undefined) throw new AssertionFailed(bystander.failure);
    equal(client.state, "open", "the bystander's connection");
    // Round trips that overlapped the attack, and the gaps between them (a stalled loop shows as a
    // gap even when no round trip was in flight).
    const during = bystander.rtts.filter((r) => r.at >= attackStart && r.at - r.ms <= attackEnd);
    ok(during.length >= 3, `the bystander made ${during.length} round trips during the attack (expected at least 3)`);
    const { median, max } = spread(during.map((r) => r.ms));
    const gaps = during.slice(1).map((r, i) => r.at - (during[i] as { at: number }).at);
    const longestGap = Math.max(0, ...gaps, (during[0] as { at: number }).at - attackStart);
    ok(median <= bounds.medianRttMs, `the bystander's median round trip during the attack was ${median.toFixed(1)} ms (bound ${bounds.medianRttMs})`);
    ok(max <= bounds.maxRttMs, `the bystander's slowest round trip during the attack was ${max.toFixed(1)} ms (bound ${bounds.maxRttMs})`);
    ok(longestGap <= bounds.maxRttMs + 50, `the bystander went ${longestGap.toFixed(0)} ms without a round trip during the attack (bound ${bounds.maxRttMs + 50})`);
    await client.close();
    const seen = watch.stop();
    equal(seen.length, 0, `unhandled rejections or uncaught exceptions (${seen.map((e) => String((e as Error)?.stack ?? e).slice(0, 300)).join(" | ")})`);
  } finally {
    watch.stop();
    await bystander?.stop();
    for (const peer of peers) peer.client.destroy();
    await server.close(500);
  }
}
