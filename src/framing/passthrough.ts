import { InvalidOptionError } from "../errors.ts";
import { DecoderBase } from "./decoder-base.ts";
import type { FrameDecoder, FrameSink, Framer } from "./framer.ts";

/**
 * No framing: every chunk the socket delivers is one message and every message is written as is.
 * Message boundaries are not preserved across the network; use it for byte streams only.
 */
export class PassthroughFramer implements Framer {
  readonly kind = "none";

  encodedLength(bodyLength: number): number {
    return bodyLength;
  }

  encodeInto(target: Uint8Array, offset: number, payload: Uint8Array, prefix: number): number {
    if (prefix >= 0) throw new InvalidOptionError("framing \"none\" carries no type prefix");
    target.set(payload, offset);
    return offset + payload.length;
  }

  encode(payload: Uint8Array): Uint8Array {
    return payload.slice();
  }

  createDecoder(): FrameDecoder {
    return new PassthroughDecoder();
  }
}

class PassthroughDecoder extends DecoderBase {
  protected get heldBytes(): number {
    return 0;
  }

  protected parse(chunk: Uint8Array, offset: number, sink: FrameSink): number {
    if (offset < chunk.length) sink(chunk, offset, chunk.length);
    return chunk.length;
  }
}
