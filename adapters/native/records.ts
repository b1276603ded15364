/**
 * Reads a batch of event records in place (zig/include/framewire_native.h):
 * u8 kind | u8 flags | u16 reserved | u32 id | u32 len | payload[len] | pad to 4, little-endian.
 */
import { RECORD_HEADER_BYTES } from "../../ffi/symbols.ts";

/** Who receives the records: `offset` is where the payload starts in `bytes`. */
export interface RecordSink {
  record(kind: number, id: number, bytes: Uint8Array, view: DataView, offset: number, length: number): void;
}

/** Calls `sink.record` for every record of the first `used` bytes; stops at a truncated record. */
export function readRecords(bytes: Uint8Array, view: DataView, used: number, sink: RecordSink): void {
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= used) {
    const kind = view.getUint8(at);
    const id = view.getUint32(at + 4, true);
    const length = view.getUint32(at + 8, true);
    const offset = at + RECORD_HEADER_BYTES;
    if (offset + length > used) return; // cannot happen with a sound library; never read past `used`
    sink.record(kind, id, bytes, view, offset, length);
    at = offset + ((length + 3) & ~3);
  }
}

/** The endpoints of an accepted or dialled connection. */
export interface Endpoints {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

const decoder = new TextDecoder();

/** The FWN address block at `offset`: u16 remote port | u16 local port | u8 rlen | u8 llen | remote | local. */
export function readEndpoints(bytes: Uint8Array, view: DataView, offset: number, length: number): Endpoints {
  if (length < 6) return { remoteAddress: "", remotePort: 0, localAddress: "", localPort: 0 };
  const remoteLength = view.getUint8(offset + 4);
  const localLength = view.getUint8(offset + 5);
  const start = offset + 6;
  const end = offset + length;
  return {
    remotePort: view.getUint16(offset, true),
    localPort: view.getUint16(offset + 2, true),
    remoteAddress: decoder.decode(bytes.subarray(start, Math.min(end, start + remoteLength))),
    localAddress: decoder.decode(bytes.subarray(Math.min(end, start + remoteLength), Math.min(end, start + remoteLength + localLength))),
  };
}

export function readText(bytes: Uint8Array, offset: number, length: number): string {
  return decoder.decode(bytes.subarray(offset, offset + length));
}
