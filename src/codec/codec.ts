/** Marks framewire's own codecs, whose errors describe the payload and may be shown to the peer. */
const BUILT_IN_CODEC = Symbol("framewire built-in codec");

/** Brands one of framewire's codecs (a hidden property; its type stays `Codec<T>`). */
export function builtIn<C extends object>(codec: C): C {
  Object.defineProperty(codec, BUILT_IN_CODEC, { value: true });
  return codec;
}

/**
 * True for framewire's own codecs. A custom codec's errors are the application's text: the
 * connection wraps them, so the peer sees only that decoding failed.
 */
export function isBuiltIn(codec: object): boolean {
  return BUILT_IN_CODEC in codec;
}

/** Turns application values into message payload bytes and back. */
export interface Codec<T> {
  /** Shown in stats and errors. */
  readonly name: string;
  /** Must not keep or mutate the returned bytes afterwards (they are copied into the send batch). */
  encode(value: T): Uint8Array;
  /**
   * `bytes` is a view valid for as long as the caller keeps it (framewire never reuses received
   * buffers). Throw to reject a payload: the connection closes with `FW_CODEC_ERROR`.
   */
  decode(bytes: Uint8Array): T;
  /**
   * How many values the last `decode` produced (array elements, object members), when the codec
   * counts them. The inbound queue weighs a waiting message by its payload bytes plus 48 bytes per
   * value, so a payload that decodes into many small objects cannot pin far more memory than
   * `maxInboundBytes` says. The json and cbor codecs count; leave it out otherwise.
   */
  readonly decodedItems?: number;
}
