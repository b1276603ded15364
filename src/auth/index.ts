/** The authenticated handshake's public surface (re-exported by src/index.ts). */
export type { AuthIdentity, ClientAuthenticator, ServerAuthenticator, ServerAuthOptions, WebCryptoKey } from "./authenticator.ts";
export { type Ed25519ClientOptions, type Ed25519ServerOptions, ed25519Auth, ed25519ServerAuth } from "./ed25519.ts";
export { type AuthCode, AuthError, AuthRejectedError } from "./errors.ts";
export { type HmacClientOptions, type HmacServerOptions, hmacAuth, hmacServerAuth } from "./hmac.ts";
export type { KeyInput } from "./key-material.ts";
