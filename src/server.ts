import type { Listener, RawSocket, SocketAdapter } from "./adapter.ts";
import { type Codec, encodeWith, resolveCodec } from "./codec/index.ts";
import { isSendableCode, truncateReason } from "./codes.ts";
import { type CloseInfo, Connection, type ConnectionOwner, type ConnectionSendStatus, type ConnectionStats, type ServerHandshake } from "./connection.ts";
import { TypedEmitter } from "./emitter.ts";
import { ErrorCode } from "./codes.ts";
import { FrameTooLargeError, FramewireError, HandlerError, InvalidOptionError, QueueFullError, reasonForPeer, SessionExpiredError, toFramewireError } from "./errors.ts";
import type { ServerVerdict } from "./handshake.ts";
import { ServerAuthGate } from "./auth/server-gate.ts";
import { RateLimiter } from "./flow/rate-limiter.ts";
import { type SendOptions, sendLevel } from "./flow/send-lanes.ts";
import { SessionRegistry } from "./session/registry.ts";
import { keepsSession, randomHex, type Session } from "./session/session.ts";
import { MAX_TIMER_MS, type ResolvedConnectionOptions } from "./options.ts";
import type { Hello, Reason } from "./protocol/wire.ts";
import type { AuthIdentity } from "./auth/authenticator.ts";
import { type HandshakeVerdict, resolveServerOptions, type ServerOptions, type ServerSettings } from "./server-options.ts";
import { integer } from "./validate.ts";
import { Admission } from "./limits/admission.ts";
import { PendingFrameBudget } from "./limits/pending-budget.ts";
import { TlsHandshakeGate } from "./limits/tls-gate.ts";
import { LimitCounters, type LimitStats, REFUSE_LINGER_MS, MAX_LINGERING_REFUSALS } from "./limits/server-limits.ts";

export type { HandshakeInfo, HandshakeVerdict, ServerOptions } from "./server-options.ts";

export interface ServerStats extends Omit<ConnectionStats, "rttMs" | "srttMs" | "inboundQueued" | "inboundQueuedBytes"> {
  /** Open connections now (handshake done). */
  connections: number;
  /** Sockets accepted since listen, including those whose handshake failed. */
  accepted: number;
  /** Sockets refused: handshake rejected or failed, or over `maxConnections`. */
  rejected: number;
  /** What the limits refused or closed, by cause (docs/security.md). */
  limits: LimitStats;
  /** Bytes of partially received frames held now, over all connections (bounded by `maxPendingFrameBytes`). */
  pendingFrameBytes: number;
  /** TLS listeners: TLS handshakes in flight now (bounded like connections: `maxConnections`, `maxConnectionsPerAddress`); 0 without TLS. */
  tlsHandshakes: number;
}

/** Per-connection outcome counts of {@link Server.broadcast}. */
export interface BroadcastResult {
  queued: number;
  backpressure: number;
  dropped: number;
  /** Connections whose queue was full under overflow `"error"`. */
  full: number;
  /** Connections whose peer accepts smaller messages than this one (its announced `maxFrameSize`). */
  tooLarge: number;
  closed: number;
}

/** A server's events. Listeners may be async; a rejected promise counts as a throw. */
export type ServerEvents<T> = {
  /** A connection completed its handshake (at once in raw mode). A listener that throws or rejects closes it (`FW_HANDLER_ERROR`). */
  connection: (connection: Connection<T>) => void;
  /** An accepted socket never became a connection (handshake rejected, failed, or server full). */
  reject: (error: FramewireError, remote: { address: string; port: number }) => void;
  /** An error on one of the connections (the connection emits it too, then closes). */
  error: (error: FramewireError, connection: Connection<T>) => void;
  /**
   * A resumable session ended with messages its client never acknowledged: its time to come back
   * passed (`error` is a `SessionExpiredError`), the server closed, or its connection closed for
   * good. They are handed back, decoded, so the application decides what to do with them.
   */
  unacknowledged: (info: { sessionId: string; messages: T[]; error: FramewireError }) => void;
  /** The server has stopped and every connection is closed. */
  close: () => void;
};

