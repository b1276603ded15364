// The interop matrix: a server on each runtime with a client on each runtime (3×3), both
// directions, both protocols, and the framewire protocol inside TLS. Real processes on 127.0.0.1; each bounded in time.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { strict as assert } from "node:assert";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bin = join(here, "../../node_modules/.bin");
const command = {
  bun: (file, args) => [join(bin, "bun"), [file, ...args]],
  node: (file, args) => [process.execPath, [file, ...args]],
  deno: (file, args) => [join(bin, "deno"), ["run", "-A", file, ...args]],
};
const runtimes = ["bun", "node", "deno"];
// The test PKI for the TLS leg, generated now by openssl (nothing secret is committed).
const pki = mkdtempSync(join(tmpdir(), "framewire-interop-pki-"));
execFileSync("python3", [join(here, "../fixtures/tls_material.py"), pki], { stdio: ["ignore", "ignore", "inherit"] });
after(() => rmSync(pki, { recursive: true, force: true }));

function start(runtime, file, args) {
  const [cmd, argv] = command[runtime](join(here, file), args);
  const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, out: () => out, err: () => err };
}

async function firstLine(proc, ms) {
  const deadline = Date.now() + ms;
  while (!proc.out().includes("\n")) {
    if (Date.now() > deadline) throw new Error(`no output within ${ms} ms: ${proc.err()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return JSON.parse(proc.out().split("\n")[0]);
}

for (const serverRuntime of runtimes) {
  test(`interop: ${serverRuntime} server with bun, node and deno clients`, { timeout: 90_000 }, async () => {
    const server = start(serverRuntime, "server.mjs", ["60", pki]);
    try {
      const ports = await firstLine(server, 15_000);
      assert.equal(ports.adapter, serverRuntime);
      for (const clientRuntime of runtimes) {
        const client = start(clientRuntime, "client.mjs", [String(ports.framewire), String(ports.raw), serverRuntime, String(ports.tls), pki]);
        const code = await client.exited;
        const verdict = client.out().trim() ? JSON.parse(client.out().trim().split("\n").at(-1)) : { problems: [client.err()] };
        assert.equal(verdict.adapter, clientRuntime, `${clientRuntime} client ran its own adapter`);
        assert.deepEqual(verdict.problems, [], `${clientRuntime} → ${serverRuntime}`);
        assert.equal(code, 0, `${clientRuntime} client exit code; stderr: ${client.err()}`);
      }
    } finally {
      server.child.kill();
      await server.exited;
    }
  });
}

/** The fault-injecting proxy (test/fixtures/cut_proxy.py) in front of `port`; resolves with its own port. */
async function cutProxy(port, cuts) {
  const child = spawn("python3", [join(here, "../fixtures/cut_proxy.py"), String(port), "--cuts", String(cuts), "--min-bytes", "1000", "--max-bytes", "40000", "--seed", "5", "--lifetime", "80"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const deadline = Date.now() + 10_000;
  while (!out.includes("\n")) {
    if (Date.now() > deadline) throw new Error("the cut proxy did not start");
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port: Number(out.split("\n")[0].replace("PORT ", "")), cuts: () => (out.match(/^CUT /gm) ?? []).length, child };
}

for (const serverRuntime of runtimes) {
  test(`interop, resume: ${serverRuntime} server, bun/node/deno clients, through 8 RST cuts each`, { timeout: 120_000 }, async () => {
    const server = start(serverRuntime, "server.mjs", ["100"]);
    try {
      const ports = await firstLine(server, 15_000);
      for (const clientRuntime of runtimes) {
        const proxy = await cutProxy(ports.resume, 8);
        try {
          const client = start(clientRuntime, "resume-client.mjs", [String(proxy.port), "20000"]);
          const code = await client.exited;
          const verdict = client.out().trim() ? JSON.parse(client.out().trim().split("\n").at(-1)) : { problems: [client.err()] };
          assert.deepEqual(verdict.problems, [], `${clientRuntime} → ${serverRuntime} (resume)`);
          assert.equal(verdict.received, 20000, `${clientRuntime} → ${serverRuntime}: every echo`);
          assert.ok(proxy.cuts() >= 8, `${clientRuntime} → ${serverRuntime}: the proxy cut ${proxy.cuts()} times`);
          assert.equal(code, 0, `${clientRuntime} resume client exit code; stderr: ${client.err()}`);
        } finally {
          proxy.child.kill();
        }
      }
    } finally {
      server.child.kill();
      await server.exited;
    }
  });
}

// Native ↔ runtime sockets, both directions, every loader: a native server (koffi, under Node)
// with runtime-socket clients, and a runtime-socket server (Bun) with native clients on bun:ffi,
// koffi and Deno.dlopen. No TLS leg: the native adapter has none. Needs the library built.
test("interop, native: a native server (Node, koffi) with bun, node and deno runtime-socket clients", { timeout: 90_000 }, async () => {
  const server = start("node", "server.mjs", ["60", "--native"]);
  try {
    const ports = await firstLine(server, 15_000);
    assert.equal(ports.adapter, "native");
    for (const clientRuntime of runtimes) {
      const client = start(clientRuntime, "client.mjs", [String(ports.framewire), String(ports.raw), "node"]);
      const code = await client.exited;
      const verdict = client.out().trim() ? JSON.parse(client.out().trim().split("\n").at(-1)) : { problems: [client.err()] };
      assert.equal(verdict.adapter, clientRuntime, `${clientRuntime} client ran its own adapter`);
      assert.deepEqual(verdict.problems, [], `${clientRuntime} → native`);
      assert.equal(code, 0, `${clientRuntime} client exit code; stderr: ${client.err()}`);
    }
  } finally {
    server.child.kill();
    await server.exited;
  }
});

test("interop, native: a Bun runtime-socket server with native clients on bun:ffi, koffi and Deno.dlopen", { timeout: 90_000 }, async () => {
  const server = start("bun", "server.mjs", ["60"]);
  try {
    const ports = await firstLine(server, 15_000);
    assert.equal(ports.adapter, "bun");
    for (const clientRuntime of runtimes) {
      const client = start(clientRuntime, "client.mjs", [String(ports.framewire), String(ports.raw), "bun", "--native"]);
      const code = await client.exited;
      const verdict = client.out().trim() ? JSON.parse(client.out().trim().split("\n").at(-1)) : { problems: [client.err()] };
      assert.equal(verdict.adapter, "native", `the ${clientRuntime} client ran the native adapter`);
      assert.deepEqual(verdict.problems, [], `native (${clientRuntime}) → bun`);
      assert.equal(code, 0, `native ${clientRuntime} client exit code; stderr: ${client.err()}`);
    }
  } finally {
    server.child.kill();
    await server.exited;
  }
});
