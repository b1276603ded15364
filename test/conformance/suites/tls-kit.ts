/**
 * What the TLS scenarios share: the test PKI (generated per scenario by openssl through
 * test/fixtures/tls_material.py, nothing committed), TLS echo servers and the capability checks
 * that turn "this runtime cannot" into an assertion of `FW_UNSUPPORTED`.
 */
import type { Client, Server, ServerOptions, TlsClientOptions, TlsServerOptions, Transport } from "../../../src/index.ts";
import { type ConformanceContext, equal, HOST, need, rejectsWith } from "../kit.ts";

/** PEM texts and openssl's own fingerprints (see tls_material.py). */
export interface Pki {
  ca: string;
  server_cert: string;
  server_key: string;
  other_server_cert: string;
  other_server_key: string;
  client_cert: string;
  client_key: string;
  rogue_ca: string;
  rogue_client_cert: string;
  rogue_client_key: string;
  encrypted_server_key: string;
  server_fingerprint: string;
  server_spki_pin: string;
  other_server_fingerprint: string;
  client_fingerprint: string;
  /** The directory with the same material as .crt / .key files. */
  dir: string;
}

export async function makePki(ctx: ConformanceContext): Promise<Pki> {
  const dir = need(ctx, "tempPath")("pki");
  const child = await need(ctx, "spawn")("python", "tls_material", [dir]);
  const line = await child.readLine(20_000);
  equal(await child.exited, 0, `tls_material.py exit code (${child.stderr().slice(0, 300)})`);
  return JSON.parse(line) as Pki;
}

export type ClientTlsKey = keyof TlsClientOptions;
export type ServerTlsKey = keyof TlsServerOptions;

/** Whether the adapter honours every one of these client-side `tls` options. */
export function clientSupports(transport: Transport, ...keys: ClientTlsKey[]): boolean {
  const tls = transport.adapter.capabilities.tls;
  return tls !== false && keys.every((key) => tls.client.has(key));
}

export function serverSupports(transport: Transport, ...keys: ServerTlsKey[]): boolean {
  const tls = transport.adapter.capabilities.tls;
  return tls !== false && keys.every((key) => tls.server.has(key));
}

/**
 * An adapter without TLS (`capabilities.tls === false`, e.g. native): a TLS listen and connect
 * must both fail with FW_UNSUPPORTED before any I/O. True when that was checked and the TLS
 * scenario has nothing more to run.
 */
export async function withoutTls(transport: Transport, what: string): Promise<boolean> {
  if (transport.adapter.capabilities.tls !== false) return false;
  await expectUnsupportedListen(transport, { cert: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", key: "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n" }, `${what}: a TLS listen without TLS support`);
  await expectUnsupportedConnect(transport, {}, `${what}: a TLS connect without TLS support`);
  return true;
}

/** The runtime cannot: connect must fail with FW_UNSUPPORTED before dialling (port 1 is never dialled). */
export async function expectUnsupportedConnect(transport: Transport, tls: TlsClientOptions, what: string): Promise<void> {
  const error = await rejectsWith(transport.connect({ host: HOST, port: 1, tls }), what);
  equal(error.code, "FW_UNSUPPORTED", `${what}: code`);
}

export async function expectUnsupportedListen(transport: Transport, tls: TlsServerOptions, what: string): Promise<void> {
  const error = await rejectsWith(transport.listen({ host: HOST, port: 0, tls }), what);
  equal(error.code, "FW_UNSUPPORTED", `${what}: code`);
}

/** A TLS echo server (localhost certificate from the test CA). */
export async function tlsEchoServer(transport: Transport, pki: Pki, tls: Partial<TlsServerOptions> = {}, options: Omit<ServerOptions<Uint8Array>, "codec" | "tls"> = {}): Promise<Server<Uint8Array>> {
  const server = await transport.listen({ host: HOST, port: 0, ...options, tls: { cert: pki.server_cert, key: pki.server_key, ...tls } });
  server.on("connection", (c) => c.on("message", (m) => c.send(m)));
  return server;
}

/** A client that trusts the test CA. */
export function tlsClient(transport: Transport, pki: Pki, port: number, tls: TlsClientOptions = {}): Promise<Client<Uint8Array>> {
  return transport.connect({ host: HOST, port, tls: { ca: pki.ca, ...tls } });
}
