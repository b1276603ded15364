import { CodecError, ErrorCode, FrameTooLargeError, InvalidOptionError } from "../errors.ts";
import { DecoderBase } from "./decoder-base.ts";
import type { FrameDecoder, FrameSink, Framer } from "./framer.ts";

/** Options of {@link DelimiterFramer}. */
export interface DelimiterOptions {
  /**
   * The byte sequence that ends each frame; a string is taken as UTF-8. Must not be empty.
   * @default "\n"
   */
  delimiter?: string | Uint8Array;
  /**
   * Longest frame (without its delimiter) accepted or sent, in bytes. A peer that sends more
   * without a delimiter is cut off with `FW_LINE_TOO_LONG`.
   * @default 65536
   */
  maxLineLength?: number;
}

/**
 * Frames end with a delimiter (lines by default). Works on bytes, so a line with invalid UTF-8
 * is still one frame and never swallows the next; the codec then decides what it means.
 */
export class DelimiterFramer implements Framer {
  readonly kind = "delimiter";
  readonly delimiter: Uint8Array;
  readonly maxLineLength: number;

  constructor(options: DelimiterOptions = {}) {
    const delimiter = options.delimiter ?? "\n";
    if (typeof delimiter !== "string" && !(delimiter instanceof Uint8Array)) {
      throw new InvalidOptionError("delimiter must be a string or a Uint8Array");
    }
    this.delimiter = typeof delimiter === "string" ? new TextEncoder().encode(delimiter) : delimiter.slice();
    if (this.delimiter.length === 0) throw new InvalidOptionError("delimiter must not be empty");
    const max = options.maxLineLength ?? 65536;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new InvalidOptionError(`maxLineLength must be a non-negative integer, got ${max}`);
    }
    this.maxLineLength = max;
  }

  encodedLength(bodyLength: number): number {
    if (bodyLength > this.maxLineLength) {
      throw new FrameTooLargeError(bodyLength, this.maxLineLength, ErrorCode.LINE_TOO_LONG);
    }
    return bodyLength + this.delimiter.length;
  }

  /** A delimiter inside the payload would split it into two frames on the other side. */
  checkPayload(payload: Uint8Array): void {
    if (this.#splits(payload)) throw new CodecError("payload contains the frame delimiter");
  }

  encodeInto(target: Uint8Array, offset: number, payload: Uint8Array, prefix: number): number {
    // The framewire envelope always uses length-prefixed frames; only raw mode reaches here.
    if (prefix >= 0) throw new InvalidOptionError("delimiter framing carries no type prefix");
    let at = offset;
    target.set(payload, at);
    at += payload.length;
    target.set(this.delimiter, at);
    return at + this.delimiter.length;
  }

  encode(payload: Uint8Array): Uint8Array {
    this.checkPayload(payload);
    const out = new Uint8Array(this.encodedLength(payload.length));
    this.encodeInto(out, 0, payload, -1);
    return out;
  }

  createDecoder(): FrameDecoder {
    return new DelimiterDecoder(this.delimiter, this.maxLineLength);
  }

  /**
   * True when the receiver would not see `payload` as one frame: the delimiter occurs inside it,
   * or begins in its tail and ends inside the delimiter we append ("abc\r\n" + "\r\n\r\n").
   */
  #splits(payload: Uint8Array): boolean {
    const d = this.delimiter;
    if (indexOf(payload, 0, payload.length, d) >= 0) return true;
    for (let k = Math.min(d.length - 1, payload.length); k > 0; k--) {
      // Does the delimiter start k bytes before the end of the payload?
      let match = true;
      for (let j = 0; j < d.length && match; j++) {
        const at = payload.length - k + j;
        match = (at < payload.length ? payload[at] : d[at - payload.length]) === d[j];
      }
      if (match) return true;
    }
    return false;
  }
}

class DelimiterDecoder extends DecoderBase {
  readonly #delimiter: Uint8Array;
  readonly #max: number;
  /** Start of a line that began in an earlier chunk (only that line is ever copied). */
  #pending = new Uint8Array(0);
  #pendingLength = 0;

