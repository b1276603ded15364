/**
 * Interface binding on real sockets: `localAddress` / `localPort` / `interface` choose the client
 * socket's own address, which the server sees; with TLS too. Where the runtime cannot bind a
 * client socket, each option fails with `FW_UNSUPPORTED` before dialling.
 */
import type { Connection, Transport } from "../../../src/index.ts";
import { echoThree, equal, HOST, ok, rejectsWith, type Scenario, until, withServer } from "../kit.ts";
import { makePki, tlsEchoServer } from "./tls-kit.ts";

async function echoServer(transport: Transport, host = HOST) {
  const server = await transport.listen({ host, port: 0 });
  const sides: Connection<Uint8Array>[] = [];
  server.on("connection", (c) => {
    sides.push(c);
    c.on("message", (m) => c.send(m));
  });
  return { server, sides };
}

export const bindingScenarios: Scenario[] = [
  {
    name: "bind: localAddress 127.0.0.2 is what the server sees; localPort is used; with TLS too; a port in use fails with FW_SOCKET_ERROR",
    timeoutMs: 20_000,
    async run(ctx) {
      const { transport } = ctx;
      if (!transport.adapter.capabilities.localBind) {
        for (const option of [{ localAddress: "127.0.0.2" }, { localPort: 40_000 }, { interface: "lo" }]) {
          const error = await rejectsWith(transport.connect({ host: HOST, port: 1, ...option }), `${Object.keys(option)[0]} unsupported`);
          equal(error.code, "FW_UNSUPPORTED", `${Object.keys(option)[0]}: code`);
        }
        return;
      }
      // Listening on 0.0.0.0 would reach other interfaces: 127.0.0.1 accepts from all of 127/8.
      const { server, sides } = await echoServer(transport);
      await withServer(server, async () => {
        const bound = await transport.connect({ host: HOST, port: server.port, localAddress: "127.0.0.2" });
        await echoThree(bound, "bound to 127.0.0.2");
        await until(() => sides.length === 1, 2000, "server connection");
        equal(sides[0]!.remoteAddress.replace(/^::ffff:/, ""), "127.0.0.2", "the server sees the bound address");

        // A port from the dynamic range's lower half, away from the kernel's ephemeral ports.
        const port = 20_000 + Math.floor(Math.random() * 20_000);
        const withPort = await transport.connect({ host: HOST, port: server.port, localAddress: "127.0.0.3", localPort: port });
        await until(() => sides.length === 2, 2000, "second connection");
        equal(sides[1]!.remotePort, port, "the server sees the bound port");
        equal(sides[1]!.remoteAddress.replace(/^::ffff:/, ""), "127.0.0.3", "and the bound address");
        const clash = await rejectsWith(transport.connect({ host: HOST, port: server.port, localAddress: "127.0.0.3", localPort: port }), "the same local address and port twice");
        equal(clash.code, "FW_SOCKET_ERROR", `a bound port in use: code (${clash.message})`);
        await withPort.close();
        await bound.close();
      });
      if (transport.adapter.capabilities.tls === false) return; // TLS binding: only where TLS is
      const pki = await makePki(ctx);
      const tlsServer = await tlsEchoServer(transport, pki);
      await withServer(tlsServer, async () => {
        const seen: string[] = [];
        tlsServer.on("connection", (c) => seen.push(c.remoteAddress.replace(/^::ffff:/, "")));
        const client = await transport.connect({ host: HOST, port: tlsServer.port, localAddress: "127.0.0.4", tls: { ca: pki.ca } });
        await echoThree(client, "TLS from 127.0.0.4");
        await until(() => seen.length === 1, 2000, "TLS connection");
        equal(seen[0], "127.0.0.4", "TLS: the server sees the bound address");
        ok(client.connection.tls !== undefined, "the bound connection is TLS");
        await client.close();
      });
    },
  },
  {
    name: "bind: interface resolves a name to its address for the family (lo → 127.0.0.1, ::1 for IPv6); a missing interface is FW_INTERFACE_UNAVAILABLE; invalid binding options are FW_INVALID_OPTION",
    timeoutMs: 20_000,
    async run({ transport }) {
      const invalid: [string, Record<string, unknown>][] = [
        ["localAddress not an IP", { localAddress: "example.com" }],
        ["localAddress with interface", { localAddress: "127.0.0.2", interface: "lo" }],
        ["family without interface", { family: 6 }],
        ["family 5", { interface: "lo", family: 5 }],
        ["localPort 0", { localPort: 0 }],
        ["localAddress of the other family", { localAddress: "::1" }],
      ];
      for (const [what, option] of invalid) {
        const error = await rejectsWith(transport.connect({ host: HOST, port: 1, ...option }), what);
        ok(error.code === "FW_INVALID_OPTION" || (!transport.adapter.capabilities.localBind && error.code === "FW_UNSUPPORTED"), `${what}: ${error.code}`);
      }
      if (!transport.adapter.capabilities.localBind) return;
      const names = Object.keys(transport.adapter.networkInterfaces?.() ?? {});
      const loopback = names.includes("lo") ? "lo" : undefined;
      ok(loopback !== undefined, `this Linux machine has lo (interfaces: ${names.join(", ")})`);
      const { server, sides } = await echoServer(transport);
      await withServer(server, async () => {
        const client = await transport.connect({ host: HOST, port: server.port, interface: "lo" });
        await echoThree(client, "bound to lo");
        await until(() => sides.length === 1, 2000, "connection");
        equal(sides[0]!.remoteAddress.replace(/^::ffff:/, ""), "127.0.0.1", "lo's IPv4 address");
        await client.close();
        const missing = await rejectsWith(transport.connect({ host: HOST, port: server.port, interface: "fw-no-such-if0" }), "missing interface");
        equal(missing.code, "FW_INTERFACE_UNAVAILABLE", `missing interface: code (${missing.message})`);
        ok(missing.message.includes("lo"), "the error lists the interfaces there are");
      });
      const hasIpv6Loopback = (transport.adapter.networkInterfaces?.().lo ?? []).some((a) => a.family === 6);
      if (hasIpv6Loopback) {
        const v6 = await echoServer(transport, "::1");
        await withServer(v6.server, async () => {
          const client = await transport.connect({ host: "::1", port: v6.server.port, interface: "lo" });
          await echoThree(client, "bound to lo over IPv6");
          await until(() => v6.sides.length === 1, 2000, "IPv6 connection");
          equal(v6.sides[0]!.remoteAddress, "::1", "lo's IPv6 address");
          await client.close();
        });
      }
    },
  },
];
