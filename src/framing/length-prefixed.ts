import { ErrorCode, FrameTooLargeError, InvalidOptionError, MalformedFrameError } from "../errors.ts";
import { DecoderBase } from "./decoder-base.ts";
import { PartialFrame } from "./partial-frame.ts";
import type { FrameSink, Framer } from "./framer.ts";

/** Options of {@link LengthPrefixedFramer}. */
export interface LengthPrefixedOptions {
  /**
   * Width of the length header in bytes, or `"varint"` (unsigned LEB128, at most 5 bytes).
   * @default 4
   */
  headerBytes?: 1 | 2 | 4 | "varint";
  /**
   * Byte order of fixed-width headers.
   * @default "big"
   */
  endian?: "big" | "little";
  /**
   * Largest frame body accepted or sent, in bytes. Checked from the header, before any of the
   * body is buffered.
   * @default 16 MiB
   */
  maxFrameSize?: number;
}

const MAX_U32 = 0xffff_ffff;
const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;

/** `length | body` framing with a 1, 2 or 4-byte or varint length header. */
export class LengthPrefixedFramer implements Framer {
  readonly kind = "length-prefixed";
  readonly headerBytes: 1 | 2 | 4 | "varint";
  readonly littleEndian: boolean;
  readonly maxFrameSize: number;
  /** Largest body the header can express. */
  readonly headerLimit: number;

  constructor(options: LengthPrefixedOptions = {}) {
    const headerBytes = options.headerBytes ?? 4;
    if (headerBytes !== 1 && headerBytes !== 2 && headerBytes !== 4 && headerBytes !== "varint") {
      throw new InvalidOptionError(`headerBytes must be 1, 2, 4 or "varint", got ${String(headerBytes)}`);
    }
    const endian = options.endian ?? "big";
    if (endian !== "big" && endian !== "little") {
      throw new InvalidOptionError(`endian must be "big" or "little", got ${String(endian)}`);
    }
    const maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME;
    if (!Number.isSafeInteger(maxFrameSize) || maxFrameSize < 0) {
      throw new InvalidOptionError(`maxFrameSize must be a non-negative integer, got ${maxFrameSize}`);
    }
    this.headerBytes = headerBytes;
    this.littleEndian = endian === "little";
    this.headerLimit = headerBytes === 1 ? 0xff : headerBytes === 2 ? 0xffff : MAX_U32;
    this.maxFrameSize = Math.min(maxFrameSize, this.headerLimit);
  }

  encodedLength(bodyLength: number): number {
    if (bodyLength > this.headerLimit) {
      throw new FrameTooLargeError(bodyLength, this.headerLimit, ErrorCode.PAYLOAD_TOO_LARGE);
    }
    if (bodyLength > this.maxFrameSize) throw new FrameTooLargeError(bodyLength, this.maxFrameSize);
    return this.#headerLength(bodyLength) + bodyLength;
  }

  encodeInto(target: Uint8Array, offset: number, payload: Uint8Array, prefix: number): number {
    const bodyLength = payload.length + (prefix >= 0 ? 1 : 0);
    let at = this.#writeHeader(target, offset, bodyLength);
    if (prefix >= 0) target[at++] = prefix;
    target.set(payload, at);
    return at + payload.length;
  }

  encode(payload: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.encodedLength(payload.length));
    this.encodeInto(out, 0, payload, -1);
    return out;
  }

  createDecoder(): LengthPrefixedDecoder {
    return new LengthPrefixedDecoder(this.headerBytes, this.littleEndian, this.maxFrameSize);
  }

  #headerLength(bodyLength: number): number {
    return this.headerBytes === "varint" ? varintLength(bodyLength) : this.headerBytes;
  }

  #writeHeader(target: Uint8Array, offset: number, length: number): number {
    switch (this.headerBytes) {
      case 1:
        target[offset] = length;
        return offset + 1;
      case 2:
        if (this.littleEndian) {
          target[offset] = length & 0xff;
          target[offset + 1] = length >>> 8;
        } else {
          target[offset] = length >>> 8;
          target[offset + 1] = length & 0xff;
        }
        return offset + 2;
      case 4:
        if (this.littleEndian) {
          target[offset] = length & 0xff;
          target[offset + 1] = (length >>> 8) & 0xff;
          target[offset + 2] = (length >>> 16) & 0xff;
          target[offset + 3] = length >>> 24;
        } else {
          target[offset] = length >>> 24;
          target[offset + 1] = (length >>> 16) & 0xff;
          target[offset + 2] = (length >>> 8) & 0xff;
          target[offset + 3] = length & 0xff;
        }
        return offset + 4;
      default: {
        let v = length;
        while (v >= 0x80) {
          target[offset++] = (v & 0x7f) | 0x80;
          v = Math.floor(v / 128);
        }
        target[offset++] = v;
        return offset;
      }
    }
  }
}

/** Reads the header in place; assembles only a frame whose header or body straddles chunks. */
export class LengthPrefixedDecoder extends DecoderBase {
  readonly #width: number; // 0 for varint
  readonly #little: boolean;
  #max: number;
  /** Header bytes of a header split across chunks. */
  /** Allocated the first time a header straddles chunks (most connections never need it). */
  #headerStash: Uint8Array | null = null;
  #headerStashLength = 0;
  /** Bytes the last `#readHeader` consumed (varints may be padded, so not derivable from the value). */
  #headerLength = 0;
  /** A body being assembled across chunks. */
  #partial: PartialFrame | null = null;

