/**
 * The framewire handshake of one connection: HELLO → WELCOME or REJECT (docs/protocol.md §5).
 *
 * It lives only while the connection is handshaking; the connection keeps what was negotiated
 * and lets this object go. The client sends HELLO at once; the server parses HELLO, holds every
 * later frame while the application's `verifyHandshake` decides, then answers. Frames reach this
 * object only in the handshaking state, so anything unexpected is a protocol error here.
 */
import { ErrorCode } from "./codes.ts";
import { type FramewireError, HandlerError, HandshakeError, HandshakeRejectedError, ProtocolError, reasonForPeer, toFramewireError } from "./errors.ts";
import {
  chooseVersion,
  decodeHello,
  decodeReason,
  decodeWelcome,
  encodeHello,
  encodeReason,
  encodeWelcome,
  FrameType,
  type Hello,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type Reason,
  type Welcome,
} from "./protocol/wire.ts";
import type { ResumeWelcome } from "./protocol/resume.ts";
import type { AuthIdentity } from "./auth/authenticator.ts";
import { checkWelcome, type ResolvedClientAuth, signHello } from "./auth/client-auth.ts";
import { AuthRejectedError, isAuthRejection } from "./auth/errors.ts";
import { type AuthPassed, ServerAuthGate } from "./auth/server-gate.ts";
import type { ResolvedResume } from "./session/options.ts";
import { parseToken, Session } from "./session/session.ts";

/** What the server supplies to run the server side of the handshake. */
export interface ServerHandshake<C> {
  /**
   * `version` is the one chosen from HELLO's range. Returns a WELCOME's fields, or a rejection (`error`: the local detail of a failed verdict,
   * which the peer does not see).
   */
  accept(hello: Hello, version: number, connection: C, identity: AuthIdentity | undefined): Promise<ServerVerdict>;
  heartbeatMs: number;
  /** The authenticated handshake (`listen({ auth })`): checks every HELLO before `accept`. */
  auth?: ServerAuthGate | undefined;
  tags: Record<string, string>;
  /**
   * Called as soon as the connection is open, before any frame after HELLO is parsed, so the
   * server's `connection` listeners attach before the first message or error.
   */
  opened(connection: C): void;
}

/** The server's answer to a HELLO. */
export type ServerVerdict =
  | { session: string; resume?: { welcome: ResumeWelcome; session: Session; peerReceived: number } }
  | (Reason & { error?: FramewireError });

/** A resumable session both sides agreed on for this connection. */
export interface AgreedSession {
  session: Session;
  /** This connection continues the session (false: it starts it). */
  resumed: boolean;
  /** DATA frames of the session the peer says it has received. */
  peerReceived: number;
}

/** What both sides agreed on. */
export interface Negotiated {
  version: number;
  session: string;
  peerTags: Readonly<Record<string, string>>;
  /** The peer's announced `maxFrameSize` (absent: it announced none). */
  peerMaxFrame: number | undefined;
  /** Heartbeat interval both sides use (0: off). */
  heartbeatMs: number;
  /** Resumable sessions, when both sides agreed. */
  resume?: AgreedSession;
  /** Server side: who the client proved to be (authenticated handshake). */
  identity?: AuthIdentity;
}

/** What a handshake needs from its connection. */
export interface HandshakeHost {
  /** Queue a handshake frame. */
  sendControl(type: number, body: Uint8Array): void;
  /** Hold (true) or release (false) the frames after HELLO while the verdict is pending. */
  holdReading(hold: boolean): void;
  /** Agreed: the connection opens. */
  agreed(result: Negotiated): void;
  /**
   * Refused. `local`: this side (a server) refused and has queued REJECT; otherwise the peer's
   * REJECT arrived. `error` is what the connection reports.
   */
  refused(reason: Reason, error: FramewireError, local: boolean): void;
  /** The handshake failed another way (timeout, a verdict that threw). */
  handshakeFailed(error: FramewireError): void;
}

/** What this side announces in its handshake frame. */
export interface HandshakeSettings {
  timeoutMs: number;
  maxFrameSize: number;
  tags: Record<string, string>;
  /** Client: the application's version string for HELLO. */
  app?: string | undefined;
  /** Client, resume on: its bounds, and the session to re-attach (if any). */
  resume?: { limits: ResolvedResume; offer: Session | undefined } | undefined;
  /** Client, authenticated handshake: how it proves itself, and whether it requires the server's proof. */
  auth?: ResolvedClientAuth | undefined;
}

