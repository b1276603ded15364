/**
 * docs/protocol.md ⇄ implementation. The byte-level examples are parsed out of the document
 * (`<!-- vector: NAME -->` followed by a ```hex block), so the doc and this test cannot drift:
 * every example must be exactly what the encoders write and must decode back to the expected
 * fields, and every example must be listed here. A second part drives a real `Connection` over a
 * fake socket to check that the state machine writes and accepts those same bytes.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import type { RawSocket, SocketAdapter, SocketHandlers } from "../../src/adapter.ts";
import { bufferCodec } from "../../src/codec/index.ts";
import { type AnyCode, CloseCode } from "../../src/codes.ts";
import { type CloseInfo, Connection, type ServerHandshake } from "../../src/connection.ts";
import { ErrorCode, type FramewireError } from "../../src/errors.ts";
import { createFramer, LengthPrefixedFramer } from "../../src/framing/index.ts";
import { type ConnectionOptions, type ResolvedConnectionOptions, resolveConnectionOptions } from "../../src/options.ts";
import { decodeAck, encodeAck } from "../../src/protocol/resume.ts";
import {
  chooseVersion,
  decodeHello,
  decodeReason,
  decodeWelcome,
  encodeHello,
  encodeReason,
  encodeWelcome,
  FrameType,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
} from "../../src/protocol/wire.ts";

// ───────────────────────── the document ─────────────────────────

const DOC = readFileSync(new URL("../../docs/protocol.md", import.meta.url), "utf8");

/** Bytes of a ```hex block: two-digit hex tokens; `#` starts a comment. Anything else is an error. */
function parseHex(name: string, block: string): Uint8Array {
  const bytes: number[] = [];
  for (const line of block.split("\n")) {
    const data = line.split("#")[0] as string;
    for (const token of data.trim().split(/\s+/)) {
      if (token === "") continue;
      if (!/^[0-9a-f]{2}$/i.test(token)) throw new Error(`vector ${name}: "${token}" is not a hex byte`);
      bytes.push(Number.parseInt(token, 16));
    }
  }
  return Uint8Array.from(bytes);
}

function parseVectors(doc: string): Map<string, Uint8Array> {
  const vectors = new Map<string, Uint8Array>();
  for (const m of doc.matchAll(/<!-- vector: ([a-z0-9-]+) -->\r?\n```hex\r?\n([\s\S]*?)```/g)) {
    const name = m[1] as string;
    if (vectors.has(name)) throw new Error(`vector ${name} appears twice in docs/protocol.md`);
    vectors.set(name, parseHex(name, m[2] as string));
  }
  return vectors;
}

/** Rows of the markdown table following `<!-- table: NAME -->`, as trimmed cells without backticks. */
function parseTable(doc: string, name: string): string[][] {
  const at = doc.indexOf(`<!-- table: ${name} -->`);
  if (at < 0) throw new Error(`table ${name} missing from docs/protocol.md`);
  const lines = doc.slice(at).split("\n").slice(1);
  const rows: string[][] = [];
  for (const line of lines) {
    if (!line.startsWith("|")) break;
    const cells = line
      .slice(1, line.trimEnd().endsWith("|") ? line.trimEnd().length - 1 : undefined)
      .split("|")
      .map((c) => c.trim().replaceAll("`", ""));
    if (cells.every((c) => /^-+$/.test(c))) continue;
    rows.push(cells);
  }
  return rows.slice(1); // without the header row
}

const VECTORS = parseVectors(DOC);

function vector(name: string): Uint8Array {
  const bytes = VECTORS.get(name);
  if (bytes === undefined) throw new Error(`vector ${name} missing from docs/protocol.md`);
  return bytes;
}

// ───────────────────────── helpers ─────────────────────────

const MiB = 1024 * 1024;
const text = new TextEncoder();
const utf8 = (s: string) => text.encode(s);

/** The framewire framing as the brief fixes it: u32 big-endian length counting the type byte. */
const fw = new LengthPrefixedFramer({ headerBytes: 4, endian: "big" });

