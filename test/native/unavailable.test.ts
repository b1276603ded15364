/** A library that cannot be used: FW_NATIVE_UNAVAILABLE with a reason, never a crash or a throw at import. */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTransport, NativeAdapter, NativeUnavailableError, loadNative } from "../../adapters/native/index.ts";
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
