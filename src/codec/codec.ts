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
}
