/**
 * TLS on real sockets, on every runtime: the framewire handshake (and raw mode) inside TLS,
 * verification, pinning, mutual TLS, the negotiated facts, a plain TLS peer, and a well-behaved
 * client served while others fail. Where a runtime cannot honour an option the scenario asserts
 * `FW_UNSUPPORTED` at listen/connect time instead (never a silent downgrade).
 */
import type { Client, Connection, FramewireError, HandshakeInfo, TlsInfo } from "../../../src/index.ts";
import { concat, decoder, echoThree, encoder, equal, HOST, need, ok, RawPeer, rejectsWith, type Scenario, until, within, withServer } from "../kit.ts";
import { clientSupports, expectUnsupportedConnect, expectUnsupportedListen, makePki, serverSupports, tlsClient, tlsEchoServer, withoutTls } from "./tls-kit.ts";

type TlsFailure = FramewireError & { reason?: string };

function checkProtocolFacts(tls: TlsInfo | undefined, what: string): void {
  ok(tls !== undefined, `${what}: connection.tls is set`);
  const info = tls as TlsInfo;
  ok(info.protocol === undefined || /^TLSv1\.[23]$/.test(info.protocol), `${what}: protocol ${info.protocol}`);
  ok(info.cipher === undefined || info.cipher.length > 0, `${what}: cipher ${info.cipher}`);
}