/** One framewire frame: header + type byte + fields, written the way `Connection` writes it. */
function frame(type: number, fields: Uint8Array): Uint8Array {
  const out = new Uint8Array(fw.encodedLength(fields.length + 1));
  const end = fw.encodeInto(out, 0, fields, type);
  expect(end).toBe(out.length);
  return out;
}

/** Decodes all frames in `bytes` with `framer`, once whole and once a byte at a time. */
function decodeAll(framer: LengthPrefixedFramer, bytes: Uint8Array): Uint8Array[] {
  const collect = (chunks: Uint8Array[]): Uint8Array[] => {
    const decoder = framer.createDecoder();
    const out: Uint8Array[] = [];
    for (const chunk of chunks) decoder.push(chunk, (b, s, e) => out.push(b.slice(s, e)));
    expect(decoder.bufferedBytes).toBe(0);
    return out;
  };
  const whole = collect([bytes]);
  const bytewise = collect([...bytes].map((b) => Uint8Array.of(b)));
  expect(bytewise).toEqual(whole);
  return whole;
}

/** The single framewire frame in `bytes`, split into type and fields. */
function decodeFrame(bytes: Uint8Array): { type: number; fields: Uint8Array } {
  const frames = decodeAll(fw, bytes);
  expect(frames.length).toBe(1);
  const body = frames[0] as Uint8Array;
  expect(body.length).toBeGreaterThanOrEqual(1);
  return { type: body[0] as number, fields: body.subarray(1) };
}

function float64(value: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setFloat64(0, value);
  return out;
}

// ───────────────────────── the examples ─────────────────────────

