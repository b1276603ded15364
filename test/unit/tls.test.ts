/**
 * The core's TLS pieces without sockets: pins parsed and matched, the DER walk to a certificate's
 * SubjectPublicKeyInfo checked against openssl's own hashes (a PKI generated now by
 * test/fixtures/tls_material.py), base64, and the option checks against an adapter's capabilities.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SocketAdapter } from "../../src/adapter.ts";
import { subjectPublicKeyInfo } from "../../src/tls/der.ts";
import { base64, colonHex, peerCertificateInfo } from "../../src/tls/info.ts";
import { resolveClientTls, resolveServerTls } from "../../src/tls/options.ts";
import { parsePins, pinMismatch } from "../../src/tls/pin.ts";

const dir = mkdtempSync(join(tmpdir(), "framewire-tls-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const pki = JSON.parse(execFileSync("python3", [join(import.meta.dir, "../fixtures/tls_material.py"), dir], { encoding: "utf8" })) as Record<string, string>;

function der(pem: string): Uint8Array {
  const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}
const sha256 = (bytes: Uint8Array): Uint8Array => new Uint8Array(createHash("sha256").update(bytes).digest());

describe("certificate hashes", () => {
  test("fingerprint and SPKI pin match openssl's for every certificate", () => {
    for (const [name, fingerprint] of [["server_cert", pki.server_fingerprint], ["other_server_cert", pki.other_server_fingerprint], ["client_cert", pki.client_fingerprint]] as const) {
      const info = peerCertificateInfo({ raw: der(pki[name]!), subject: { CN: "x", O: ["a", "b"] } }, sha256, subjectPublicKeyInfo);
      expect(info?.fingerprint256).toBe(fingerprint!);
      expect(info?.subject).toBe("CN=x, O=a, O=b");
    }
    const server = peerCertificateInfo({ raw: der(pki.server_cert!) }, sha256, subjectPublicKeyInfo);
    expect(`sha256/${server?.spkiSha256}`).toBe(pki.server_spki_pin!);
  });

  test("no certificate (an empty object, as Node gives) is undefined; a truncated or foreign DER is a TlsError", () => {
    expect(peerCertificateInfo({}, sha256, subjectPublicKeyInfo)).toBeUndefined();
    const cert = der(pki.server_cert!);
    for (const bad of [cert.subarray(0, 40), Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00), Uint8Array.of(0x04, 0x00), new Uint8Array(0)]) {
      expect(() => subjectPublicKeyInfo(bad)).toThrow(expect.objectContaining({ code: "FW_TLS_FAILED" }));
    }
  });

  test("base64 and colon hex agree with the runtime's", () => {
    for (let n = 0; n < 40; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      expect(base64(bytes)).toBe(Buffer.from(bytes).toString("base64"));
    }
    expect(colonHex(Uint8Array.of(0, 15, 255))).toBe("00:0F:FF");
  });
});

describe("pins", () => {
  const fp = pki.server_fingerprint!;
  test("the three forms parse to one normal form", () => {
    const pins = parsePins([fp, fp.replaceAll(":", "").toLowerCase(), pki.server_spki_pin!]);
    expect(pins.certificates).toEqual([fp, fp]);
    expect(pins.spki).toEqual([pki.server_spki_pin!.slice("sha256/".length)]);
  });
  test("malformed pins are FW_INVALID_OPTION", () => {
    for (const bad of ["", "abc", fp.slice(3), `${fp}:00`, fp.replaceAll(":", "-"), "sha256/short=", "sha1/AAAA", 42, [], [fp, 7]]) {
      expect(() => parsePins(bad)).toThrow(expect.objectContaining({ code: "FW_INVALID_OPTION" }));
    }
    // Colons in the wrong places are not a fingerprint either.
    expect(() => parsePins(`${fp.replaceAll(":", "").slice(0, 3)}:${fp.replaceAll(":", "").slice(3)}`)).toThrow(expect.objectContaining({ code: "FW_INVALID_OPTION" }));
  });
  test("a match on either form passes; none, or no certificate, is FW_TLS_PIN_MISMATCH naming what was presented", () => {
    const info = peerCertificateInfo({ raw: der(pki.server_cert!) }, sha256, subjectPublicKeyInfo)!;
    expect(pinMismatch(info, parsePins(fp))).toBeUndefined();
    expect(pinMismatch(info, parsePins(pki.server_spki_pin!))).toBeUndefined();
    const miss = pinMismatch(info, parsePins(pki.other_server_fingerprint!));
    expect(miss?.code).toBe("FW_TLS_PIN_MISMATCH");
    expect(miss?.presented?.fingerprint256).toBe(fp);
    expect(pinMismatch(undefined, parsePins(fp))?.code).toBe("FW_TLS_PIN_MISMATCH");
  });
});

describe("tls options", () => {
  const adapter = (client: string[], server: string[]): SocketAdapter =>
    ({
      name: "node",
      capabilities: { tls: { client: new Set(client), server: new Set(server) }, localBind: false, unixSockets: false, ipv6: true, reusePort: false, retainsWrites: true },
    }) as unknown as SocketAdapter;
  const full = adapter(["ca", "cert", "key", "passphrase", "alpn", "servername", "rejectUnauthorized", "pin"], ["ca", "cert", "key", "passphrase", "alpn", "requestCert", "requireCert"]);

  test("servername defaults to a host name, never to an IP address (RFC 6066), and the identity checked follows it", () => {
    expect(resolveClientTls(true, "collector.lan", full)).toMatchObject({ servername: "collector.lan", identity: "collector.lan", rejectUnauthorized: true });
    expect(resolveClientTls({}, "127.0.0.1", full)).toMatchObject({ servername: undefined, identity: "127.0.0.1" });
    expect(resolveClientTls({}, "::1", full)).toMatchObject({ servername: undefined, identity: "::1" });
    expect(resolveClientTls({ servername: "localhost" }, "127.0.0.1", full)).toMatchObject({ servername: "localhost", identity: "localhost" });
    expect(resolveClientTls(undefined, "h", full)).toBeUndefined();
    expect(resolveClientTls(false, "h", full)).toBeUndefined();
  });

  test("an option outside the adapter's set is FW_UNSUPPORTED; a malformed one FW_INVALID_OPTION first, on every adapter", () => {
    const deno = adapter(["ca", "alpn"], ["cert", "key"]);
    expect(() => resolveClientTls({ pin: pki.server_fingerprint }, "h", deno)).toThrow(expect.objectContaining({ code: "FW_UNSUPPORTED" }));
    expect(() => resolveClientTls({ pin: "nope" }, "h", deno)).toThrow(expect.objectContaining({ code: "FW_INVALID_OPTION" }));
    expect(() => resolveServerTls({ cert: pki.server_cert, key: pki.server_key, ca: pki.ca, requireCert: true }, deno, 1000)).toThrow(expect.objectContaining({ code: "FW_UNSUPPORTED" }));
    const none = { name: "bun", capabilities: { tls: false } } as unknown as SocketAdapter;
    expect(() => resolveClientTls(true, "h", none)).toThrow(expect.objectContaining({ code: "FW_UNSUPPORTED" }));
    // An undefined value is not an option given.
    expect(resolveClientTls({ ca: pki.ca, pin: undefined }, "h", deno)?.pins).toBeUndefined();
  });

  test("requireCert implies requestCert; the server's handshake timeout is carried", () => {
    expect(resolveServerTls({ cert: pki.server_cert!, key: pki.server_key!, ca: pki.ca!, requireCert: true }, full, 1234)).toMatchObject({ requestCert: true, requireCert: true, handshakeTimeoutMs: 1234 });
    expect(() => resolveServerTls({ cert: pki.server_cert! } as never, full, 1)).toThrow(expect.objectContaining({ code: "FW_INVALID_OPTION" }));
  });
});