export const tlsScenarios: Scenario[] = [
  {
    name: "tls: the framewire handshake inside TLS verified by a CA: echo byte-exact both ways, facts on both sides and in verifyHandshake, ALPN chosen; plain TCP on the same port stays at 0 connections",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      if (await withoutTls(transport, "tls")) return;
      const pki = await makePki(ctx);
      const alpn = serverSupports(transport, "alpn") && clientSupports(transport, "alpn");
      const seen: HandshakeInfo[] = [];
      const server = await tlsEchoServer(transport, pki, alpn ? { alpn: ["fw/1", "h2"] } : {}, {
        verifyHandshake: (info) => {
          seen.push(info);
          return true;
        },
      });
      await withServer(server, async () => {
        const sides: Connection<Uint8Array>[] = [];
        server.on("connection", (c) => sides.push(c));
        const client = await tlsClient(transport, pki, server.port, alpn ? { alpn: ["x-other", "fw/1"] } : {});
        await echoThree(client, "over TLS");
        const large = new Uint8Array(1024 * 1024).map((_, i) => (i * 13) & 0xff);
        const back: Uint8Array[] = [];
        client.on("message", (m) => back.push(m.slice()));
        client.send(large);
        await until(() => back.length === 1, 10_000, "1 MiB echoed over TLS");
        ok(back[0]!.every((b, i) => b === large[i]), "the 1 MiB echo is byte-exact");

        checkProtocolFacts(client.connection?.tls, "client side");
        const clientTls = client.connection!.tls!;
        equal(clientTls.authorized, true, "client: the server's chain verified");
        if (alpn) equal(clientTls.alpn, "fw/1", "client: ALPN");
        if (clientTls.peerCertificate !== undefined) {
          equal(clientTls.peerCertificate.fingerprint256, pki.server_fingerprint, "client: server certificate SHA-256 = openssl's");
          equal(`sha256/${clientTls.peerCertificate.spkiSha256}`, pki.server_spki_pin, "client: server SPKI pin = openssl's");
          ok(clientTls.peerCertificate.subject.includes("CN=localhost"), `client: subject ${clientTls.peerCertificate.subject}`);
        } else {
          ok(!clientSupports(transport, "pin"), "a runtime that shows no peer certificate cannot offer pin");
        }
        await until(() => sides.length === 1, 2000, "server connection");
        checkProtocolFacts(sides[0]!.tls, "server side");
        equal(sides[0]!.tls!.peerCertificate, undefined, "server: the client sent no certificate");
        if (alpn) equal(sides[0]!.tls!.alpn, "fw/1", "server: ALPN");
        equal(seen.length, 1, "verifyHandshake ran once");
        ok(seen[0]!.tls !== undefined, "verifyHandshake sees the TLS facts");

        // A plaintext framewire client on the TLS port never gets a connection.
        const plain = await rejectsWith(transport.connect({ host: HOST, port: server.port, handshakeTimeoutMs: 3000, connectTimeoutMs: 3000 }), "plain TCP client on a TLS port");
        ok(plain.code !== undefined, `plain client fails with a code (${plain.code})`);
        await until(() => server.stats().limits.tlsFailed >= 1, 5000, "the server counted the failed TLS handshake");
        equal(sides.length, 1, "no framewire connection for the plain client");
        await echoThree(client, "after the plain client");
        await client.close();
      });
    },
  },
  {
    name: "tls: an untrusted CA, a wrong servername or a plaintext server fail connect() with FW_TLS_FAILED; rejectUnauthorized: false connects (where the runtime can); stalled TLS handshakes are bounded per address at accept and dropped after handshakeTimeoutMs",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      if (await withoutTls(transport, "tls")) return;
      const pki = await makePki(ctx);
      const server = await tlsEchoServer(transport, pki);
      await withServer(server, async () => {
        const good = await tlsClient(transport, pki, server.port);
        const untrusted = (await rejectsWith(transport.connect({ host: HOST, port: server.port, tls: { ca: pki.rogue_ca } }), "untrusted CA")) as TlsFailure;
        equal(untrusted.code, "FW_TLS_FAILED", `untrusted CA: code (${untrusted.message})`);
        equal(untrusted.name, "TlsError", "untrusted CA: class");
        const noCa = (await rejectsWith(transport.connect({ host: HOST, port: server.port, tls: true }), "default roots")) as TlsFailure;
        equal(noCa.code, "FW_TLS_FAILED", `the runtime's roots do not know the test CA (${noCa.message})`);
        if (clientSupports(transport, "servername")) {
          const misnamed = (await rejectsWith(tlsClient(transport, pki, server.port, { servername: "not-this-host.test" }), "wrong servername")) as TlsFailure;
          equal(misnamed.code, "FW_TLS_FAILED", `wrong servername: code (${misnamed.message})`);
          const named = await tlsClient(transport, pki, server.port, { servername: "localhost" });
          await echoThree(named, "servername localhost");
          await named.close();
        }
        if (clientSupports(transport, "rejectUnauthorized")) {
          const lax = await transport.connect({ host: HOST, port: server.port, tls: { rejectUnauthorized: false } });
          equal(lax.connection!.tls!.authorized, false, "rejectUnauthorized: false: connected, authorized false");
          await echoThree(lax, "rejectUnauthorized false");
          await lax.close();
        } else {
          await expectUnsupportedConnect(transport, { rejectUnauthorized: false }, "rejectUnauthorized: false");
        }
        await echoThree(good, "after the failures");
        equal(good.state, "open", "the good client was served throughout");
        await good.close();
      });
      // TCP peers that never start TLS: at most maxConnectionsPerAddress (3 here) hold a
      // handshake in flight, the rest are closed at accept; all are dropped by the timeout.
      const gated = await tlsEchoServer(transport, pki, {}, { handshakeTimeoutMs: 400, maxConnectionsPerAddress: 3 });
      await withServer(gated, async (server) => {
        const before = server.stats().limits.tlsFailed;
        const stallers = await Promise.all(Array.from({ length: 5 }, () => RawPeer.connect(transport, server.port)));
        await until(() => server.stats().limits.addressLimit >= 2, 2000, "the 4th and 5th staller are turned away at accept");
        ok(server.stats().tlsHandshakes <= 3, `TLS handshakes in flight: ${server.stats().tlsHandshakes} (at most 3)`);
        await within(Promise.all(stallers.map((s) => s.client.closed())), 5000, "the stalled TLS handshakes are dropped");
        await until(() => server.stats().tlsHandshakes === 0, 3000, "no TLS handshake left in flight");
        ok(server.stats().limits.tlsFailed >= before + 3, `counted in tlsFailed (${server.stats().limits.tlsFailed - before})`);
        const after = await tlsClient(transport, pki, server.port);
        await echoThree(after, "a new client after the stallers");
        await after.close();
      });
      // A plaintext server: the client's TLS handshake fails with a code, not a hang.
      const plainServer = await transport.listen({ host: HOST, port: 0, handshakeTimeoutMs: 2000 });
      await withServer(plainServer, async () => {
        const error = await rejectsWith(tlsClient(transport, pki, plainServer.port), "TLS client to a plaintext server");
        ok(error.code === "FW_TLS_FAILED" || error.code === "FW_SOCKET_ERROR", `TLS to plaintext: ${error.code} (${error.message})`);
      });
    },
  },
  {
    name: "tls: pins — the server's SHA-256 (colons or not) or SPKI pin accepts; a CA-valid certificate with another key is refused with FW_TLS_PIN_MISMATCH before any framewire byte; malformed pins are FW_INVALID_OPTION",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      if (await withoutTls(transport, "tls")) return;
      const pki = await makePki(ctx);
      const malformed = await rejectsWith(transport.connect({ host: HOST, port: 1, tls: { pin: "abc" } }), "malformed pin");
      equal(malformed.code, "FW_INVALID_OPTION", "malformed pin: code");
      if (!clientSupports(transport, "pin")) {
        await expectUnsupportedConnect(transport, { ca: pki.ca, pin: pki.server_fingerprint }, "pin");
        return;
      }
      const server = await tlsEchoServer(transport, pki);
      const impostor = await tlsEchoServer(transport, pki, { cert: pki.other_server_cert, key: pki.other_server_key });
      const impostorConnections: Connection<Uint8Array>[] = [];
      impostor.on("connection", (c) => impostorConnections.push(c));
      try {
        const pins = [pki.server_fingerprint, pki.server_fingerprint.replaceAll(":", "").toLowerCase(), pki.server_spki_pin];
        for (const pin of pins) {
          const client = await tlsClient(transport, pki, server.port, { pin });
          await echoThree(client, `pin ${pin.slice(0, 20)}…`);
          await client.close();
        }
        const several = await tlsClient(transport, pki, server.port, { pin: [pki.other_server_fingerprint, pki.server_spki_pin] });
        await several.close();
        const refused = (await rejectsWith(tlsClient(transport, pki, impostor.port, { pin: pins }), "impostor")) as FramewireError & { presented?: { fingerprint256: string } };
        equal(refused.code, "FW_TLS_PIN_MISMATCH", `impostor: code (${refused.message})`);
        equal(refused.name, "TlsPinMismatchError", "impostor: class");
        equal(refused.presented?.fingerprint256, pki.other_server_fingerprint, "the error names what the impostor presented");
        equal(impostorConnections.length, 0, "the impostor never got a framewire connection (no HELLO was sent)");
        // Pin alone (no CA) for a self-signed-like deployment: rejectUnauthorized false + pin.
        if (clientSupports(transport, "rejectUnauthorized")) {
          const pinnedOnly = await transport.connect({ host: HOST, port: server.port, tls: { rejectUnauthorized: false, pin: pki.server_spki_pin } });
          await pinnedOnly.close();
          const e = await rejectsWith(transport.connect({ host: HOST, port: impostor.port, tls: { rejectUnauthorized: false, pin: pki.server_spki_pin } }), "pin alone, impostor");
          equal(e.code, "FW_TLS_PIN_MISMATCH", "pin alone still refuses the impostor");
        }
      } finally {
        await impostor.close(500);
        await server.close(500);
      }
    },
  },
  {
    name: "tls: mutual TLS — requireCert accepts the CA's client certificate (subject in verifyHandshake), refuses none or a rogue CA's with FW_TLS_FAILED at the client and tlsFailed at the server; requestCert accepts a client without one (authorized false)",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      if (await withoutTls(transport, "tls")) return;
      const pki = await makePki(ctx);
      if (!serverSupports(transport, "requireCert", "requestCert")) {
        await expectUnsupportedListen(transport, { cert: pki.server_cert, key: pki.server_key, ca: pki.ca, requireCert: true }, "requireCert");
        await expectUnsupportedListen(transport, { cert: pki.server_cert, key: pki.server_key, ca: pki.ca, requestCert: true }, "requestCert");
      }
      if (!serverSupports(transport, "requireCert")) {
        // Client certificates still work as a client (against a runtime that can require them is
        // the interop matrix's job); here: the option is at least accepted or refused cleanly.
        if (clientSupports(transport, "cert", "key")) ok(true, "client certificates are offered by this runtime's client");
        return;
      }
      const seen: HandshakeInfo[] = [];
      const server = await tlsEchoServer(transport, pki, { ca: pki.ca, requireCert: true }, {
        verifyHandshake: (info) => {
          seen.push(info);
          return true;
        },
      });
      await withServer(server, async () => {
        const good = await tlsClient(transport, pki, server.port, { cert: pki.client_cert, key: pki.client_key });
        await echoThree(good, "mTLS client");
        equal(seen.length, 1, "verifyHandshake ran for the mTLS client");
        const peer = seen[0]!.tls?.peerCertificate;
        ok(peer !== undefined && peer.subject.includes("CN=client-1"), `verifyHandshake sees the client certificate (${peer?.subject})`);
        equal(peer?.fingerprint256, pki.client_fingerprint, "client certificate SHA-256 = openssl's");
        equal(seen[0]!.tls?.authorized, true, "the client certificate verified");

        for (const [what, tls] of [
          ["no client certificate", {}],
          ["a rogue CA's client certificate", { cert: pki.rogue_client_cert, key: pki.rogue_client_key }],
        ] as const) {
          const before = server.stats().limits.tlsFailed;
          const error = await rejectsWith(tlsClient(transport, pki, server.port, tls), what);
          equal(error.code, "FW_TLS_FAILED", `${what}: code (${error.message})`);
          await until(() => server.stats().limits.tlsFailed > before, 5000, `${what}: the server counted it`);
        }
        equal(seen.length, 1, "verifyHandshake never saw the refused clients");
        await echoThree(good, "after the refused clients");
        await good.close();
      });
      const asking = await tlsEchoServer(transport, pki, { ca: pki.ca, requestCert: true });
      await withServer(asking, async () => {
        const sides: Connection<Uint8Array>[] = [];
        asking.on("connection", (c) => sides.push(c));
        const anonymous = await tlsClient(transport, pki, asking.port);
        await until(() => sides.length === 1, 2000, "requestCert: connection");
        equal(sides[0]!.tls!.authorized, false, "requestCert: a client without a certificate is accepted, unauthorized");
        await anonymous.close();
        const identified = await tlsClient(transport, pki, asking.port, { cert: pki.client_cert, key: pki.client_key });
        await until(() => sides.length === 2, 2000, "requestCert: second connection");
        equal(sides[1]!.tls!.authorized, true, "requestCert: a CA client certificate is authorized");
        await identified.close();
      });
    },
  },
  {
    name: "tls: raw mode over TLS interoperates with a plain TLS peer (Python's ssl) in both directions; an encrypted key with its passphrase works where the runtime can",
    timeoutMs: 30_000,
    async run(ctx) {
      const { transport } = ctx;
      if (await withoutTls(transport, "tls")) return;
      const pki = await makePki(ctx);
      const spawn = need(ctx, "spawn");
      // framewire raw client → Python TLS echo server.
      const peer = await spawn("python", "tls_peer", ["server", `${pki.dir}/server.crt`, `${pki.dir}/server.key`]);
      const port = Number(await peer.readLine(10_000));
      const client: Client<Uint8Array> = await transport.connect({ host: HOST, port, protocol: "raw", framing: { type: "none" }, tls: { ca: pki.ca, servername: clientSupports(transport, "servername") ? "localhost" : undefined } });
      const got: Uint8Array[] = [];
      client.on("message", (m) => got.push(m.slice()));
      client.send(encoder.encode("hello over plain TLS\n"));
      await until(() => decoder.decode(concat(got)).includes("\n"), 5000, "the python peer echoed");
      equal(decoder.decode(concat(got)), "hello over plain TLS\n", "echo from the plain TLS peer");
      await client.close();
      peer.endInput();
      // Python TLS client → framewire raw TLS server (delimited lines, echoed).
      const server = await transport.listen({ host: HOST, port: 0, protocol: "raw", framing: { type: "delimiter" }, tls: { cert: pki.server_cert, key: pki.server_key } });
      server.on("connection", (c) => c.on("message", (m) => c.send(m)));
      await withServer(server, async () => {
        const python = await spawn("python", "tls_peer", ["client", String(server.port), `${pki.dir}/ca.crt`, "ping from python"]);
        equal(await python.readLine(10_000), "ping from python", "the python TLS client got its line back");
        equal(await python.exited, 0, "python client exit code");
      });
      if (serverSupports(transport, "passphrase")) {
        const locked = await transport.listen({ host: HOST, port: 0, tls: { cert: pki.server_cert, key: pki.encrypted_server_key, passphrase: "hunter2" } });
        locked.on("connection", (c) => c.on("message", (m) => c.send(m)));
        await withServer(locked, async () => {
          const c = await tlsClient(transport, pki, locked.port);
          await echoThree(c, "encrypted key");
          await c.close();
        });
        const wrong = await rejectsWith(transport.listen({ host: HOST, port: 0, tls: { cert: pki.server_cert, key: pki.encrypted_server_key, passphrase: "wrong" } }), "wrong passphrase");
        ok(wrong.code === "FW_SOCKET_ERROR" || wrong.code === "FW_TLS_FAILED" || wrong.code === "FW_INVALID_OPTION", `wrong passphrase: ${wrong.code}`);
      } else {
        await expectUnsupportedListen(transport, { cert: pki.server_cert, key: pki.encrypted_server_key, passphrase: "hunter2" }, "passphrase");
      }
    },
  },
  {
    name: "tls: options are checked before any I/O — paths instead of PEM, cert without key, requestCert without ca, tls with a Unix path: FW_INVALID_OPTION; every option outside the adapter's set: FW_UNSUPPORTED",
    timeoutMs: 10_000,
    async run({ transport }) {
      const pem = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
      const key = "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n";
      const invalid: [string, () => Promise<unknown>][] = [
        ["a path as ca", () => transport.connect({ host: HOST, port: 1, tls: { ca: "/etc/ssl/ca.pem" } })],
        ["cert without key", () => transport.connect({ host: HOST, port: 1, tls: { cert: pem } })],
        ["unknown tls key", () => transport.connect({ host: HOST, port: 1, tls: { verify: true } as never })],
        ["a path as the server cert", () => transport.listen({ host: HOST, port: 0, tls: { cert: "server.crt", key } })],
        ["requestCert without ca", () => transport.listen({ host: HOST, port: 0, tls: { cert: pem, key, requestCert: true } })],
        ["empty alpn", () => transport.connect({ host: HOST, port: 1, tls: { alpn: [] } })],
      ];
      for (const [what, attempt] of invalid) equal((await rejectsWith(attempt(), what)).code, "FW_INVALID_OPTION", what);
      const tls = transport.adapter.capabilities.tls;
      const allClient = ["ca", "cert", "key", "passphrase", "alpn", "servername", "rejectUnauthorized", "pin"] as const;
      const sample = { ca: pem, cert: pem, key, passphrase: "x", alpn: ["fw"], servername: "localhost", rejectUnauthorized: false, pin: "sha256/NWcuVxezskMa719IrQCUqij4XpYy9tJ5Mr02yh2tMU4=" } as const;
      for (const option of allClient) {
        if (tls !== false && tls.client.has(option)) continue;
        const value = option === "cert" || option === "key" ? { cert: pem, key } : { [option]: sample[option] };
        await expectUnsupportedConnect(transport, value, `client tls.${option}`);
      }
    },
  },
];