  constructor(delimiter: Uint8Array, maxLineLength: number) {
    super();
    this.#delimiter = delimiter;
    this.#max = maxLineLength;
  }

  protected get heldBytes(): number {
    return this.#pendingLength;
  }

  protected parse(chunk: Uint8Array, offset: number, sink: FrameSink): number {
    const delimiter = this.#delimiter;
    const dl = delimiter.length;
    const length = chunk.length;
    let pos = offset;

    if (this.#pendingLength > 0) {
      // The delimiter may itself straddle: look for it starting inside the pending tail.
      const lookBack = Math.min(dl - 1, this.#pendingLength);
      const end = this.#findAcross(chunk, pos, lookBack);
      if (end < 0) {
        this.#append(chunk, pos, length);
        return length;
      }
      // `end` is where the delimiter starts, in the concatenation pending+chunk[pos..].
      const lineLength = end;
      if (lineLength > this.#max) throw new FrameTooLargeError(lineLength, this.#max, ErrorCode.LINE_TOO_LONG);
      const fromChunk = lineLength - this.#pendingLength;
      let line: Uint8Array;
      if (fromChunk >= 0) {
        this.#append(chunk, pos, pos + fromChunk);
        line = this.#pending.subarray(0, lineLength);
        this.#pending = new Uint8Array(0);
      } else {
        line = this.#pending.slice(0, lineLength);
      }
      pos += fromChunk + dl;
      this.#pendingLength = 0;
      sink(line, 0, line.length);
      if (this.stopRequested) return pos;
    }

    while (pos < length) {
      const at = indexOf(chunk, pos, length, delimiter);
      if (at < 0) {
        this.#append(chunk, pos, length);
        return length;
      }
      if (at - pos > this.#max) throw new FrameTooLargeError(at - pos, this.#max, ErrorCode.LINE_TOO_LONG);
      const start = pos;
      pos = at + dl;
      sink(chunk, start, at);
      if (this.stopRequested) return pos;
    }
    return pos;
  }

  /**
   * Finds the delimiter in pending[pendingLength-lookBack..] + chunk[pos..]. Returns its start as
   * an offset into the concatenation pending + chunk[pos..], or -1.
   */
  #findAcross(chunk: Uint8Array, pos: number, lookBack: number): number {
    const delimiter = this.#delimiter;
    const pendingLength = this.#pendingLength;
    for (let k = lookBack; k > 0; k--) {
      // Delimiter starts k bytes before the end of pending.
      let match = true;
      for (let j = 0; j < delimiter.length; j++) {
        const idx = pendingLength - k + j;
        const byte = idx < pendingLength ? this.#pending[idx] : chunk[pos + idx - pendingLength];
        if (byte !== delimiter[j]) {
          match = false;
          break;
        }
      }
      if (match) return pendingLength - k;
    }
    const at = indexOf(chunk, pos, chunk.length, delimiter);
    return at < 0 ? -1 : pendingLength + (at - pos);
  }

  #append(chunk: Uint8Array, from: number, to: number): void {
    const add = to - from;
    const need = this.#pendingLength + add;
    if (need > this.#max + this.#delimiter.length - 1) {
      // The delimiter may still be partly in the tail, so allow that much slack before failing.
      throw new FrameTooLargeError(need, this.#max, ErrorCode.LINE_TOO_LONG);
    }
    if (need > this.#pending.length) {
      const grown = new Uint8Array(Math.max(need, this.#pending.length * 2, 256));
      grown.set(this.#pending.subarray(0, this.#pendingLength), 0);
      this.#pending = grown;
    }
    this.#pending.set(chunk.subarray(from, to), this.#pendingLength);
    this.#pendingLength = need;
  }
}

/** First index of `needle` in `haystack[from..to)`, or -1. */
function indexOf(haystack: Uint8Array, from: number, to: number, needle: Uint8Array): number {
  const first = needle[0] as number;
  const n = needle.length;
  let i = haystack.indexOf(first, from);
  while (i >= 0 && i + n <= to) {
    let j = 1;
    while (j < n && haystack[i + j] === needle[j]) j++;
    if (j === n) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}
