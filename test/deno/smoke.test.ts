// What is specific to framewire/deno and not in the conformance suite (test/conformance/scenarios.ts,
// run by conformance.test.ts): the adapter's class and capabilities, an already-aborted connect,
// and reusePort, which needs Linux and --unstable-net.
// Run: ./node_modules/.bin/deno test -A test/deno/
// Deno's op and resource sanitizers stay on: every test must leave nothing pending or open.
import { adapter, DenoAdapter, type FramewireError, listen } from "../../adapters/deno/index.ts";

const HOST = "127.0.0.1";

// Minimal assertions (no remote @std/assert import: the tests run offline).
function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

function assertEquals(actual: unknown, expected: unknown, message = "values differ"): void {
  // Flat values and flat objects only; keys sorted so their order does not matter.
  const a = JSON.stringify(actual, Object.keys(Object(actual)).sort());
  const e = JSON.stringify(expected, Object.keys(Object(expected)).sort());
  if (a !== e) throw new Error(`${message}: ${a} !== ${e}`);
}

/** The error `fn` rejects with; fails when it resolves. */
async function rejection(fn: () => Promise<unknown>): Promise<FramewireError> {
  try {
    await fn();
  } catch (error) {
    return error as FramewireError;
  }
  throw new Error("expected a rejection");
}

// reusePort: Linux with --unstable-net (Deno.listenDatagram present); FW_UNSUPPORTED otherwise,
// because Deno would exit the process on the unstable option.
const reusePortSupported = Deno.build.os === "linux" && typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";

Deno.test("the adapter is Deno's, with Deno's capabilities", () => {
  assert(adapter instanceof DenoAdapter);
  assertEquals(adapter.name, "deno");
  const { tls, ...flags } = adapter.capabilities;
  assertEquals(flags, {
    localBind: false,
    unixSockets: Deno.build.os !== "windows",
    ipv6: true,
    reusePort: reusePortSupported,
    retainsWrites: true,
  });
  // Only what Deno honours: no pin, rejectUnauthorized or passphrase; no client certificates asked for.
  assert(tls !== false, "TLS is supported");
  assertEquals([...tls.client].sort().join(","), "alpn,ca,cert,key,servername", "client tls options");
  assertEquals([...tls.server].sort().join(","), "alpn,cert,key", "server tls options");
});

Deno.test("an already-aborted signal: adapter.connect rejects with FW_SOCKET_ERROR and never opens", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  let opened = false;
  const error = await rejection(() =>
    adapter.connect({ host: HOST, port: 9, signal: controller.signal }, () => {
      opened = true;
      return { data() {}, drain() {}, released() {}, readTarget: () => undefined, end() {}, close() {} };
    })
  );
  assertEquals(error.code, "FW_SOCKET_ERROR");
  assertEquals(opened, false);
});

Deno.test(`reusePort is ${reusePortSupported ? "honoured" : "FW_UNSUPPORTED"} here`, async () => {
  if (reusePortSupported) {
    const a = await listen({ host: HOST, port: 0, reusePort: true });
    try {
      const b = await listen({ host: HOST, port: a.port, reusePort: true });
      assertEquals(b.port, a.port);
      await b.close();
    } finally {
      await a.close();
    }
  } else {
    assertEquals((await rejection(() => listen({ host: HOST, port: 0, reusePort: true }))).code, "FW_UNSUPPORTED");
    const direct = await rejection(() =>
      adapter.listen({ host: HOST, port: 0, reusePort: true }, () => {
        throw new Error("no socket can arrive");
      })
    );
    assertEquals(direct.code, "FW_UNSUPPORTED");
  }
});