export class Handshake<C> {
  readonly #host: HandshakeHost;
  readonly #settings: HandshakeSettings;
  /** Server side only. */
  readonly #server: ServerHandshake<C> | undefined;
  readonly #connection: C;
  #helloSeen = false;
  /** Authenticated handshake: HELLO's fields as sent (client) or received (server), which the server's proof covers. */
  #helloFields: Uint8Array | undefined;
  /** Over: agreed, refused or failed; a late verdict changes nothing. */
  #over = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Starts the handshake: arms its timeout; a client sends HELLO. */
  constructor(host: HandshakeHost, settings: HandshakeSettings, connection: C, server?: ServerHandshake<C>) {
    this.#host = host;
    this.#settings = settings;
    this.#server = server;
    this.#connection = connection;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#end();
      host.handshakeFailed(new HandshakeError(ErrorCode.HANDSHAKE_TIMEOUT, `handshake did not complete in ${settings.timeoutMs} ms`));
    }, settings.timeoutMs);
    if (server === undefined) {
      const hello: Hello = {
        minVersion: PROTOCOL_VERSION_MIN,
        maxVersion: PROTOCOL_VERSION_MAX,
        ...(settings.app !== undefined ? { app: settings.app } : {}),
        tags: settings.tags,
        maxFrameSize: settings.maxFrameSize,
        ...(settings.resume !== undefined ? { resume: resumeHello(settings.resume.limits, settings.resume.offer) } : {}),
      };
      if (settings.auth === undefined) host.sendControl(FrameType.HELLO, encodeHello(hello));
      else this.#sendSignedHello(settings.auth, hello);
    }
  }

  /** Authenticated handshake: HELLO goes out once it is signed (WebCrypto is asynchronous). */
  #sendSignedHello(auth: ResolvedClientAuth, hello: Hello): void {
    signHello(auth, (a) => encodeHello({ ...hello, auth: a }), Date.now()).then(
      (fields) => {
        if (this.#over) return;
        this.#helloFields = fields;
        this.#host.sendControl(FrameType.HELLO, fields);
      },
      (error: unknown) => this.#failed(error),
    );
  }

  /** A step of the handshake failed (an authenticator, a verdict that threw): the connection fails, unless it is already over. */
  #failed(error: unknown): void {
    if (this.#over) return;
    this.#end();
    this.#host.handshakeFailed(toFramewireError(error, ErrorCode.HANDLER));
  }

  /** A frame of type HELLO, WELCOME or REJECT arrived. @throws ProtocolError, HandshakeError */
  onFrame(type: number, body: Uint8Array): void {
    if (this.#over) throw new ProtocolError("handshake frame after the handshake ended");
    switch (type) {
      case FrameType.HELLO:
        if (this.#server === undefined || this.#helloSeen) throw new ProtocolError("unexpected HELLO");
        this.#helloSeen = true;
        this.#onHello(this.#server, decodeHello(body), body);
        return;
      case FrameType.WELCOME: {
        if (this.#server !== undefined) throw new ProtocolError("unexpected WELCOME");
        const welcome = decodeWelcome(body);
        if (welcome.version < PROTOCOL_VERSION_MIN || welcome.version > PROTOCOL_VERSION_MAX) {
          throw new HandshakeError(ErrorCode.VERSION_MISMATCH, `server chose unsupported version ${welcome.version}`);
        }
        const resume = this.#clientSession(welcome.resume);
        const agreed: Negotiated = {
          version: welcome.version,
          session: welcome.session,
          peerTags: welcome.tags ?? {},
          peerMaxFrame: welcome.maxFrameSize,
          heartbeatMs: welcome.heartbeatMs,
          ...(resume !== undefined ? { resume } : {}),
        };
        const auth = this.#settings.auth;
        if (auth === undefined || !auth.requireServerProof) {
          this.#end();
          this.#host.agreed(agreed);
        } else {
          this.#checkServer(auth, body.slice(), welcome, agreed);
        }
        return;
      }
      case FrameType.REJECT: {
        if (this.#server !== undefined) throw new ProtocolError("unexpected REJECT");
        const reason = decodeReason(body, "REJECT");
        this.#end();
        const error = isAuthRejection(reason.code) ? new AuthRejectedError(reason.code, reason.reason) : new HandshakeRejectedError(reason.code, reason.reason);
        this.#host.refused(reason, error, false);
        return;
      }
      default:
        throw new ProtocolError(`frame type 0x${type.toString(16).padStart(2, "0")} before the handshake completed`);
    }
  }

  /** The connection closed or failed first: no timer, no late verdict. */
  stop(): void {
    this.#end();
  }

  #end(): void {
    this.#over = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #onHello(server: ServerHandshake<C>, hello: Hello, body: Uint8Array): void {
    const version = chooseVersion(hello.minVersion, hello.maxVersion);
    if (version < 0) {
      this.refuse({ code: ErrorCode.VERSION_MISMATCH, reason: `server speaks versions ${PROTOCOL_VERSION_MIN}-${PROTOCOL_VERSION_MAX}, client ${hello.minVersion}-${hello.maxVersion}` });
      return;
    }
    // Frames after HELLO wait for the verdict: nothing reaches the application before WELCOME.
    this.#host.holdReading(true);
    // The decoder reuses its buffer: keep the fields the proofs cover.
    if (server.auth !== undefined) this.#helloFields = body.slice();
    void this.#serve(server, hello, version);
  }

  /** Server: authentication (if on), the verdict, then WELCOME (signed when the client asked) or REJECT. Never rejects. */
  async #serve(server: ServerHandshake<C>, hello: Hello, version: number): Promise<void> {
    const host = this.#host;
    try {
      const gate = server.auth;
      const fields = this.#helloFields;
      let passed: AuthPassed = { identity: undefined };
      if (gate !== undefined && fields !== undefined) {
        const outcome = await gate.check(hello.auth, fields);
        if (this.#over) return;
        if ("code" in outcome) {
          this.refuse(outcome, outcome.error);
          return;
        }
        passed = outcome;
      }
      let verdict: ServerVerdict;
      try {
        verdict = await server.accept(hello, version, this.#connection, passed.identity);
      } catch (error) {
        // Not reachable through Server (its accept() never rejects); kept so no path leaves the handshake hanging.
        const failure = new HandlerError("verifyHandshake", error);
        if (!this.#over) this.refuse({ code: ErrorCode.HANDLER, reason: reasonForPeer(failure) }, failure);
        return;
      }
      if (this.#over) return;
      if ("code" in verdict) {
        this.refuse(verdict, verdict.error);
        return;
      }
      const welcome: Welcome = {
        version,
        session: verdict.session,
        tags: server.tags,
        maxFrameSize: this.#settings.maxFrameSize,
        heartbeatMs: server.heartbeatMs,
        ...(verdict.resume !== undefined ? { resume: verdict.resume.welcome } : {}),
      };
      const welcomeFields = fields === undefined ? encodeWelcome(welcome) : await ServerAuthGate.welcome(passed, fields, welcome, encodeWelcome);
      if (this.#over) return;
      this.#end();
      host.sendControl(FrameType.WELCOME, welcomeFields);
      const resume = verdict.resume;
      host.agreed({
        version,
        session: verdict.session,
        peerTags: hello.tags ?? {},
        peerMaxFrame: hello.maxFrameSize,
        heartbeatMs: server.heartbeatMs,
        ...(resume !== undefined ? { resume: { session: resume.session, resumed: resume.welcome.resumed, peerReceived: resume.peerReceived } } : {}),
        ...(passed.identity !== undefined ? { identity: passed.identity } : {}),
      });
      server.opened(this.#connection);
    } catch (error) {
      // Nothing may escape: it would be an unhandled rejection.
      this.#end();
      host.handshakeFailed(toFramewireError(error, ErrorCode.HANDLER));
    } finally {
      // Refused or failed too: keep reading (and discarding) so the peer's FIN is seen.
      host.holdReading(false);
    }
  }

  /** Client, `requireServerProof`: WELCOME opens the connection only once the server's proof verified. */
  #checkServer(auth: ResolvedClientAuth, fields: Uint8Array, welcome: Welcome, agreed: Negotiated): void {
    const host = this.#host;
    // Frames behind WELCOME wait until the server is known to be the right one.
    host.holdReading(true);
    checkWelcome(auth, this.#helloFields ?? new Uint8Array(0), fields, welcome)
      .then(
        (failure) => {
          if (this.#over) return;
          this.#end();
          if (failure !== undefined) host.handshakeFailed(failure);
          else host.agreed(agreed);
        },
        (error: unknown) => this.#failed(error),
      )
      .catch((error: unknown) => {
        // agreed() itself threw: a bug, but never an unhandled rejection.
        host.handshakeFailed(toFramewireError(error, ErrorCode.HANDLER));
      })
      .finally(() => host.holdReading(false));
  }

  /** Client: the session WELCOME gives this connection (none when the server does not do resume). */
  #clientSession(welcome: ResumeWelcome | undefined): AgreedSession | undefined {
    const asked = this.#settings.resume;
    if (welcome === undefined) return undefined;
    if (asked === undefined) throw new ProtocolError("WELCOME offers a resumable session the client did not ask for");
    const offer = asked.offer;
    if (welcome.resumed) {
      if (offer === undefined || welcome.token !== offer.token) throw new ProtocolError("WELCOME resumes a session the client did not offer");
      offer.peerMaxUnacked = welcome.maxUnackedBytes;
      return { session: offer, resumed: true, peerReceived: welcome.received };
    }
    const parts = parseToken(welcome.token);
    if (parts === undefined) throw new ProtocolError("WELCOME resume token is not <session>.<secret>");
    if (welcome.received !== 0) throw new ProtocolError("WELCOME starts a session with frames already received");
    return { session: new Session(parts.id, parts.secret, asked.limits, welcome.maxUnackedBytes), resumed: false, peerReceived: 0 };
  }

  /** Server side: REJECT with a code the client receives; the connection then closes. */
  refuse(reason: Reason, error: FramewireError = new HandshakeRejectedError(reason.code, reason.reason)): void {
    this.#end();
    this.#host.sendControl(FrameType.REJECT, encodeReason(reason));
    this.#host.refused(reason, error, true);
  }
}

/** HELLO's resume fields: a new session, or the token and count of the one to re-attach. */
function resumeHello(limits: ResolvedResume, offer: Session | undefined): { maxUnackedBytes: number; token?: string; received?: number } {
  return offer === undefined ? { maxUnackedBytes: limits.maxUnackedBytes } : { maxUnackedBytes: limits.maxUnackedBytes, token: offer.token, received: offer.received };
}
