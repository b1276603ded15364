import { InvalidOptionError } from "../errors.ts";
import { type DelimiterOptions, DelimiterFramer } from "./delimiter.ts";
import type { Framer } from "./framer.ts";
import { type LengthPrefixedOptions, LengthPrefixedFramer } from "./length-prefixed.ts";
import { PassthroughFramer } from "./passthrough.ts";

export type { FrameDecoder, FrameSink, Framer } from "./framer.ts";
export { DelimiterFramer, type DelimiterOptions } from "./delimiter.ts";
export { LengthPrefixedFramer, type LengthPrefixedOptions } from "./length-prefixed.ts";
export { PassthroughFramer } from "./passthrough.ts";

/** How raw-mode messages are framed. The framewire protocol always uses a u32 big-endian length. */
export type FramingOptions =
  | ({ type: "length-prefixed" } & LengthPrefixedOptions)
  | ({ type: "delimiter" } & DelimiterOptions)
  | { type: "none" };

/** Builds a framer from plain options, or passes a ready framer through. */
export function createFramer(options: FramingOptions | Framer): Framer {
  if ("createDecoder" in options) return options;
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
