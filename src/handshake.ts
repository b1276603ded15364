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
} from "./protocol/wire.ts";
import type { ResumeWelcome } from "./protocol/resume.ts";
import type { ResolvedResume } from "./session/options.ts";
import { parseToken, Session } from "./session/session.ts";

/** What the server supplies to run the server side of the handshake. */
export interface ServerHandshake<C> {
  /**
   * `version` is the one chosen from HELLO's range. Returns a WELCOME's fields, or a rejection (`error`: the local detail of a failed verdict,
   * which the peer does not see).
   */
  accept(hello: Hello, version: number, connection: C): Promise<ServerVerdict>;
  heartbeatMs: number;
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
}

export class Handshake<C> {
  readonly #host: HandshakeHost;
  readonly #settings: HandshakeSettings;
  /** Server side only. */
  readonly #server: ServerHandshake<C> | undefined;
  readonly #connection: C;
  #helloSeen = false;
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
      host.sendControl(
        FrameType.HELLO,
        encodeHello({
          minVersion: PROTOCOL_VERSION_MIN,
          maxVersion: PROTOCOL_VERSION_MAX,
          ...(settings.app !== undefined ? { app: settings.app } : {}),
          tags: settings.tags,
          maxFrameSize: settings.maxFrameSize,
          ...(settings.resume !== undefined ? { resume: resumeHello(settings.resume.limits, settings.resume.offer) } : {}),
        }),
      );
    }
  }

  /** A frame of type HELLO, WELCOME or REJECT arrived. @throws ProtocolError, HandshakeError */
  onFrame(type: number, body: Uint8Array): void {
    if (this.#over) throw new ProtocolError("handshake frame after the handshake ended");
    switch (type) {
      case FrameType.HELLO:
        if (this.#server === undefined || this.#helloSeen) throw new ProtocolError("unexpected HELLO");
        this.#helloSeen = true;
        this.#onHello(this.#server, decodeHello(body));
        return;
      case FrameType.WELCOME: {
        if (this.#server !== undefined) throw new ProtocolError("unexpected WELCOME");
        const welcome = decodeWelcome(body);
        if (welcome.version < PROTOCOL_VERSION_MIN || welcome.version > PROTOCOL_VERSION_MAX) {
          throw new HandshakeError(ErrorCode.VERSION_MISMATCH, `server chose unsupported version ${welcome.version}`);
        }
        const resume = this.#clientSession(welcome.resume);
        this.#end();
        this.#host.agreed({
          version: welcome.version,
          session: welcome.session,
          peerTags: welcome.tags ?? {},
          peerMaxFrame: welcome.maxFrameSize,
          heartbeatMs: welcome.heartbeatMs,
          ...(resume !== undefined ? { resume } : {}),
        });
        return;
      }
      case FrameType.REJECT: {
        if (this.#server !== undefined) throw new ProtocolError("unexpected REJECT");
        const reason = decodeReason(body, "REJECT");
        this.#end();
        this.#host.refused(reason, new HandshakeRejectedError(reason.code, reason.reason), false);
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

  #onHello(server: ServerHandshake<C>, hello: Hello): void {
    const version = chooseVersion(hello.minVersion, hello.maxVersion);
    if (version < 0) {
      this.refuse({ code: ErrorCode.VERSION_MISMATCH, reason: `server speaks versions ${PROTOCOL_VERSION_MIN}-${PROTOCOL_VERSION_MAX}, client ${hello.minVersion}-${hello.maxVersion}` });
      return;
    }
    const host = this.#host;
    // Frames after HELLO wait for the verdict: nothing reaches the application before WELCOME.
    host.holdReading(true);
    server.accept(hello, version, this.#connection).then(
      (verdict) => {
        try {
          if (this.#over) return;
          if ("code" in verdict) {
            this.refuse(verdict, verdict.error);
            return;
          }
          this.#end();
          host.sendControl(
            FrameType.WELCOME,
            encodeWelcome({
              version,
              session: verdict.session,
              tags: server.tags,
              maxFrameSize: this.#settings.maxFrameSize,
              heartbeatMs: server.heartbeatMs,
              ...(verdict.resume !== undefined ? { resume: verdict.resume.welcome } : {}),
            }),
          );
          const resume = verdict.resume;
          host.agreed({
            version,
            session: verdict.session,
            peerTags: hello.tags ?? {},
            peerMaxFrame: hello.maxFrameSize,
            heartbeatMs: server.heartbeatMs,
            ...(resume !== undefined ? { resume: { session: resume.session, resumed: resume.welcome.resumed, peerReceived: resume.peerReceived } } : {}),
          });
          server.opened(this.#connection);
        } catch (error) {
          // Nothing may escape this callback: it would be an unhandled rejection.
          this.#end();
          host.handshakeFailed(toFramewireError(error, ErrorCode.HANDLER));
        } finally {
          // Refused or failed too: keep reading (and discarding) so the peer's FIN is seen.
          host.holdReading(false);
        }
      },
      (error: unknown) => {
        // Not reachable through Server (its accept() never rejects); kept so no path leaves the handshake hanging.
        const failure = new HandlerError("verifyHandshake", error);
        if (!this.#over) this.refuse({ code: ErrorCode.HANDLER, reason: reasonForPeer(failure) }, failure);
        host.holdReading(false);
      },
    );
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
