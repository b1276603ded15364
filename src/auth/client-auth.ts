/**
 * The client's side of the authenticated handshake (docs/protocol.md §14.2, §14.4): it signs
 * HELLO (a fresh nonce, its clock, every field) and, when it requires it, checks the server's
 * proof in WELCOME.
 */
import { ErrorCode } from "../codes.ts";
import { HandlerError } from "../errors.ts";
import { type HelloAuth, MAX_PROOF_BYTES } from "../protocol/auth.ts";
import type { Welcome } from "../protocol/wire.ts";
import { randomHex } from "../session/session.ts";
import type { ClientAuthenticator } from "./authenticator.ts";
import { AuthError } from "./errors.ts";
import { fromHex, helloTranscript, receivedPrefix, signedPrefix, welcomeTranscript, withProof } from "./transcript.ts";

/** `connect({ auth, requireServerProof })`, checked. */
export interface ResolvedClientAuth {
  authenticator: ClientAuthenticator;
  requireServerProof: boolean;
}

async function proofOf(make: () => Promise<Uint8Array>, what: string): Promise<Uint8Array> {
  let proof: unknown;
  try {
    proof = await make();
  } catch (error) {
    throw new HandlerError(what, error);
  }
  if (!(proof instanceof Uint8Array) || proof.length === 0 || proof.length > MAX_PROOF_BYTES) {
    throw new HandlerError(what, new TypeError(`a proof is 1-${MAX_PROOF_BYTES} bytes in a Uint8Array`));
  }
  return proof;
}

/**
 * HELLO's fields, signed: `encode` is given the `auth` member with an empty proof (so the bytes
 * before the proof are fixed), then the proof goes in. `now` is the wall clock in ms.
 * @throws HandlerError when the authenticator fails
 */
export async function signHello(auth: ResolvedClientAuth, encode: (auth: HelloAuth) => Uint8Array, now: number, nonce: string = randomHex(16)): Promise<Uint8Array> {
  const a = auth.authenticator;
  const prefix = signedPrefix(encode({ scheme: a.scheme, id: a.id, nonce, ts: now, ...(auth.requireServerProof ? { mutual: true as const } : {}), proof: "" }));
  return withProof(prefix, await proofOf(() => a.prove(helloTranscript(prefix)), `${a.scheme} authenticator`));
}

/**
 * With `requireServerProof`: undefined when WELCOME (`fields` as received, `welcome` decoded)
 * proves the server's key over this connection's HELLO; else the error the handshake fails with.
 */
export async function checkWelcome(auth: ResolvedClientAuth, helloFields: Uint8Array, fields: Uint8Array, welcome: Welcome): Promise<AuthError | undefined> {
  if (!auth.requireServerProof) return undefined;
  const proof = welcome.auth?.proof;
  if (proof === undefined) return new AuthError(ErrorCode.AUTH_SERVER_UNVERIFIED, "the server sent no proof of its key (requireServerProof)");
  const prefix = receivedPrefix(fields, proof);
  if (prefix === undefined) return new AuthError(ErrorCode.AUTH_SERVER_UNVERIFIED, "WELCOME auth is not its last member: its proof cannot be checked");
  const verifyServer = auth.authenticator.verifyServer;
  let valid: boolean;
  try {
    valid = verifyServer !== undefined && (await verifyServer.call(auth.authenticator, welcomeTranscript(helloFields, prefix), fromHex(proof)));
  } catch (error) {
    throw new HandlerError(`${auth.authenticator.scheme} authenticator`, error);
  }
  return valid === true ? undefined : new AuthError(ErrorCode.AUTH_SERVER_UNVERIFIED, "the server's proof does not verify: not the server whose key this client holds");
}
