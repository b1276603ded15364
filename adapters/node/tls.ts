/**
 * The neutral `tls` settings on `node:tls`, and what a TLS socket negotiated. Everything here
 * is honoured by Node, so the node adapter's TLS capabilities are the full option set.
 */
import { nodeStyleKeyMaterial } from "../tls-material.ts";
import * as crypto from "node:crypto";
import * as tls from "node:tls";
import { subjectPublicKeyInfo } from "../../src/tls/der.ts";
import { TlsError } from "../../src/tls/errors.ts";
import { peerCertificateInfo, type RuntimePeerCertificate, type TlsInfo } from "../../src/tls/info.ts";
import type { ClientTlsSettings, ServerTlsSettings, TlsCapabilities } from "../../src/tls/options.ts";
import { pinMismatch } from "../../src/tls/pin.ts";

/** Structural view of a `tls.TLSSocket` (the parts read after the handshake). */
export interface NodeTlsSocket {
  readonly authorized: boolean;
  readonly authorizationError?: Error | string | null;
  readonly alpnProtocol?: string | false | null;
  getProtocol(): string | null;
  getCipher(): { name: string; standardName?: string } | null;
  getPeerCertificate(detailed?: boolean): RuntimePeerCertificate;
}

export const NODE_TLS: TlsCapabilities = {
  client: new Set(["ca", "cert", "key", "passphrase", "alpn", "servername", "rejectUnauthorized", "pin"]),
  server: new Set(["ca", "cert", "key", "passphrase", "alpn", "requestCert", "requireCert"]),
};

function common(settings: ClientTlsSettings | ServerTlsSettings): Record<string, unknown> {
  return nodeStyleKeyMaterial(settings, (protocols) => [...protocols]);
}

/** `tls.createServer` options. */
export function serverOptions(settings: ServerTlsSettings): Record<string, unknown> {
  return {
    ...common(settings),
    requestCert: settings.requestCert,
    // requestCert alone asks but accepts anyone (authorized tells); requireCert refuses in the handshake.
    rejectUnauthorized: settings.requireCert,
    handshakeTimeout: settings.handshakeTimeoutMs,
  };
}

/** `tls.connect` options (host and port added by the caller). */
export function clientOptions(settings: ClientTlsSettings): Record<string, unknown> {
  const checkServerIdentity = tls.checkServerIdentity as unknown as (host: string, cert: unknown) => Error | undefined;
  return {
    ...common(settings),
    ...(settings.servername !== undefined ? { servername: settings.servername } : {}),
    rejectUnauthorized: settings.rejectUnauthorized,
    // The name to check is `servername` when given, else the host (IP SANs included).
    checkServerIdentity: (_host: string, cert: unknown) => checkServerIdentity(settings.identity, cert),
  };
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array((crypto.createHash("sha256") as { update(b: Uint8Array): { digest(): Uint8Array } }).update(bytes).digest());
}

function codeOf(error: unknown): string | undefined {
  if (typeof error === "string") return error;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : error instanceof Error ? error.message : undefined;
}

/** What the socket negotiated (read once, at `secureConnect` / `secureConnection`). */
export function tlsInfo(socket: NodeTlsSocket): TlsInfo {
  const cipher = socket.getCipher();
  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: cipher?.standardName ?? cipher?.name,
    alpn: typeof socket.alpnProtocol === "string" ? socket.alpnProtocol : undefined,
    authorized: socket.authorized,
    authorizationError: socket.authorized ? undefined : (codeOf(socket.authorizationError) ?? "NO_CERTIFICATE"),
    peerCertificate: peerCertificateInfo(socket.getPeerCertificate(), sha256, subjectPublicKeyInfo),
  };
}

/** The client's last check after the handshake: pins (Node already checked chain and name). */
export function clientRefusal(info: TlsInfo, settings: ClientTlsSettings): Error | undefined {
  return settings.pins === undefined ? undefined : pinMismatch(info.peerCertificate, settings.pins);
}

/**
 * A TLS socket's error as the core should see it: verification and alert failures become
 * `TlsError` (`FW_TLS_FAILED`); resets and the like stay socket errors.
 */
export function tlsFailure(error: Error): Error {
  const code = codeOf(error) ?? "";
  const library = (error as { library?: unknown }).library;
  const isTls = library === "SSL routines" || /^(ERR_SSL_|ERR_TLS_)/.test(code) || /CERT|SELF_SIGNED|UNABLE_TO_|HOSTNAME|ALTNAME/.test(code);
  return isTls ? new TlsError(`TLS handshake failed: ${error.message}`, { cause: error }, code) : error;
}

export const connectTls = tls.connect as unknown as (options: Record<string, unknown>) => unknown;
export const createTlsServer = tls.createServer as unknown as (options: Record<string, unknown>) => unknown;
