/**
 * ZeroMQ.js peers (npm `zeromq` 6.8, installed on demand into bench/zeromq/ by the driver; not a
 * dependency of framewire), written the way its docs recommend:
 * - oneway: PULL (server, binds) ← PUSH (client, connects); the sender is the natural zmq loop,
 *   `await push.send(payload)` per message (it resolves at once while the queue has room, and
 *   waits at the send high-water mark). The end of the stream is one empty message.
 * - conns: N DEALER sockets in the client, each with one message in flight, against one ROUTER
 *   that echoes every message to the DEALER it came from (`[routingId, payload]`). When done, the
 *   client sends one empty message so the server knows the count is final.
 * The same Checker as every other implementation verifies every message (length, sequence, last byte).
 */
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { Checker, emit, emitAndExit, makePayload, type RunConfig, tailMs, Window, writeU32 } from "./common.ts";

// Structural view of the part of zeromq.js used here (the package is optional: no type import).
interface ZmqSocket {
  linger: number;
  readonly lastEndpoint: string | null;
  bind(address: string): Promise<void>;
  connect(address: string): void;
  close(): void;
}
interface ZmqPush extends ZmqSocket {
  sendHighWaterMark: number;
  send(message: Uint8Array): Promise<void>;
}
interface ZmqPull extends ZmqSocket {
  receive(): Promise<Uint8Array[]>;
}
interface ZmqDealer extends ZmqPush, ZmqPull {}
interface ZmqRouter extends ZmqSocket {
  receive(): Promise<Uint8Array[]>;
  send(message: Uint8Array[]): Promise<void>;
}
interface ZmqModule {
  context: { maxSockets: number };
  Push: new () => ZmqPush;
  Pull: new () => ZmqPull;
  Dealer: new () => ZmqDealer;
  Router: new () => ZmqRouter;
}

/** zeromq copies messages up to 128 B into its own buffer (larger ones are sent zero-copy): only then may the payload be reused. */
const ZMQ_COPY_THRESHOLD = 128;

async function load(): Promise<ZmqModule> {
  // A computed specifier: the bundler leaves it alone, and the package stays outside the root's dependencies.
  const entry = resolve(process.cwd(), "bench/zeromq/node_modules/zeromq/lib/index.js");
  const mod = (await import(pathToFileURL(entry).href)) as ZmqModule & { default?: ZmqModule };
  return mod.default ?? mod;
}

function portOf(socket: ZmqSocket): number {
  const m = /:(\d+)$/.exec(socket.lastEndpoint ?? "");
  if (!m) throw new Error(`no port in ${socket.lastEndpoint}`);
  return Number(m[1]);
}

export async function zmqServer(cfg: RunConfig): Promise<void> {
  const zmq = await load();
  if (cfg.kind === "oneway") await pullServer(cfg, zmq);
  else if (cfg.kind === "conns") await routerServer(cfg, zmq);
  else throw new Error(`zmq implements oneway and conns, not ${cfg.kind}`);
}

export async function zmqClient(cfg: RunConfig): Promise<void> {
  const zmq = await load();
  if (cfg.kind === "oneway") await pushClient(cfg, zmq);
  else if (cfg.kind === "conns") await dealerClients(cfg, zmq);
  else throw new Error(`zmq implements oneway and conns, not ${cfg.kind}`);
}

async function pullServer(cfg: RunConfig, zmq: ZmqModule): Promise<void> {
  const pull = new zmq.Pull();
  await pull.bind(`tcp://${cfg.host}:0`);
  emit("listening", { port: portOf(pull) });
  const checker = new Checker(cfg.size);
  const window = new Window();
  let failure: string | undefined;
  try {
    // ZeroMQ has no connection event on PULL: the window is timed from the first message.
    let first = true;
    for (;;) {
      const [m] = await pull.receive();
      if (m === undefined || m.length === 0) break;
      if (first) {
        first = false;
        window.schedule(cfg.warmupMs, cfg.durationMs, () => checker.count);
      }
      checker.check(m);
    }
  } catch (error) {
    failure = String(error);
  }
  pull.linger = 0;
  pull.close();
  emitAndExit("result", {
    role: "server",
    received: checker.count,
    errors: checker.errors + (failure ? 1 : 0),
    firstError: checker.firstError ?? failure,
    windowComplete: window.ended,
    ...window.summary(),
  });
}

