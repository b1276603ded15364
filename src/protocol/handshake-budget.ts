/**
 * What a handshake frame may cost before it is parsed. Before the handshake a stranger may send
 * one frame of at most {@link MAX_HANDSHAKE_FIELDS} bytes (the decoder refuses a larger header at
 * once); its JSON is then scanned, one pass over the bytes, for nesting depth and for the number
 * of members and elements, before `JSON.parse` builds anything. HELLO's fields are at most two
 * levels deep (`tags`, `resume`); the bounds leave room for later versions' fields.
 */
import { ProtocolError } from "../errors.ts";

/** Deepest nesting of objects and arrays in a handshake frame's JSON. */
export const MAX_HANDSHAKE_DEPTH = 8;
/** Most members and array elements, all levels together, in a handshake frame's JSON. */
export const MAX_HANDSHAKE_ITEMS = 1024;
/** Most tags a HELLO or WELCOME may carry (and `tags` may hold locally). */
export const MAX_HANDSHAKE_TAGS = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** Throws a ProtocolError when `json` (bytes) nests deeper or holds more items than a handshake frame may. */
export function checkHandshakeJson(json: Uint8Array, frame: string): void {
  let depth = 0;
  let items = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const b = json[i] as number;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
      continue;
    }
    if (b === QUOTE) inString = true;
    else if (b === OPEN_OBJECT || b === OPEN_ARRAY) {
      if (++depth > MAX_HANDSHAKE_DEPTH) throw new ProtocolError(`${frame} fields nest deeper than ${MAX_HANDSHAKE_DEPTH} levels`);
    } else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) depth--;
    else if ((b === COMMA || b === COLON) && ++items > MAX_HANDSHAKE_ITEMS) {
      throw new ProtocolError(`${frame} fields hold more than ${MAX_HANDSHAKE_ITEMS} members and elements`);
    }
  }
}

/** Throws a ProtocolError when a peer's tags are more than {@link MAX_HANDSHAKE_TAGS}. */
export function checkTagCount(tags: object, frame: string): void {
  let count = 0;
  for (const _ in tags) if (++count > MAX_HANDSHAKE_TAGS) throw new ProtocolError(`${frame} carries more than ${MAX_HANDSHAKE_TAGS} tags`);
}
