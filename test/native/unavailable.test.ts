/** A library that cannot be used: FW_NATIVE_UNAVAILABLE with a reason, never a crash or a throw at import. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTransport, NativeAdapter, NativeUnavailableError, loadNative, preferNative, type SocketAdapter } from "../../adapters/native/index.ts";
import { adapter as bunAdapter } from "../../adapters/bun/index.ts";
import { SYMBOLS } from "../../ffi/symbols.ts";

const dir = mkdtempSync(join(tmpdir(), "framewire-native-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("native library unavailable", () => {
  const missing = join(dir, "nope", "libframewire_native.so");

  test("libraryPath to a missing file: listen and connect reject with FW_NATIVE_UNAVAILABLE and the reason", async () => {
    const transport = createTransport(new NativeAdapter({ libraryPath: missing }));
    const listening = await transport.listen({ host: "127.0.0.1", port: 0 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(listening).toBeInstanceOf(NativeUnavailableError);
    expect((listening as NativeUnavailableError).code).toBe("FW_NATIVE_UNAVAILABLE");
    expect((listening as NativeUnavailableError).reason).toContain(missing);
    const connecting = await transport.connect({ host: "127.0.0.1", port: 1, connectTimeoutMs: 2000 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((connecting as { code?: string }).code).toBe("FW_NATIVE_UNAVAILABLE");
  });

  /** One echo through `adapter`: the bytes that come back. */
  async function echoThrough(adapter: SocketAdapter): Promise<number[]> {
    const transport = createTransport(adapter);
    const server = await transport.listen({ host: "127.0.0.1", port: 0 });
    server.on("connection", (c) => c.on("message", (m) => c.send(m)));
    const client = await transport.connect({ host: "127.0.0.1", port: server.port });
    const back = new Promise<Uint8Array>((resolve) => client.on("message", resolve));
    client.send(Uint8Array.of(7, 8, 9));
    const bytes = [...(await back)];
    expect(client.adapter.name).toBe(adapter.name);
    await client.close();
    await server.close(500);
    return bytes;
  }

  test("preferNative without a usable library: the fallback adapter, the reason on the result and once through onFallback", async () => {
    const reasons: string[] = [];
    const chosen = await preferNative(bunAdapter, { libraryPath: missing, onFallback: (reason) => reasons.push(reason) });
    expect(chosen.native).toBe(false);
    expect(chosen.adapter).toBe(bunAdapter);
    if (!chosen.native) expect(chosen.reason).toContain(missing);
    expect(reasons).toEqual([(chosen as { reason: string }).reason]);
    expect(await echoThrough(chosen.adapter)).toEqual([7, 8, 9]);
    // A hook that throws does not turn the choice into a failure.
    const again = await preferNative(bunAdapter, { libraryPath: missing, onFallback: () => { throw new Error("hook"); } });
    expect(again.native).toBe(false);
    await expect(preferNative(bunAdapter, { onFallback: "log" as never })).rejects.toMatchObject({ code: "FW_INVALID_OPTION" });
    await expect(preferNative(undefined as never)).rejects.toMatchObject({ code: "FW_INVALID_OPTION" });
    await expect(preferNative(bunAdapter, null as never)).rejects.toMatchObject({ code: "FW_INVALID_OPTION" });
    // An async hook that rejects: dropped, never an unhandled rejection.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const quiet = await preferNative(bunAdapter, { libraryPath: missing, onFallback: async () => Promise.reject(new Error("async hook")) });
    await new Promise((r) => setTimeout(r, 20));
    process.off("unhandledRejection", onUnhandled);
    expect(quiet.native).toBe(false);
    expect(unhandled).toEqual([]);
  });

  test("preferNative with the built library: the native adapter, which carries traffic", async () => {
    let called = 0;
    const chosen = await preferNative(bunAdapter, { onFallback: () => called++ });
    expect(chosen.native).toBe(true);
    expect(chosen.adapter.name).toBe("native");
    if (chosen.native) expect(chosen.path).toContain("libframewire_native.so");
    expect(called).toBe(0);
    expect(await echoThrough(chosen.adapter)).toEqual([7, 8, 9]);
    await (chosen.adapter as NativeAdapter).close();
  });

  test("loadNative says unavailable, with the reason", async () => {
    const result = await loadNative({ libraryPath: missing });
    expect(result.available).toBe(false);
    if (!result.available) expect(result.reason).toContain(`no file at libraryPath ${missing}`);
  });

  test("a file that is not a shared library", async () => {
    const bogus = join(dir, "bogus.so");
    writeFileSync(bogus, "not an ELF file");
    const result = await loadNative({ libraryPath: bogus });
    expect(result.available).toBe(false);
    if (!result.available) expect(result.reason).toContain(`cannot load ${bogus}`);
  });

  test("a library of another ABI version is refused", async () => {
    // Every symbol of the table, so the loader binds them all; fwn_abi_version answers 99.
    const source = join(dir, "abi99.c");
    const library = join(dir, "libabi99.so");
    const stubs = Object.keys(SYMBOLS).map((name) => (name === "fwn_abi_version" ? "unsigned fwn_abi_version(void) { return 99; }" : `long ${name}(void) { return 0; }`));
    writeFileSync(source, `${stubs.join("\n")}\n`);
    const cc = Bun.spawnSync(["gcc", "-shared", "-fPIC", "-o", library, source]);
    if (cc.exitCode !== 0) throw new Error(`gcc failed: ${cc.stderr.toString()}`);
    const result = await loadNative({ libraryPath: library });
    expect(result).toEqual({ available: false, reason: `${library} speaks ABI version 99, this framewire needs 1` });
    const error = await createTransport(new NativeAdapter({ libraryPath: library }))
      .listen({ host: "127.0.0.1", port: 0 })
      .then(() => undefined, (e: unknown) => e);
    expect((error as { code?: string }).code).toBe("FW_NATIVE_UNAVAILABLE");
  });

  test("the built library is found without options", async () => {
    const result = await loadNative();
    expect(result).toMatchObject({ available: true, loader: "bun:ffi" });
  });

  test("options are validated at construction", () => {
    expect(() => new NativeAdapter({ batchBytes: 1024 })).toThrow(/batchBytes/);
    // @ts-expect-error -- not a function
    expect(() => new NativeAdapter({ onLog: "stderr" })).toThrow(expect.objectContaining({ code: "FW_INVALID_OPTION" }));
    expect(() => new NativeAdapter({ highWaterBytes: 0 })).toThrow(/highWaterBytes/);
  });
});