async function pushClient(cfg: RunConfig, zmq: ZmqModule): Promise<void> {
  const push = new zmq.Push();
  push.connect(`tcp://${cfg.host}:${cfg.port}`);
  const payload = makePayload(cfg.size);
  const reuse = cfg.size <= ZMQ_COPY_THRESHOLD;
  const t0 = performance.now();
  const deadline = t0 + cfg.warmupMs + cfg.durationMs + tailMs(cfg);
  let seq = 0;
  let i = 0;
  let failure: string | undefined;
  try {
    for (;;) {
      writeU32(payload, 0, seq);
      await push.send(reuse ? payload : payload.slice());
      seq++;
      if ((++i & 1023) === 0 && performance.now() >= deadline) break;
    }
    await push.send(new Uint8Array(0)); // end of stream
  } catch (error) {
    failure = String(error);
  }
  push.linger = 10_000; // close() delivers what is queued first
  push.close();
  emitAndExit("result", { role: "client", sent: seq, seconds: (performance.now() - t0) / 1000, errors: failure ? 1 : 0, firstError: failure });
}

async function routerServer(cfg: RunConfig, zmq: ZmqModule): Promise<void> {
  const router = new zmq.Router();
  await router.bind(`tcp://${cfg.host}:0`);
  emit("listening", { port: portOf(router) });
  let echoed = 0;
  let failure: string | undefined;
  try {
    for (;;) {
      const [id, m] = await router.receive();
      if (id === undefined || m === undefined) throw new Error("a message without routing id or body");
      if (m.length === 0) break; // the client's "done"
      await router.send([id, m]);
      echoed++;
    }
  } catch (error) {
    failure = String(error);
  }
  router.linger = 0;
  router.close();
  emitAndExit("result", { role: "server", echoed, errors: failure ? 1 : 0, firstError: failure });
}

async function dealerClients(cfg: RunConfig, zmq: ZmqModule): Promise<void> {
  // libzmq's default limit is 1023 sockets per context.
  zmq.context.maxSockets = Math.max(zmq.context.maxSockets, cfg.conns + 16);
  const window = new Window();
  const address = `tcp://${cfg.host}:${cfg.port}`;
  const dealers: ZmqDealer[] = [];
  for (let c = 0; c < cfg.conns; c++) {
    const dealer = new zmq.Dealer();
    dealer.connect(address);
    dealers.push(dealer);
  }
  const checkers: Checker[] = [];
  let total = 0;
  let running = true;
  let warm = 0;
  let errors = 0;
  let firstError: string | undefined;
  const loop = async (dealer: ZmqDealer): Promise<void> => {
    const payload = makePayload(cfg.size);
    const reuse = cfg.size <= ZMQ_COPY_THRESHOLD;
    const checker = new Checker(cfg.size);
    checkers.push(checker);
    let seq = 0;
    try {
      do {
        writeU32(payload, 0, seq++);
        await dealer.send(reuse ? payload : payload.slice());
        const [m] = await dealer.receive();
        if (m === undefined) throw new Error("empty reply");
        checker.check(m);
        total++;
        // zmq connects in the background: the window is scheduled once every DEALER had its first reply.
        if (checker.count === 1 && ++warm === cfg.conns) window.schedule(cfg.warmupMs, cfg.durationMs, () => total, () => (running = false));
      } while (running);
    } catch (error) {
      errors++;
      firstError ??= String(error);
    }
  };
  await Promise.all(dealers.map(loop));
  const first = dealers[0] as ZmqDealer;
  await first.send(new Uint8Array(0)); // tells the server its count is final
  for (const d of dealers) {
    d.linger = d === first ? 5000 : 0;
    d.close();
  }
  const received = checkers.reduce((n, c) => n + c.count, 0);
  for (const c of checkers) {
    errors += c.errors;
    firstError ??= c.firstError;
  }
  emitAndExit("result", { role: "client", received, errors, firstError, windowComplete: window.ended, ...window.summary() });
}