type Totals = { framesIn: number; framesOut: number; bytesIn: number; bytesOut: number; drops: number; undelivered: number };

/** A listening framewire server. Create it with `listen()`. */
export class Server<T = Uint8Array> extends TypedEmitter<ServerEvents<T>> {
  readonly adapter: SocketAdapter;
  readonly #listener: Listener;
  readonly #options: ResolvedConnectionOptions;
  readonly #codecOption: ServerOptions<T>["codec"];
  readonly #codec: Codec<T>;
  /** Slots: maxConnections, per address, connection rate. */
  readonly #admission: Admission;
  /** Connections holding a slot of `#admission`, until they start closing. */
  readonly #slotted = new Set<Connection<T>>();
  readonly #pendingFrames: PendingFrameBudget;
  readonly #limitCounters: LimitCounters;
  /** TLS listeners: the TLS handshakes in flight (src/limits/tls-gate.ts). */
  readonly #tlsGate: TlsHandshakeGate | undefined;
  readonly #shutdownTimeoutMs: number;
  /** Resumable sessions (resume on). */
  readonly #sessions: SessionRegistry<Connection<T>> | undefined;
  readonly #handshake: ServerHandshake;
  /** `serverRateLimit`: one bucket for every connection's outbound DATA. */
  readonly #rateLimiter: RateLimiter | undefined;
  /** Every accepted socket's connection, handshaking or open. */
  readonly #all = new Set<Connection<T>>();
  readonly #open = new Map<number, Connection<T>>();
  /** Sockets refused because the server was full or closing, until they close. */
  readonly #refusing = new Set<Connection<T>>();
  #nextId = 1;
  #accepted = 0;
  #rejected = 0;
  readonly #closedTotals: Totals = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, drops: 0, undelivered: 0 };
  #closing: Promise<void> | undefined;

  /**
   * @internal Use `listen()`. Every option is checked before the port is bound, so a bad one
   * leaves nothing listening.
   */
  static async start<T>(adapter: SocketAdapter, options: ServerOptions<T>): Promise<Server<T>> {
    const settings = resolveServerOptions(options, adapter);
    let server: Server<T> | undefined;
    let listener: Listener;
    // Sockets TLS refuses never become connections: the adapter reports them for the counters,
    // and the gate bounds the TLS handshakes in flight before they cost a key exchange.
    const counters = new LimitCounters();
    const tls = settings.listen.tls;
    const tlsGate = tls === undefined ? undefined : new TlsHandshakeGate(settings.maxConnections, settings.limits.maxConnectionsPerAddress, tls.handshakeTimeoutMs + 1000);
    const listen =
      tlsGate === undefined
        ? settings.listen
        : {
            ...settings.listen,
            admit: (address: string, port: number): boolean => {
              const refusal = tlsGate.enter(address, port, performance.now());
              if (refusal !== undefined) counters.count(refusal);
              return refusal === undefined;
            },
            onRefused: (_error: Error, address: string, port: number): void => {
              tlsGate.leave(address, port);
              counters.count(ErrorCode.TLS_FAILED);
            },
          };
    try {
      listener = await adapter.listen(listen, (socket) => (server as Server<T>).#accept(socket));
    } catch (error) {
      throw toFramewireError(error);
    }
    server = new Server<T>(adapter, listener, settings, options, { counters, tlsGate });
    return server;
  }

  private constructor(adapter: SocketAdapter, listener: Listener, settings: ServerSettings, raw: ServerOptions<T>, tallies: { counters: LimitCounters; tlsGate: TlsHandshakeGate | undefined }) {
    super();
    this.#limitCounters = tallies.counters;
    this.#tlsGate = tallies.tlsGate;
    this.adapter = adapter;
    this.#listener = listener;
    this.#options = settings.connection;
    this.#codecOption = raw.codec;
    this.#codec = settings.codec as Codec<T>;
    this.#admission = new Admission(settings.maxConnections, settings.limits);
    this.#pendingFrames = new PendingFrameBudget(settings.limits.maxPendingFrameBytes);
    this.#shutdownTimeoutMs = settings.shutdownTimeoutMs;
    this.#rateLimiter = settings.serverRateLimit === undefined ? undefined : new RateLimiter(settings.serverRateLimit);
    const verify = settings.verifyHandshake;
    this.#sessions = settings.resume === undefined ? undefined : new SessionRegistry<Connection<T>>(settings.resume, (session) => this.#handBack(session, new SessionExpiredError(session.id)));
    this.#handshake = {
      heartbeatMs: settings.connection.heartbeatIntervalMs,
      tags: settings.connection.tags,
      accept: (hello, version, connection, identity) => this.#verify(verify, hello, version, connection, identity),
      auth: settings.auth === undefined ? undefined : new ServerAuthGate(settings.auth),
      opened: (connection) => this.#opened(connection as Connection<T>),
    };
  }

