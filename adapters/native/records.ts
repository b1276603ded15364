/** Reading the library's event records (zig/include/framewire_native.h): headers, text, address blocks. */
import type { Endpoints } from "./socket.ts";

const decoder = new TextDecoder();

export function text(bytes: Uint8Array, at: number, length: number): string {
  return decoder.decode(bytes.subarray(at, at + length));
}

/** The FWN address block at `at`: u16 remote port | u16 local port | u8 remote length | u8 local length | texts. */
export function endpoints(bytes: Uint8Array, view: DataView, at: number): Endpoints {
  const remoteLength = bytes[at + 4] as number;
  const localLength = bytes[at + 5] as number;
  return {
    remotePort: view.getUint16(at, true),
    localPort: view.getUint16(at + 2, true),
    remoteAddress: text(bytes, at + 6, remoteLength),
    localAddress: text(bytes, at + 6 + remoteLength, localLength),
  };
}

/** Where the record after one of `length` payload bytes starts (records are padded to 4). */
export function nextRecord(at: number, length: number): number {
  return at + ((12 + length + 3) & ~3);
}
