import { InvalidOptionError } from "../errors.ts";
import { rejectUnknownKeys, requireObject } from "../validate.ts";
import { type DelimiterOptions, DelimiterFramer } from "./delimiter.ts";
import type { Framer } from "./framer.ts";
import { type LengthPrefixedOptions, LengthPrefixedFramer } from "./length-prefixed.ts";
import { PassthroughFramer } from "./passthrough.ts";

export { DecoderBase } from "./decoder-base.ts";
export type { FrameDecoder, FrameSink, Framer } from "./framer.ts";
export { DelimiterFramer, type DelimiterOptions } from "./delimiter.ts";
export { LengthPrefixedDecoder, LengthPrefixedFramer, type LengthPrefixedOptions } from "./length-prefixed.ts";
export { PassthroughFramer } from "./passthrough.ts";

/** How raw-mode messages are framed. The framewire protocol always uses a u32 big-endian length. */
export type FramingOptions =
  | ({ type: "length-prefixed" } & LengthPrefixedOptions)
  | ({ type: "delimiter" } & DelimiterOptions)
  | { type: "none" };

const FRAMING_KEYS: Readonly<Record<string, ReadonlySet<string>>> = {
  "length-prefixed": new Set(["type", "headerBytes", "endian", "maxFrameSize"]),
  delimiter: new Set(["type", "delimiter", "maxLineLength"]),
  none: new Set(["type"]),
};

/** A framer object of the user's must have the whole interface, or every connection would fail on it. */
function checkFramer(framer: Framer): Framer {
  for (const method of ["createDecoder", "encodedLength", "encodeInto", "encode"] as const) {
    if (typeof framer[method] !== "function") throw new InvalidOptionError(`a custom framer needs a ${method}() method`);
  }
  if (framer.checkPayload !== undefined && typeof framer.checkPayload !== "function") throw new InvalidOptionError("a custom framer's checkPayload must be a method");
  return framer;
}

/**
 * Builds a framer from plain options, or passes a ready framer through (checked).
 * @throws InvalidOptionError for an unknown type, an unknown key or a value out of range.
 */
export function createFramer(options: FramingOptions | Framer): Framer {
  requireObject("framing", options);
  if ("createDecoder" in options) return checkFramer(options);
  const keys = FRAMING_KEYS[String(options.type)];
  if (keys !== undefined) rejectUnknownKeys(options, keys, `framing "${options.type}"`);
  switch (options.type) {
    case "length-prefixed":
      return new LengthPrefixedFramer(options);
    case "delimiter":
      return new DelimiterFramer(options);
    case "none":
      return new PassthroughFramer();
    default:
      throw new InvalidOptionError(`unknown framing type ${String((options as { type: unknown }).type)}`);
  }
}
