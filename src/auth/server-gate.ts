/**
 * The server's side of the authenticated handshake (docs/protocol.md §14.3): one per server, it
 * checks each HELLO's `auth` — cheap checks first, then exactly one verification, then the clock
 * window and the replay cache (only for a verified HELLO, so strangers cannot fill it) — and
 * signs WELCOME for a client that asked the server to prove itself.
 */
import { ErrorCode } from "../codes.ts";
import { type FramewireError, HandlerError, ProtocolError } from "../errors.ts";
import type { Reason, Welcome } from "../protocol/wire.ts";
import type { HelloAuth, WelcomeAuth } from "../protocol/auth.ts";
import type { AuthIdentity, ServerAuthenticator } from "./authenticator.ts";
import { type AuthCode, AuthError } from "./errors.ts";
import { ReplayCache } from "./replay-cache.ts";
import { fromHex, helloTranscript, receivedPrefix, signedPrefix, welcomeTranscript, withProof } from "./transcript.ts";

/** `listen({ auth })`, checked. */
export interface ResolvedServerAuth {
  authenticators: ReadonlyMap<string, ServerAuthenticator>;
  required: boolean;
  maxClockSkewMs: number;
  replayCacheSize: number;
}

/** A HELLO that passed: who it is (none: unauthenticated and allowed), and how to answer a mutual request. */
export interface AuthPassed {
  identity: AuthIdentity | undefined;
  /** Set when the client asked the server to prove itself and the scheme can. */
  prover?: (transcript: Uint8Array) => Promise<Uint8Array>;
}

export type AuthOutcome = AuthPassed | (Reason & { error: FramewireError });

/** What the peer is told: the same text whatever went wrong, so a stranger learns nothing. */
const FAILED = "authentication failed";
const REPLAY = "stale or replayed authentication";

function refused(code: Exclude<AuthCode, "FW_AUTH_SERVER_UNVERIFIED">, reason: string, detail: string): Reason & { error: FramewireError } {
  return { code, reason, error: new AuthError(code, detail) };
}

export class ServerAuthGate {
  readonly #options: ResolvedServerAuth;
  readonly #replay: ReplayCache;
  readonly #now: () => number;

  /** `now`: the wall clock (ms since the epoch); tests give their own. */
  constructor(options: ResolvedServerAuth, now: () => number = Date.now) {
    this.#options = options;
    this.#replay = new ReplayCache(options.replayCacheSize);
    this.#now = now;
  }

  /** Nonces remembered now. */
  get replayCacheEntries(): number {
    return this.#replay.size;
  }

  /** The verdict on a HELLO's `auth`; `fields` are the HELLO's fields as received. Never rejects. */
  async check(auth: HelloAuth | undefined, fields: Uint8Array): Promise<AuthOutcome> {
    const options = this.#options;
    if (auth === undefined) {
      return options.required ? refused(ErrorCode.AUTH_FAILED, "authentication required", "HELLO without auth; this server requires it") : { identity: undefined };
    }
    const prefix = receivedPrefix(fields, auth.proof);
    if (prefix === undefined) {
      const error = new ProtocolError("HELLO auth must be the last member of HELLO, and proof the last member of auth");
      return { code: error.code, reason: error.message, error };
    }
    const authenticator = options.authenticators.get(auth.scheme);
    if (authenticator === undefined) return refused(ErrorCode.AUTH_FAILED, FAILED, `scheme ${JSON.stringify(auth.scheme)} is not accepted (key id ${JSON.stringify(auth.id)})`);
    let valid: boolean;
    try {
      valid = await authenticator.verify(auth.id, helloTranscript(prefix), fromHex(auth.proof));
    } catch (cause) {
      const error = new HandlerError(`${auth.scheme} authenticator`, cause);
      return { code: ErrorCode.HANDLER, reason: "authenticator failed", error };
    }
    if (valid !== true) return refused(ErrorCode.AUTH_FAILED, FAILED, `${auth.scheme}: bad proof or unknown key id ${JSON.stringify(auth.id)}`);
    // Verified: only now may it take a replay-cache slot.
    const now = this.#now();
    const skew = options.maxClockSkewMs;
    if (Math.abs(now - auth.ts) > skew) {
      return refused(ErrorCode.AUTH_REPLAY, REPLAY, `${auth.scheme} key id ${JSON.stringify(auth.id)}: timestamp ${auth.ts} is ${now - auth.ts} ms from this server's clock (window ±${skew} ms)`);
    }
    switch (this.#replay.add(`${auth.scheme}\u0000${auth.id}\u0000${auth.nonce}`, auth.ts + skew, now)) {
      case "replayed":
        return refused(ErrorCode.AUTH_REPLAY, REPLAY, `${auth.scheme} key id ${JSON.stringify(auth.id)}: nonce ${auth.nonce} was seen before (a replayed HELLO)`);
      case "full":
        return refused(ErrorCode.AUTH_BUSY, "authentication busy, try again later", `replay cache full (${options.replayCacheSize} live nonces)`);
      case "fresh":
        break;
    }
    const identity: AuthIdentity = { scheme: auth.scheme, id: auth.id };
    const proveServer = authenticator.proveServer;
    if (auth.mutual !== true || proveServer === undefined) return { identity };
    return { identity, prover: (transcript) => proveServer.call(authenticator, auth.id, transcript) };
  }

  /**
   * WELCOME's fields: `encode` of `welcome`, with the server's proof as its last member when the
   * client asked and the scheme can. Rejects when the authenticator fails.
   */
  static async welcome(passed: AuthPassed, helloFields: Uint8Array, welcome: Welcome, encode: (welcome: Welcome & { auth?: WelcomeAuth }) => Uint8Array): Promise<Uint8Array> {
    const prover = passed.prover;
    if (prover === undefined) return encode(welcome);
    const prefix = signedPrefix(encode({ ...welcome, auth: { proof: "" } }));
    return withProof(prefix, await prover(welcomeTranscript(helloFields, prefix)));
  }
}