  constructor(headerBytes: 1 | 2 | 4 | "varint", littleEndian: boolean, maxFrameSize: number) {
    super();
    this.#width = headerBytes === "varint" ? 0 : headerBytes;
    this.#little = littleEndian;
    this.#max = maxFrameSize;
  }

  /** The largest body accepted from the next header on (framewire: smaller during the handshake). */
  get maxFrameSize(): number {
    return this.#max;
  }

  set maxFrameSize(value: number) {
    this.#max = value;
  }

  readTarget(): Uint8Array | undefined {
    return this.stopped || this.#partial === null ? undefined : this.#partial.readTarget();
  }

  discardIncomplete(): void {
    this.#partial = null;
    this.#headerStashLength = 0;
  }

  /** The begun frame's bytes, its header included (so a header followed by silence counts as begun). */
  override get partialBytes(): number {
    return this.#headerStashLength + (this.#partial === null ? 0 : this.#partial.filled + Math.max(this.#width, 1));
  }

  protected get heldBytes(): number {
    return this.#headerStashLength + (this.#partial === null ? 0 : this.#partial.filled);
  }

  protected parse(chunk: Uint8Array, offset: number, sink: FrameSink): number {
    const length = chunk.length;
    let pos = offset;

    // Finish what the previous chunk started.
    if (this.#headerStashLength > 0) {
      while (pos < length) {
        const stash = this.#headerStash as Uint8Array;
        stash[this.#headerStashLength++] = chunk[pos++] as number;
        const size = this.#readHeader(stash, 0, this.#headerStashLength);
        if (size >= 0) {
          this.#headerStashLength = 0;
          this.#partial = new PartialFrame(size);
          break;
        }
      }
      if (this.#headerStashLength > 0) return length;
    }
    const partial = this.#partial;
    if (partial !== null) {
      const take = Math.min(partial.size - partial.filled, length - pos);
      partial.add(chunk, pos, take);
      pos += take;
      if (partial.filled < partial.size) return length;
      this.#partial = null;
      const body = partial.assemble();
      sink(body, 0, body.length);
      if (this.stopRequested) return pos;
    }

    // Frames wholly inside this chunk: no copies.
    const width = this.#width;
    while (pos < length) {
      let size: number;
      let headerLength: number;
      if (width === 4 && pos + 4 <= length) {
        size = this.#little
          ? ((chunk[pos] as number) |
              ((chunk[pos + 1] as number) << 8) |
              ((chunk[pos + 2] as number) << 16) |
              ((chunk[pos + 3] as number) << 24)) >>>
            0
          : (((chunk[pos] as number) << 24) |
              ((chunk[pos + 1] as number) << 16) |
              ((chunk[pos + 2] as number) << 8) |
              (chunk[pos + 3] as number)) >>>
            0;
        if (size > this.#max) throw new FrameTooLargeError(size, this.#max);
        headerLength = 4;
      } else {
        const available = Math.min(length - pos, width === 0 ? 5 : width);
        size = this.#readHeader(chunk, pos, available);
        if (size < 0) {
          // Header split across chunks: stash its bytes.
          (this.#headerStash ??= new Uint8Array(5)).set(chunk.subarray(pos, length), 0);
          this.#headerStashLength = length - pos;
          return length;
        }
        headerLength = this.#headerLength;
      }
      const start = pos + headerLength;
      const end = start + size;
      if (end <= length) {
        pos = end;
        sink(chunk, start, end);
        if (this.stopRequested) return pos;
      } else {
        this.#partial = new PartialFrame(size);
        this.#partial.add(chunk, start, length - start);
        return length;
      }
    }
    return pos;
  }

  /**
   * Reads a header from `bytes[at..at+available)`. Returns the body size, or -1 when more header
   * bytes are needed. Throws when the size exceeds the limit or the varint is malformed.
   */
  #readHeader(bytes: Uint8Array, at: number, available: number): number {
    let size: number;
    const width = this.#width;
    if (width === 0) {
      size = 0;
      let shift = 1;
      let i = 0;
      for (;;) {
        if (i >= available) {
          if (i >= 5) throw new MalformedFrameError("varint length header longer than 5 bytes");
          return -1;
        }
        const b = bytes[at + i] as number;
        size += (b & 0x7f) * shift;
        i++;
        if ((b & 0x80) === 0) break;
        shift *= 128;
        if (i >= 5) throw new MalformedFrameError("varint length header longer than 5 bytes");
      }
      if (size > MAX_U32) throw new MalformedFrameError(`varint length ${size} exceeds 32 bits`);
      this.#headerLength = i;
    } else {
      if (available < width) return -1;
      this.#headerLength = width;
      if (width === 1) size = bytes[at] as number;
      else if (width === 2) {
        size = this.#little
          ? (bytes[at] as number) | ((bytes[at + 1] as number) << 8)
          : ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
      } else {
        const b0 = bytes[at] as number;
        const b1 = bytes[at + 1] as number;
        const b2 = bytes[at + 2] as number;
        const b3 = bytes[at + 3] as number;
        size = (this.#little ? b0 | (b1 << 8) | (b2 << 16) | (b3 << 24) : (b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
      }
    }
    if (size > this.#max) throw new FrameTooLargeError(size, this.#max);
    return size;
  }
}

function varintLength(value: number): number {
  let n = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 128)) n++;
  return n;
}
