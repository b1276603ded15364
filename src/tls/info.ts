/**
 * What a TLS connection negotiated, as the adapters report it after the handshake: on
 * `connection.tls` and in `verifyHandshake`'s `info.tls`. A runtime that cannot tell a fact
 * leaves it undefined (Deno reports only ALPN).
 */

/** The peer's certificate (the leaf), as presented in the handshake. */
export interface PeerCertificateInfo {
  /** Subject as `CN=…, O=…` (RFC 4514 attribute order as the runtime gives it). */
  readonly subject: string;
  readonly issuer: string;
  /** `subjectAltName` as the runtime formats it, e.g. `DNS:localhost, IP Address:127.0.0.1`. */
  readonly subjectAltName: string | undefined;
  /** SHA-256 of the DER certificate, upper-case hex with colons (`AB:12:…`), as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
  /** SHA-256 of the certificate's SubjectPublicKeyInfo, base64 (the `sha256/<base64>` pin form, survives re-issuing with the same key). */
  readonly spkiSha256: string;
  /** End of validity as the runtime formats it (e.g. `Dec  2 10:00:00 2027 GMT`). */
  readonly validTo: string;
}

/** The negotiated facts of a TLS connection. */
export interface TlsInfo {
  /** E.g. `"TLSv1.3"`; undefined where the runtime does not tell (Deno). */
  readonly protocol: string | undefined;
  /** E.g. `"TLS_AES_256_GCM_SHA384"`; undefined where the runtime does not tell (Deno). */
  readonly cipher: string | undefined;
  /** The ALPN protocol both sides chose, if any. */
  readonly alpn: string | undefined;
  /**
   * The peer's certificate chain verified against the trusted CAs. Client: always true unless
   * `rejectUnauthorized: false`. Server: true only for a client that presented a valid
   * certificate (`requestCert` / `requireCert`).
   */
  readonly authorized: boolean;
  /** Why the peer's certificate did not verify (`authorized: false`), e.g. `"SELF_SIGNED_CERT_IN_CHAIN"`. */
  readonly authorizationError: string | undefined;
  /** The peer's certificate; undefined when it sent none or the runtime does not expose it (Deno). */
  readonly peerCertificate: PeerCertificateInfo | undefined;
}

/** The node-style certificate object Node's and Bun's `getPeerCertificate()` return (the fields used here). */
export interface RuntimePeerCertificate {
  readonly subject?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly issuer?: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly subjectaltname?: string;
  readonly valid_to?: string;
  readonly raw?: Uint8Array;
}

/**
 * Builds {@link PeerCertificateInfo} from a runtime's certificate object; `sha256` is the
 * runtime's synchronous hash (the core has none: WebCrypto's is async, and pins are checked
 * before the socket is handed on). Undefined when there is no certificate (an empty object).
 */
export function peerCertificateInfo(cert: RuntimePeerCertificate | undefined | null, sha256: (bytes: Uint8Array) => Uint8Array, spki: (der: Uint8Array) => Uint8Array): PeerCertificateInfo | undefined {
  const der = cert?.raw;
  if (cert === undefined || cert === null || der === undefined || der.length === 0) return undefined;
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    subjectAltName: cert.subjectaltname,
    fingerprint256: colonHex(sha256(der)),
    spkiSha256: base64(sha256(spki(der))),
    validTo: cert.valid_to ?? "",
  };
}

function formatName(name: RuntimePeerCertificate["subject"]): string {
  if (name === undefined) return "";
  const parts: string[] = [];
  for (const [key, value] of Object.entries(name)) {
    if (value === undefined) continue;
    for (const one of typeof value === "string" ? [value] : value) parts.push(`${key}=${one}`);
  }
  return parts.join(", ");
}

export function colonHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0").toUpperCase()).join(":");
}

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Standard base64 with padding (no `btoa`: it needs a binary string and is not in every lib). */
export function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    const n = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64[(n >> 18) & 63]! + BASE64[(n >> 12) & 63]! + (b === undefined ? "=" : BASE64[(n >> 6) & 63]!) + (c === undefined ? "=" : BASE64[n & 63]!);
  }
  return out;
}
