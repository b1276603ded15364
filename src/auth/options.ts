/** Checks the `auth` options of `listen` and `connect` (before anything is bound or dialled). */
import { InvalidOptionError } from "../errors.ts";
import { KEY_ID_PATTERN, SCHEME_PATTERN } from "../protocol/auth.ts";
import { MAX_TIMER_MS } from "../options.ts";
import { boolean, integer, plainObject, rejectUnknownKeys } from "../validate.ts";
import type { ClientAuthenticator, ServerAuthenticator, ServerAuthOptions } from "./authenticator.ts";
import type { ResolvedClientAuth } from "./client-auth.ts";
import type { ResolvedServerAuth } from "./server-gate.ts";

const SERVER_AUTH_KEYS: ReadonlySet<string> = new Set(["authenticators", "required", "maxClockSkewMs", "replayCacheSize"]);

function method(owner: object, name: string, what: string, optional: boolean): void {
  const value = (owner as Record<string, unknown>)[name];
  if (value === undefined && optional) return;
  if (typeof value !== "function") throw new InvalidOptionError(`${what}.${name} must be a function`);
}

function scheme(value: unknown, what: string): string {
  if (typeof value !== "string" || !SCHEME_PATTERN.test(value)) throw new InvalidOptionError(`${what}.scheme must be 1-32 of [a-z0-9._-], starting with a letter or digit`);
  return value;
}

/** `listen({ auth })`; undefined when not given. */
export function resolveServerAuth(value: unknown, protocol: "framewire" | "raw"): ResolvedServerAuth | undefined {
  if (value === undefined) return undefined;
  if (protocol === "raw") throw new InvalidOptionError(`auth runs in the framewire handshake; protocol "raw" has none`);
  plainObject("auth", value);
  rejectUnknownKeys(value, SERVER_AUTH_KEYS, "auth");
  const o = value as unknown as ServerAuthOptions;
  if (!Array.isArray(o.authenticators) || o.authenticators.length === 0) {
    throw new InvalidOptionError("auth.authenticators must be a non-empty array, e.g. [hmacServerAuth({ keys })]");
  }
  const authenticators = new Map<string, ServerAuthenticator>();
  o.authenticators.forEach((a: unknown, i: number) => {
    const what = `auth.authenticators[${i}]`;
    if (typeof a !== "object" || a === null) throw new InvalidOptionError(`${what} must be an authenticator object`);
    const name = scheme((a as ServerAuthenticator).scheme, what);
    method(a, "verify", what, false);
    method(a, "proveServer", what, true);
    if (authenticators.has(name)) throw new InvalidOptionError(`${what}: scheme "${name}" is given twice; one authenticator holds all of a scheme's keys`);
    authenticators.set(name, a as ServerAuthenticator);
  });
  return {
    authenticators,
    required: boolean("auth.required", o.required, true),
    maxClockSkewMs: integer("auth.maxClockSkewMs", o.maxClockSkewMs, 30_000, 1000, MAX_TIMER_MS),
    replayCacheSize: integer("auth.replayCacheSize", o.replayCacheSize, 65_536, 1, 16_777_216),
  };
}

/** `connect({ auth, requireServerProof })`; undefined when `auth` is not given. */
export function resolveClientAuth(auth: unknown, requireServerProof: unknown, protocol: "framewire" | "raw"): ResolvedClientAuth | undefined {
  const require = boolean("requireServerProof", requireServerProof, false);
  if (auth === undefined) {
    if (requireServerProof !== undefined) throw new InvalidOptionError("requireServerProof needs auth: the server proves itself with the client's scheme");
    return undefined;
  }
  if (protocol === "raw") throw new InvalidOptionError(`auth runs in the framewire handshake; protocol "raw" has none`);
  if (typeof auth !== "object" || auth === null) throw new InvalidOptionError("auth must be an authenticator, e.g. hmacAuth({ id, secret })");
  const a = auth as ClientAuthenticator;
  scheme(a.scheme, "auth");
  if (typeof a.id !== "string" || !KEY_ID_PATTERN.test(a.id)) throw new InvalidOptionError("auth.id must be 1-128 printable ASCII characters");
  method(a, "prove", "auth", false);
  method(a, "verifyServer", "auth", true);
  if (require && a.verifyServer === undefined) {
    throw new InvalidOptionError(`requireServerProof: this ${a.scheme} authenticator cannot check a server (ed25519Auth needs serverPublicKey)`);
  }
  return { authenticator: a, requireServerProof: require };
}