/** Every example in the doc, with how it is built and what it must decode to. */
const CHECKS: Record<string, (bytes: Uint8Array) => void> = {
  "data-hi": (bytes) => {
    expect(bytes).toEqual(frame(FrameType.DATA, utf8("hi")));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.DATA);
    expect(new TextDecoder().decode(fields)).toBe("hi");
  },
  hello: (bytes) => {
    const hello = { minVersion: 1, maxVersion: 1, tags: { region: "eu" }, maxFrameSize: 16777216 };
    expect(bytes).toEqual(frame(FrameType.HELLO, encodeHello(hello)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.HELLO);
    expect(decodeHello(fields)).toStrictEqual(hello);
  },
  "hello-app": (bytes) => {
    const hello = { minVersion: 1, maxVersion: 1, app: "chat/2.1", tags: {}, maxFrameSize: 16777216 };
    expect(bytes).toEqual(frame(FrameType.HELLO, encodeHello(hello)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.HELLO);
    expect(decodeHello(fields)).toStrictEqual(hello);
  },
  welcome: (bytes) => {
    const welcome = { version: 1, session: "abc", maxFrameSize: 16777216, heartbeatMs: 15000 };
    expect(bytes).toEqual(frame(FrameType.WELCOME, encodeWelcome(welcome)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.WELCOME);
    expect(decodeWelcome(fields)).toStrictEqual(welcome);
  },
  reject: (bytes) => {
    const reason = { code: "FW_SERVER_FULL" as AnyCode, reason: "full" };
    expect(bytes).toEqual(frame(FrameType.REJECT, encodeReason(reason)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.REJECT);
    expect(decodeReason(fields, "REJECT")).toStrictEqual(reason);
  },
  ping: (bytes) => {
    expect(bytes).toEqual(frame(FrameType.PING, float64(1.5)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.PING);
    expect(fields.length).toBe(8);
    expect(new DataView(fields.buffer, fields.byteOffset, 8).getFloat64(0)).toBe(1.5);
  },
  pong: (bytes) => {
    expect(bytes).toEqual(frame(FrameType.PONG, float64(1.5)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.PONG);
    // A PONG's fields are the PING's fields, unchanged.
    expect(fields).toEqual(decodeFrame(vector("ping")).fields);
  },
  goaway: (bytes) => {
    const reason = { code: "FW_SHUTDOWN" as AnyCode, reason: "bye" };
    expect(bytes).toEqual(frame(FrameType.GOAWAY, encodeReason(reason)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.GOAWAY);
    expect(decodeReason(fields, "GOAWAY")).toStrictEqual(reason);
  },
  "raw-default-hi": (bytes) => {
    const framer = createFramer({ type: "length-prefixed" }) as LengthPrefixedFramer;
    expect(bytes).toEqual(framer.encode(utf8("hi")));
    expect(bytes).toEqual(new LengthPrefixedFramer().encode(utf8("hi")));
    expect(decodeAll(framer, bytes)).toEqual([utf8("hi")]);
  },
  "raw-u16le-hi": (bytes) => {
    const framer = createFramer({ type: "length-prefixed", headerBytes: 2, endian: "little" }) as LengthPrefixedFramer;
    expect(bytes).toEqual(framer.encode(utf8("hi")));
    expect(decodeAll(framer, bytes)).toEqual([utf8("hi")]);
  },
  "reserved-type": (bytes) => {
    expect(bytes).toEqual(frame(0x0c, new Uint8Array(0)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(0x0c);
    expect(fields.length).toBe(0);
    expect(Object.values(FrameType)).not.toContain(type);
  },
  "max-header": (bytes) => {
    expect(bytes.length).toBe(4);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)).toBe(16 * MiB + 1);
    // Connection's framing: the length counts the type byte, so the limit is maxFrameSize + 1.
    const decoder = new LengthPrefixedFramer({ headerBytes: 4, maxFrameSize: 16 * MiB + 1 }).createDecoder();
    expect(() => decoder.push(bytes, () => {})).not.toThrow();
    expect(decoder.bufferedBytes).toBe(0); // header read in place; body not yet arrived
  },
  "oversize-header": (bytes) => {
    expect(bytes.length).toBe(4);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0)).toBe(16 * MiB + 2);
    const decoder = new LengthPrefixedFramer({ headerBytes: 4, maxFrameSize: 16 * MiB + 1 }).createDecoder();
    let error: unknown;
    try {
      decoder.push(bytes, () => {});
    } catch (e) {
      error = e;
    }
    expect((error as FramewireError | undefined)?.code).toBe(ErrorCode.FRAME_TOO_LARGE);
  },
  ack: (bytes) => {
    expect(bytes).toEqual(frame(FrameType.ACK, encodeAck(70_000)));
    const { type, fields } = decodeFrame(bytes);
    expect(type).toBe(FrameType.ACK);
    expect(decodeAck(fields)).toBe(70_000);
  },
  "hello-resume": (bytes) => {
    const hello = { minVersion: 1, maxVersion: 1, tags: {}, maxFrameSize: 16777216, resume: { maxUnackedBytes: 4194304, token: "abc.5ec7", received: 12 } };
    expect(bytes).toEqual(frame(FrameType.HELLO, encodeHello(hello)));
    expect(decodeHello(decodeFrame(bytes).fields)).toStrictEqual(hello);
  },
  "welcome-resume": (bytes) => {
    const welcome = { version: 1, session: "abc", maxFrameSize: 16777216, heartbeatMs: 15000, resume: { token: "abc.5ec7", resumed: true, received: 40, maxUnackedBytes: 4194304 } };
    expect(bytes).toEqual(frame(FrameType.WELCOME, encodeWelcome(welcome)));
    expect(decodeWelcome(decodeFrame(bytes).fields)).toStrictEqual(welcome);
  },
  "empty-frame": (bytes) => {
    expect(bytes).toEqual(fw.encode(new Uint8Array(0)));
    expect(decodeAll(fw, bytes)).toEqual([new Uint8Array(0)]);
  },
};

describe("docs/protocol.md byte-level examples", () => {
  test("every ```hex block is a named vector, and every vector is checked", () => {
    const fences = DOC.match(/^```hex\s*$/gm) ?? [];
    expect(fences.length).toBe(VECTORS.size);
    // The authenticated handshake's examples (§14, `auth-…`) are checked by test/unit/auth-vectors.test.ts.
    expect([...VECTORS.keys()].filter((name) => !name.startsWith("auth-")).sort()).toEqual(Object.keys(CHECKS).sort());
  });

  for (const [name, check] of Object.entries(CHECKS)) {
    test(`vector ${name}`, () => check(vector(name)));
  }
});

describe("docs/protocol.md tables", () => {
  test("frame types match FrameType, and the v1 set is as documented", () => {
    const rows = parseTable(DOC, "frame-types");
    const documented = Object.fromEntries(rows.map((r) => [r[1], Number.parseInt(r[0] as string, 16)]));
    expect(documented).toEqual({ ...FrameType });
    const inV1 = rows.filter((r) => r[2] === "yes").map((r) => r[1]);
    expect(inV1.sort()).toEqual(["DATA", "GOAWAY", "HELLO", "PING", "PONG", "REJECT", "WELCOME"]);
  });

  test("reason codes are real codes, and every connection code is documented", () => {
    const known = new Set<string>([...Object.values(ErrorCode), ...Object.values(CloseCode)]);
    const wire = parseTable(DOC, "reason-codes").map((r) => r[0] as string);
    const local = parseTable(DOC, "local-codes").map((r) => r[0] as string);
    for (const code of [...wire, ...local]) expect(known.has(code) ? code : `unknown ${code}`).toBe(code);
    // Option-validation codes (and the native library missing) never close a connection; every other code must be in the doc.
    const undocumented = [...known].filter(
      (c) => !wire.includes(c) && !local.includes(c) && c !== ErrorCode.UNSUPPORTED && c !== ErrorCode.INVALID_OPTION && c !== ErrorCode.INVALID_USE && c !== ErrorCode.NATIVE_UNAVAILABLE,
    );
    expect(undocumented).toEqual([]);
    expect(wire).toContain(CloseCode.NORMAL);
    expect(wire).not.toContain(CloseCode.PEER_CLOSED);
  });

  test("defaults match resolveConnectionOptions", () => {
    const resolved = resolved_({}) as unknown as Record<string, unknown>;
    let checked = 0;
    for (const [option, value] of parseTable(DOC, "defaults")) {
      if (!/^\d+$/.test(value as string)) continue;
      expect([option, resolved[option as string]]).toEqual([option, Number(value)]);
      checked++;
    }
    expect(checked).toBe(4);
    expect(resolved.heartbeatTimeoutMs).toBeUndefined(); // "2 × heartbeatMs", decided when WELCOME arrives
  });

  test("version negotiation picks the highest common version", () => {
    expect([PROTOCOL_VERSION_MIN, PROTOCOL_VERSION_MAX]).toEqual([1, 1]);
    expect(chooseVersion(1, 1)).toBe(1);
    expect(chooseVersion(1, 7)).toBe(1);
    expect(chooseVersion(0, 1)).toBe(1);
    expect(chooseVersion(2, 3)).toBe(-1);
    expect(chooseVersion(0, 0)).toBe(-1);
  });
});

// ───────────────────────── the state machine writes and accepts these bytes ─────────────────────────

class FakeSocket implements RawSocket {
  readonly remoteAddress = "127.0.0.1";
  readonly remotePort = 40000;
  readonly localAddress = "127.0.0.1";
  readonly localPort = 7000;
  handlers!: SocketHandlers;
  /** Everything written, with "FIN" where `end()` was called. */
  readonly log: (Uint8Array | "FIN")[] = [];
  destroyed = false;
  #finSent = false;
  #finReceived = false;

  /** The exact arrays given to write, for handing back through `released` (this socket retains writes). */
  readonly held: Uint8Array[] = [];

  write(bytes: Uint8Array): number {
    if (this.destroyed) return -1;
    this.log.push(bytes.slice());
    this.held.push(bytes);
    return bytes.length;
  }
  end(): void {
    this.log.push("FIN");
    this.#finSent = true;
    if (this.#finReceived) this.destroy(); // like an adapter: both FINs exchanged → closed
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.handlers.close());
  }
  /** The peer's FIN arrives. */
  peerFin(): void {
    this.#finReceived = true;
    this.handlers.end();
    if (this.#finSent) this.destroy();
  }
  pause(): void {}
  resume(): void {}
  setNoDelay(): void {}
  setKeepAlive(): void {}

  /** Frames written so far (framewire framing), then "FIN" if it was sent; in order. */
  frames(): ({ type: number; fields: Uint8Array } | "FIN")[] {
    const out: ({ type: number; fields: Uint8Array } | "FIN")[] = [];
    const decoder = fw.createDecoder();
    for (const entry of this.log) {
      if (entry === "FIN") out.push("FIN");
      else decoder.push(entry, (b, s, e) => out.push({ type: b[s] as number, fields: b.slice(s + 1, e) }));
    }
    return out;
  }

  /** All bytes written, concatenated. */
  bytes(): Uint8Array {
    const parts = this.log.filter((e): e is Uint8Array => e !== "FIN");
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const adapter = {
  name: "bun",
  capabilities: { tls: false, localBind: false, unixSockets: false, ipv6: false, reusePort: false, retainsWrites: true },
} as unknown as SocketAdapter;

/** Lets the connection's microtask flush run. */
const tick = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function client(
  options: ConnectionOptions<Uint8Array> = { tags: { region: "eu" } },
  app?: string,
): { connection: Connection<Uint8Array>; socket: FakeSocket } {
  const socket = new FakeSocket();
  const connection = new Connection<Uint8Array>({
    id: 0,
    role: "client",
    socket,
    adapter,
    options: resolved_(options),
    codec: bufferCodec,
    ...(app !== undefined ? { hello: { app } } : {}),
  });
  socket.handlers = connection.handlers;
  connection.on("error", () => {});
  return { connection, socket };
}

/** A client that sent HELLO and received the doc's WELCOME. */
async function openClient(): Promise<{ connection: Connection<Uint8Array>; socket: FakeSocket }> {
  const c = client();
  await tick();
  c.socket.handlers.data(vector("welcome"));
  expect(c.connection.state).toBe("open");
  await c.connection.ready;
  return c;
}

/** Shared options checked as `connect` checks them. */
function resolved_(options: ConnectionOptions<Uint8Array>): ResolvedConnectionOptions {
  return resolveConnectionOptions(options, "connect", []).resolved;
}

function server(accept: ServerHandshake["accept"] = async () => ({ session: "abc" })): {
  connection: Connection<Uint8Array>;
  socket: FakeSocket;
} {
  const socket = new FakeSocket();
  const connection = new Connection<Uint8Array>({
    id: 1,
    role: "server",
    socket,
    adapter,
    options: resolved_({}),
    codec: bufferCodec,
    serverHandshake: { heartbeatMs: 15000, tags: {}, accept, opened: () => {} },
  });
  socket.handlers = connection.handlers;
  connection.on("error", () => {});
  return { connection, socket };
}

/** Destroys the connection (clearing its timers) and returns its close info. */
async function finish(connection: Connection<Uint8Array>): Promise<CloseInfo> {
  connection.destroy();
  return connection.closed();
}

function reasonOf(entry: { type: number; fields: Uint8Array } | "FIN" | undefined, type: number): string {
  if (entry === undefined || entry === "FIN") throw new Error(`expected a frame of type ${type}, got ${String(entry)}`);
  expect(entry.type).toBe(type);
  return decodeReason(entry.fields, "reason").code;
}

describe("Connection writes and accepts the documented bytes", () => {
  test("a PING flood against a socket that holds every write (kernel full, Node/Deno-like): one PONG waits, not one per PING", async () => {
    const { connection, socket } = await openClient();
    const pongs = () => socket.frames().filter((f) => f !== "FIN" && f.type === FrameType.PONG).length;
    for (let i = 0; i < 200; i++) {
      socket.handlers.data(frame(FrameType.PING, float64(i)));
      await tick();
    }
    expect(pongs()).toBe(1);
    expect(connection.bufferedAmount).toBeLessThan(128); // the HELLO and one PONG, both still held
    // Once the socket lets go of everything written (the kernel has it), the next PING is answered.
    for (const bytes of socket.held.splice(0)) socket.handlers.released(bytes);
    socket.handlers.data(frame(FrameType.PING, float64(1000)));
    await tick();
    expect(pongs()).toBe(2);
    await finish(connection);
  });

  test("client: HELLO first, then WELCOME opens; DATA, PING→PONG, close → GOAWAY, FIN", async () => {
    const { connection, socket } = client();
    await tick();
    expect(socket.bytes()).toEqual(vector("hello"));
    expect(connection.state).toBe("handshaking");
    expect(connection.send(utf8("too early"))).toBe("closed");

    socket.handlers.data(vector("welcome"));
    await connection.ready;
    expect(connection.state).toBe("open");
    expect([connection.version, connection.sessionId]).toEqual([1, "abc"]);

    const received: Uint8Array[] = [];
    connection.on("message", (m) => received.push(m.slice()));
    socket.handlers.data(vector("data-hi"));
    expect(received).toEqual([utf8("hi")]);

    socket.log.length = 0;
    expect(connection.send(utf8("hi"))).toBe("queued");
    await tick();
    expect(socket.bytes()).toEqual(vector("data-hi"));

    socket.log.length = 0;
    socket.handlers.data(vector("ping"));
    await tick();
    expect(socket.bytes()).toEqual(vector("pong"));

    socket.log.length = 0;
    const closing = connection.close();
    await tick();
    const frames = socket.frames();
    expect(frames.length).toBe(2);
    expect(reasonOf(frames[0], FrameType.GOAWAY)).toBe(CloseCode.NORMAL);
    expect(frames[1]).toBe("FIN");
    // In flight from the peer before it saw GOAWAY: still delivered.
    socket.handlers.data(vector("data-hi"));
    expect(received.length).toBe(2);
    socket.peerFin();
    const info = await closing;
    expect([info.code, info.remote]).toEqual([CloseCode.NORMAL, false]);
  });

  test("client with an app string and no tags: HELLO is vector hello-app", async () => {
    const { connection, socket } = client({}, "chat/2.1") // no tags option;
    await tick();
    expect(socket.bytes()).toEqual(vector("hello-app"));
    await finish(connection);
  });

  test("client: REJECT fails the handshake with the server's code, then FIN", async () => {
    const { connection, socket } = client();
    await tick();
    socket.log.length = 0;
    socket.handlers.data(vector("reject"));
    const failure = await connection.ready.then(
      () => undefined,
      (e: unknown) => e as FramewireError & { reasonCode: string },
    );
    expect(failure?.code).toBe(ErrorCode.HANDSHAKE_REJECTED);
    expect(failure?.reasonCode).toBe("FW_SERVER_FULL");
    await tick();
    expect(socket.frames()).toEqual(["FIN"]);
    expect((await finish(connection)).code).toBe(ErrorCode.HANDSHAKE_REJECTED);
  });

  test("client: GOAWAY from the peer → flush, FIN, no GOAWAY back; close code is the peer's", async () => {
    const { connection, socket } = await openClient();
    const goaways: unknown[] = [];
    connection.on("goaway", (r) => goaways.push(r));
    socket.log.length = 0;
    socket.handlers.data(vector("goaway"));
    expect(goaways).toEqual([{ code: "FW_SHUTDOWN", reason: "bye" }]);
    expect(connection.send(utf8("late"))).toBe("closed");
    await tick();
    expect(socket.frames()).toEqual(["FIN"]);
    socket.peerFin();
    const info = await connection.closed();
    expect([info.code, info.reason, info.remote, info.error]).toEqual(["FW_SHUTDOWN", "bye", true, undefined]);
  });

  const fatal: [string, ErrorCode][] = [
    ["reserved-type", ErrorCode.PROTOCOL],
    ["empty-frame", ErrorCode.MALFORMED_FRAME],
    ["oversize-header", ErrorCode.FRAME_TOO_LARGE],
  ];
  for (const [name, code] of fatal) {
    test(`client, open: vector ${name} → GOAWAY ${code}, FIN`, async () => {
      const { connection, socket } = await openClient();
      socket.log.length = 0;
      socket.handlers.data(vector(name));
      await tick();
      const frames = socket.frames();
      expect(frames.length).toBe(2);
      expect(reasonOf(frames[0], FrameType.GOAWAY)).toBe(code);
      expect(frames[1]).toBe("FIN");
      expect((await finish(connection)).code).toBe(code);
    });
  }

  test("client, open: the largest legal length header does not close", async () => {
    const { connection, socket } = await openClient();
    socket.log.length = 0;
    socket.handlers.data(vector("max-header"));
    await tick();
    expect(connection.state).toBe("open");
    expect(socket.log).toEqual([]);
    await finish(connection);
  });

  test("client, open: every frame type not in v1 closes with FW_PROTOCOL_ERROR", async () => {
    const notInV1 = parseTable(DOC, "frame-types")
      .filter((r) => r[2] !== "yes")
      .map((r) => Number.parseInt(r[0] as string, 16));
    for (const type of [...notInV1, 0x0c, 0x7f, 0x80, 0xff]) {
      const { connection, socket } = await openClient();
      socket.log.length = 0;
      socket.handlers.data(frame(type, new Uint8Array(0)));
      await tick();
      expect([type, reasonOf(socket.frames()[0], FrameType.GOAWAY)]).toEqual([type, ErrorCode.PROTOCOL]);
      await finish(connection);
    }
  });

  test("client, handshaking: DATA or PING before WELCOME → FW_PROTOCOL_ERROR, FIN only", async () => {
    for (const name of ["data-hi", "ping"]) {
      const { connection, socket } = client();
      await tick();
      socket.log.length = 0;
      socket.handlers.data(vector(name));
      await tick();
      expect(socket.frames()).toEqual(["FIN"]);
      expect((await finish(connection)).code).toBe(ErrorCode.PROTOCOL);
    }
  });

  test("server: HELLO → WELCOME with the server's version, limit and interval", async () => {
    const { connection, socket } = server();
    socket.handlers.data(vector("hello"));
    await connection.ready;
    await tick();
    const frames = socket.frames();
    expect(frames.length).toBe(1);
    const welcome = frames[0] as { type: number; fields: Uint8Array };
    expect(welcome.type).toBe(FrameType.WELCOME);
    const fields = { version: 1, session: "abc", tags: {}, maxFrameSize: 16 * MiB, heartbeatMs: 15000 };
    expect(decodeWelcome(welcome.fields)).toStrictEqual(fields);
    expect(socket.bytes()).toEqual(frame(FrameType.WELCOME, encodeWelcome(fields)));
    expect(connection.peerTags).toEqual({ region: "eu" });
    await finish(connection);
  });

  test("server, handshaking: anything but HELLO, or an oversize header → REJECT with the code, FIN", async () => {
    const cases: [string, string][] = [
      ["data-hi", ErrorCode.PROTOCOL],
      ["ping", ErrorCode.PROTOCOL],
      ["welcome", ErrorCode.PROTOCOL],
      ["oversize-header", ErrorCode.FRAME_TOO_LARGE],
      ["empty-frame", ErrorCode.MALFORMED_FRAME],
    ];
    for (const [name, code] of cases) {
      const { connection, socket } = server();
      socket.handlers.data(vector(name));
      await tick();
      const frames = socket.frames();
      expect([name, frames.length]).toEqual([name, 2]);
      expect([name, reasonOf(frames[0], FrameType.REJECT)]).toEqual([name, code]);
      expect(frames[1]).toBe("FIN");
      await finish(connection);
    }
  });

  test("server: HELLO without a common version → REJECT FW_VERSION_MISMATCH", async () => {
    const { connection, socket } = server();
    socket.handlers.data(frame(FrameType.HELLO, encodeHello({ minVersion: 2, maxVersion: 3, tags: {} })));
    await tick();
    expect(reasonOf(socket.frames()[0], FrameType.REJECT)).toBe(ErrorCode.VERSION_MISMATCH);
    await finish(connection);
  });
});
