/**
 * The pluggable authenticator of the framewire handshake (docs/protocol.md §14): the interfaces a
 * scheme implements, and the `auth` options of `listen` and `connect`.
 *
 * framewire does the protocol work — the nonce, the timestamp window, the replay cache, the exact
 * bytes signed (with a domain-separation label) — so a scheme only turns bytes into a proof and
 * checks one. Two are built in: {@link hmacAuth} / {@link hmacServerAuth} (a shared secret,
 * HMAC-SHA256) and {@link ed25519Auth} / {@link ed25519ServerAuth} (Ed25519 signatures).
 */

/** Who a peer proved to be: the scheme and the key id it proved it holds the key of. */
export interface AuthIdentity {
  readonly scheme: string;
  readonly id: string;
}

/**
 * A WebCrypto `CryptoKey`, described by its shape so that no runtime's type package is needed;
 * any runtime's `CryptoKey` fits.
 */
export interface WebCryptoKey {
  readonly type: string;
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}

/** The client's side of a scheme: proves it holds the key of `id`. */
export interface ClientAuthenticator {
  /** The scheme's name in HELLO: 1-32 of `[a-z0-9._-]`, starting with a letter or digit. */
  readonly scheme: string;
  /** The key id the server looks the key up by: 1-128 printable ASCII characters. */
  readonly id: string;
  /** The proof (at most 512 bytes) over `transcript`, the exact bytes docs/protocol.md §14 says. */
  prove(transcript: Uint8Array): Promise<Uint8Array>;
  /**
   * Mutual authentication: true when `proof` is the server's valid proof over `transcript`.
   * Absent: this authenticator cannot check a server (then `requireServerProof` is refused).
   */
  verifyServer?(transcript: Uint8Array, proof: Uint8Array): Promise<boolean>;
}

/** The server's side of a scheme: checks a client's proof, and may prove itself back. */
export interface ServerAuthenticator {
  /** The scheme's name, as the client's {@link ClientAuthenticator.scheme}. */
  readonly scheme: string;
  /**
   * True when `proof` proves the key of `id` over `transcript`. For an unknown `id` return false
   * after about the same work as for a known one: the server tells a stranger neither.
   * Called at most once per HELLO, after framewire's own cheap checks.
   */
  verify(id: string, transcript: Uint8Array, proof: Uint8Array): Promise<boolean>;
  /**
   * Mutual authentication: the server's proof for client `id` (already verified) over
   * `transcript`. Absent: this server cannot prove itself with this scheme, and a client that
   * requires it refuses the server.
   */
  proveServer?(id: string, transcript: Uint8Array): Promise<Uint8Array>;
}

/** `listen({ auth })`: which schemes the server accepts, and its replay defence. */
export interface ServerAuthOptions {
  /** The schemes accepted, each with its keys; at least one, each scheme once. */
  authenticators: readonly ServerAuthenticator[];
  /**
   * Refuse a HELLO without `auth` (`FW_AUTH_FAILED`). With `false`, such a client is accepted
   * with no identity (`verifyHandshake` can still decide); a HELLO with a bad proof is refused.
   * @default true
   */
  required?: boolean;
  /**
   * A HELLO's timestamp may differ from the server's clock by at most this much (either way);
   * outside it the HELLO is refused with `FW_AUTH_REPLAY`. It is also how long a nonce is
   * remembered. At least 1000.
   * @default 30000
   */
  maxClockSkewMs?: number;
  /**
   * Nonces remembered at most (each for its timestamp's window). A verified HELLO that would
   * need one more is refused with `FW_AUTH_BUSY` rather than letting a replay in. About 200
   * bytes each; only clients with a valid proof take a slot.
   * @default 65536
   */
  replayCacheSize?: number;
}
