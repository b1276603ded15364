/**
 * The key material of the neutral TLS settings in the node-style shape that both `node:tls`
 * and Bun's `tls` option take (`ca`, `cert`, `key`, `passphrase`, `ALPNProtocols`). They differ
 * only in how they read an ALPN list, so each adapter passes its own form.
 */
import type { ClientTlsSettings, ServerTlsSettings } from "../src/tls/options.ts";

export function nodeStyleKeyMaterial(settings: ClientTlsSettings | ServerTlsSettings, alpn: (protocols: readonly string[]) => unknown): Record<string, unknown> {
  return {
    ...(settings.ca !== undefined ? { ca: [...settings.ca] } : {}),
    ...(settings.cert !== undefined ? { cert: settings.cert } : {}),
    ...(settings.key !== undefined ? { key: settings.key } : {}),
    ...(settings.passphrase !== undefined ? { passphrase: settings.passphrase } : {}),
    ...(settings.alpn !== undefined ? { ALPNProtocols: alpn(settings.alpn) } : {}),
  };
}
