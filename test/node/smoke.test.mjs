// What is specific to framewire/node and not in the conformance suite (test/conformance/scenarios.ts,
// run by conformance.test.mjs): the adapter's class and capabilities, an already-aborted connect,
// and reusePort, which depends on the Node version.
// Run: npm run build && node --test test/node/
import assert from "node:assert/strict";
import { test } from "node:test";
import { adapter, listen, NodeAdapter } from "../../dist/adapters/node/index.js";

const HOST = "127.0.0.1";

// reusePort: supported from Node 22.12 / 23.1, FW_UNSUPPORTED before.
const [major, minor] = process.versions.node.split(".").map(Number);
const reusePortSupported = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

test("the adapter is Node's, with Node's capabilities", () => {
  assert.ok(adapter instanceof NodeAdapter);
  assert.equal(adapter.name, "node");
  const { tls, ...rest } = adapter.capabilities;
  assert.deepEqual(rest, {
    localBind: true,
    unixSockets: true,
    ipv6: true,
    reusePort: reusePortSupported,
    retainsWrites: true,
  });
  // node:tls honours every neutral tls option.
  assert.deepEqual([...tls.client].sort(), ["alpn", "ca", "cert", "key", "passphrase", "pin", "rejectUnauthorized", "servername"]);
  assert.deepEqual([...tls.server].sort(), ["alpn", "ca", "cert", "key", "passphrase", "requestCert", "requireCert"]);
});

test("an already-aborted signal: adapter.connect rejects with FW_SOCKET_ERROR and never opens", { timeout: 5_000 }, async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  let opened = false;
  await assert.rejects(
    adapter.connect({ host: HOST, port: 9, signal: controller.signal }, () => {
      opened = true;
      return { data() {}, drain() {}, released() {}, readTarget: () => undefined, end() {}, close() {} };
    }),
    { code: "FW_SOCKET_ERROR" },
  );
  assert.equal(opened, false);
});

test(`reusePort is ${reusePortSupported ? "honoured" : "FW_UNSUPPORTED"} on Node ${process.versions.node}`, { timeout: 5_000 }, async () => {
  if (reusePortSupported) {
    const a = await listen({ host: HOST, port: 0, reusePort: true });
    try {
      const b = await listen({ host: HOST, port: a.port, reusePort: true });
      assert.equal(b.port, a.port);
      await b.close();
    } finally {
      await a.close();
    }
  } else {
    await assert.rejects(listen({ host: HOST, port: 0, reusePort: true }), { code: "FW_UNSUPPORTED" });
    await assert.rejects(
      adapter.listen({ host: HOST, port: 0, reusePort: true }, () => assert.fail("no socket can arrive")),
      { code: "FW_UNSUPPORTED" },
    );
  }
});
