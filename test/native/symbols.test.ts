/** ffi/symbols.ts mirrors zig/include/framewire_native.h: constants and function signatures. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { ABI_VERSION, NativeError, RecordKind, SocketOption, STAT_COUNT, StatSlot, SYMBOLS } from "../../ffi/symbols.ts";

const HEADER = readFileSync(new URL("../../zig/include/framewire_native.h", import.meta.url), "utf8");

/** `#define PREFIX_NAME value` lines as { NAME: value }. */
function defines(prefix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of HEADER.matchAll(new RegExp(`^#define ${prefix}(\\w+)\\s+\\(?(-?\\d+)\\)?`, "gm"))) out[m[1] as string] = Number(m[2]);
  return out;
}

/** The header's function declarations: name → parameter types and result, in the table's notation. */
function declarations(): Record<string, { parameters: string[]; result: string }> {
  const out: Record<string, { parameters: string[]; result: string }> = {};
  const flat = HEADER.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\s+/g, " ");
  for (const m of flat.matchAll(/([\w ]+?\*?) ?\b(fwn_\w+)\((.*?)\);/g)) {
    const kind = (c: string): string => {
      const t = c.replace(/\b\w+$/, "").trim(); // drop the parameter name
      if (/\(\*\w*\)/.test(c)) return "callback";
      if (t === "void *") return "ptr";
      if (t === "const char *") return "cstring";
      if (t === "const uint8_t *" || t === "uint64_t *") return "buffer";
      return ({ uint32_t: "u32", int32_t: "i32", int64_t: "i64" } as Record<string, string>)[t] ?? `? ${t}`;
    };
    const params = (m[3] as string).trim() === "void" ? [] : (m[3] as string).split(/,(?![^(]*\))/).map((p) => kind(p.trim()));
    const r = ((m[1] as string).trim().match(/(\w+ \*|\w+)$/) ?? [""])[0];
    out[m[2] as string] = { parameters: params, result: r === "void *" ? "ptr" : r === "uint8_t *" ? "ptr" : (({ uint32_t: "u32", int32_t: "i32", int64_t: "i64" } as Record<string, string>)[r] ?? `? ${r}`) };
  }
  return out;
}

describe("ffi/symbols.ts matches the header", () => {
  test("ABI version", () => {
    expect(defines("FWN_ABI_").VERSION).toBe(ABI_VERSION);
  });
  test("error numbers, record kinds, options, stats slots", () => {
    expect(defines("FWN_ERR_")).toEqual({ ...NativeError });
    expect(defines("FWN_EV_")).toEqual({ ...RecordKind });
    expect(defines("FWN_OPT_")).toEqual({ ...SocketOption });
    expect(defines("FWN_STAT_")).toEqual({ ...StatSlot, COUNT: STAT_COUNT });
  });
  test("every function, with its parameter and result types", () => {
    const declared = declarations();
    const table = Object.fromEntries(Object.entries(SYMBOLS).map(([name, spec]) => [name, { parameters: [...spec.parameters], result: spec.result }]));
    expect(Object.keys(declared).sort()).toEqual(Object.keys(table).sort());
    expect(declared).toEqual(table);
  });
});