  /** The bound port (useful with `port: 0`); 0 for a Unix socket. */
  get port(): number {
    return this.#listener.port;
  }

  get host(): string {
    return this.#listener.host;
  }

  /** Open connections (handshake done), by id. */
  get connections(): ReadonlyMap<number, Connection<T>> {
    return this.#open;
  }

  get connectionCount(): number {
    return this.#open.size;
  }

  getConnection(id: number): Connection<T> | undefined {
    return this.#open.get(id);
  }

  /**
   * Sends one message to every open connection (or those `filter` keeps), encoding it once. One
   * connection never stops the others: a full queue or a peer that accepts smaller messages is
   * counted in the result (`full`, `tooLarge`) and the broadcast goes on.
   * `options` as for `send()` (a priority is refused with resume, before anything is sent).
   * @throws CodecError when the message cannot be encoded, or what `filter` throws (nothing is
   * sent then).
   */
  broadcast(message: T, filter?: (connection: Connection<T>) => boolean, options?: SendOptions): BroadcastResult {
    if (options !== undefined) sendLevel(options, this.#sessions !== undefined);
    const payload = encodeWith(this.#codec, message);
    const result: BroadcastResult = { queued: 0, backpressure: 0, dropped: 0, full: 0, tooLarge: 0, closed: 0 };
    // The filter runs for every connection first: if it throws, nobody got the message yet.
    const targets = filter === undefined ? this.#open.values() : [...this.#open.values()].filter(filter);
    for (const connection of targets) {
      let status: ConnectionSendStatus;
      try {
        status = connection.sendEncoded(payload, options);
      } catch (error) {
        if (error instanceof QueueFullError) result.full++;
        else if (error instanceof FrameTooLargeError) result.tooLarge++;
        else throw error; // a framewire bug: nothing else can come out of sendEncoded
        continue;
      }
      result[status]++;
    }
    return result;
  }

  /**
   * Stops accepting, sends GOAWAY (`FW_SHUTDOWN`) to every connection, lets them drain for up to
   * `graceMs`, then destroys what is left. Resolves when all are closed. Idempotent.
   */
  close(graceMs: number = this.#shutdownTimeoutMs): Promise<void> {
    this.#closing ??= this.#shutdown(integer("close graceMs", graceMs, this.#shutdownTimeoutMs, 0, MAX_TIMER_MS));
    return this.#closing;
  }

  stats(): ServerStats {
    const totals = { ...this.#closedTotals };
    let bufferedAmount = 0;
    for (const connection of this.#all) {
      const s = connection.stats();
      totals.framesIn += s.framesIn;
      totals.framesOut += s.framesOut;
      totals.bytesIn += s.bytesIn;
      totals.bytesOut += s.bytesOut;
      totals.drops += s.drops;
      totals.undelivered += s.undelivered;
      bufferedAmount += s.bufferedAmount;
    }
    return {
      ...totals,
      bufferedAmount,
      connections: this.#open.size,
      accepted: this.#accepted,
      rejected: this.#rejected,
      limits: this.#limitCounters.snapshot(),
      pendingFrameBytes: this.#pendingFrames.held,
      tlsHandshakes: this.#tlsGate?.inFlight ?? 0,
    };
  }

  async #shutdown(graceMs: number): Promise<void> {
    await this.#listener.close();
    const all = [...this.#all];
    for (const connection of all) void connection.close(ErrorCode.SHUTDOWN, "server shutting down");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(all.map((c) => c.closed())), grace]);
    clearTimeout(timer);
    for (const connection of this.#all) connection.destroy();
    await Promise.all(all.map((c) => c.closed()));
    this.#sessions?.closeAll();
    try {
      this.emit("close");
    } catch {
      // The server is closed either way.
    }
  }

  #accept(socket: RawSocket) {
    this.#accepted++;
    // Its TLS handshake is done: from here the connection limits count it.
    this.#tlsGate?.leave(socket.remoteAddress, socket.remotePort);
    // Only handshaking and open connections hold a slot (src/limits/admission.ts).
    const refusal = this.#closing !== undefined ? { code: ErrorCode.SHUTDOWN, reason: "server shutting down" } : this.#admission.admit(socket.remoteAddress, performance.now());
    const connection = new Connection<T>({
      id: this.#nextId++,
      role: "server",
      socket,
      adapter: this.adapter,
      options: this.#options,
      // One codec per connection: codecs like cbor keep encoder state.
      codec: resolveCodec<T>(this.#codecOption),
      serverHandshake: this.#handshake,
      owner: this.#owner,
      pending: this.#pendingFrames.share(),
      ...(this.#rateLimiter === undefined ? {} : { sharedLimiter: this.#rateLimiter }),
    });
    this.#all.add(connection);
    if (refusal !== undefined) {
      this.#limitCounters.count(refusal.code);
      // A refused socket gets REJECT and a short while to read it; past a bound of such sockets, none.
      connection.refuse(refusal, this.#refusing.size >= MAX_LINGERING_REFUSALS ? 0 : REFUSE_LINGER_MS);
      this.#refusing.add(connection);
      return connection.handlers;
    }
    this.#slotted.add(connection);
    // Raw mode has no handshake: the connection is open now.
    if (this.#options.protocol === "raw") queueMicrotask(() => this.#opened(connection));
    return connection.handlers;
  }

  /** The connection is open: register it and hand it to `connection` listeners. */
  #opened(connection: Connection<T>): void {
    if (connection.state !== "open") return;
    const session = connection.session;
    if (session !== undefined) this.#sessions?.attach(session, connection);
    this.#open.set(connection.id, connection);
    try {
      this.emit("connection", connection);
    } catch (error) {
      connection.fail(new HandlerError("connection listener", error));
    }
  }

  /** An async `connection` listener rejected: that connection closes, as for a throw. Other events' failures are dropped. */
  protected override listenerRejected<K extends keyof ServerEvents<T>>(event: K, error: unknown, args: Parameters<ServerEvents<T>[K]>): void {
    if (event === "connection") (args[0] as Connection<T>).fail(new HandlerError("connection listener", error));
  }

  /** Each connection reports its errors and its close here, before its own listeners hear of them. */
  readonly #owner: ConnectionOwner = {
    errored: (connection, error) => {
      this.#limitCounters.count(error.code);
      if (this.#open.has(connection.id)) this.#safeEmit("error", error, connection as Connection<T>);
    },
    closing: (connection) => this.#leaveSlot(connection as Connection<T>),
    closed: (connection, info) => this.#forget(connection as Connection<T>, info),
  };

  /** A closing or closed connection gives its slot back (once). */
  #leaveSlot(connection: Connection<T>): void {
    if (this.#slotted.delete(connection)) this.#admission.leave(connection.remoteAddress, performance.now());
  }

  #forget(connection: Connection<T>, info: CloseInfo): void {
    const session = connection.session;
    const sessions = this.#sessions;
    if (session !== undefined && sessions !== undefined) {
      // A lost link keeps the session for its client to come back; an orderly close or a failure ends it.
      if (this.#closing === undefined && keepsSession(info)) sessions.detach(session, connection);
      else if (sessions.end(session, connection)) {
        this.#handBack(session, info.error ?? new SessionExpiredError(session.id, `session ${session.id} closed: ${info.code}`));
      }
    }
    this.#leaveSlot(connection);
    this.#all.delete(connection);
    this.#refusing.delete(connection);
    const wasOpen = this.#open.delete(connection.id);
    const s = connection.stats();
    const totals = this.#closedTotals;
    totals.framesIn += s.framesIn;
    totals.framesOut += s.framesOut;
    totals.bytesIn += s.bytesIn;
    totals.bytesOut += s.bytesOut;
    totals.drops += s.drops;
    totals.undelivered += s.undelivered;
    if (!wasOpen && info.error !== undefined) {
      this.#rejected++;
      this.#safeEmit("reject", info.error, { address: connection.remoteAddress, port: connection.remotePort });
    }
  }

  /** The verdict on a HELLO. Never rejects: a failing `verifyHandshake` becomes a rejection with `FW_HANDLER_ERROR`. */
  async #verify(
    verify: ServerOptions<T>["verifyHandshake"],
    hello: Hello,
    version: number,
    connection: Connection<unknown>,
    identity?: AuthIdentity,
  ): Promise<ServerVerdict> {
    if (verify !== undefined) {
      let verdict: HandshakeVerdict;
      try {
        verdict = await verify({
          version,
          app: hello.app,
          tags: hello.tags ?? {},
          remoteAddress: connection.remoteAddress,
          remotePort: connection.remotePort,
          identity,
          tls: connection.tls,
        });
      } catch (error) {
        return handlerFailure(error);
      }
      if (verdict === false) return { code: ErrorCode.HANDSHAKE_REJECTED, reason: "rejected by verifyHandshake" };
      if (typeof verdict === "object" && verdict !== null) {
        if (!isSendableCode(verdict.code)) {
          return handlerFailure(
            new InvalidOptionError(`verifyHandshake returned the code ${JSON.stringify(verdict.code)}; codes match [A-Z][A-Z0-9_]* (at most 64 characters) and are yours or framewire's`),
          );
        }
        return { code: verdict.code, reason: truncateReason(typeof verdict.reason === "string" ? verdict.reason : "") };
      }
      if (verdict !== true && verdict !== undefined) {
        return handlerFailure(new InvalidOptionError(`verifyHandshake returned ${typeof verdict}; expected a boolean, undefined or { code, reason }`));
      }
    }
    const sessions = this.#sessions;
    const asked = hello.resume;
    if (sessions === undefined || asked === undefined) return { session: randomSessionId() };
    // A connection the application is closing in order takes its session with it.
    const found = sessions.lookup(asked, randomSessionId(), (carrier) => carrier.state !== "open" && carrier.closeInfo !== undefined && !keepsSession(carrier.closeInfo));
    if (found.kind === "refused") return { code: ErrorCode.SESSION_INVALID, reason: found.reason };
    const session = found.session;
    let peerReceived = 0;
    if (found.kind === "resume") {
      // The client came back before its old connection was seen to die: that one stops reading now,
      // so the count WELCOME gives is final; what it had not parsed is sent again.
      found.previous?.destroy(new FramewireError(ErrorCode.SESSION_MOVED, "the session continues on a newer connection"));
      peerReceived = found.peerReceived;
    }
    return {
      session: session.id,
      resume: {
        welcome: { token: session.token, resumed: found.kind === "resume", received: session.received, maxUnackedBytes: sessions.limits.maxUnackedBytes },
        session,
        peerReceived,
      },
    };
  }

  /** A session ended with unacknowledged messages: hand them to the application. */
  #handBack(session: Session, error: FramewireError): void {
    if (session.log.unacked === 0) return;
    const messages = session.takeUnacknowledged((payload) => this.#codec.decode(payload));
    this.#safeEmit("unacknowledged", { sessionId: session.id, messages, error });
  }

  #safeEmit<K extends keyof ServerEvents<T>>(event: K, ...args: Parameters<ServerEvents<T>[K]>): void {
    try {
      this.emit(event, ...args);
    } catch {
      // A throwing server-level listener must not take down the connection machinery.
    }
  }
}

/** A rejection for a failed `verifyHandshake`: the client gets the code, the server keeps the detail. */
function handlerFailure(cause: unknown): Reason & { error: FramewireError } {
  const error = new HandlerError("verifyHandshake", cause);
  return { code: ErrorCode.HANDLER, reason: reasonForPeer(error), error };
}

/** 96 random bits: session ids are unguessable too (they name resumable sessions). */
function randomSessionId(): string {
  return randomHex(12);
}

