/**
 * framewire's portable core: everything except the runtime adapters. Runtime entry points
 * (`framewire`, `framewire/bun`, …) re-export this with `listen`/`connect` bound to an adapter.
 */
export type {
  AdapterCapabilities,
  ConnectOptions,
  ConnectSignal,
  InterfaceAddress,
  Listener,
  ListenOptions,
  OnSocket,
  RawSocket,
  SocketAdapter,
  SocketHandlers,
} from "./adapter.ts";
export { type ConnectFunction, createTransport, type ListenFunction, type Transport } from "./api.ts";
export {
  Client,
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type ClientStats,
  type ClientStatus,
  type ClientStatusEntry,
  type ClientStatusEvents,
  type OfflineOptions,
} from "./client.ts";
export {
  bufferCodec,
  type CborLimits,
  cborCodec,
  DEFAULT_CBOR_LIMITS,
  DEFAULT_JSON_LIMITS,
  type JsonLimits,
  REFUSED_CBOR_TAGS,
  type RefusedCborTags,
  type Codec,
  type CodecName,
  jsonCodec,
  type MessageOf,
  resolveCodec,
  textCodec,
} from "./codec/index.ts";
export {
  type AnyCode,
  type ApplicationCode,
  CloseCode,
  type CodeDigit,
  type CodeLetter,
  ErrorCode,
  isWellFormedCode,
  MAX_CODE_LENGTH,
  MAX_REASON_BYTES,
} from "./codes.ts";
export {
  type CloseInfo,
  Connection,
  type ConnectionEvents,
  type ConnectionSendStatus,
  type ConnectionState,
  type ConnectionStats,
  type MessagesOptions,
  type SendStatus,
} from "./connection.ts";
export { type AnyListener, type EventMap, TypedEmitter } from "./emitter.ts";
export {
  CodecError,
  ConnectionClosedError,
  ConnectTimeoutError,
  FrameTooLargeError,
  FramewireError,
  HandlerError,
  HandshakeError,
  HandshakeRejectedError,
  HeartbeatTimeoutError,
  InvalidOptionError,
  InvalidUseError,
  MalformedFrameError,
  NativeUnavailableError,
  PeerError,
  ProtocolError,
  QueueFullError,
  ReconnectFailedError,
  SessionExpiredError,
  SocketError,
  UnsupportedError,
} from "./errors.ts";
export { IdleTimeoutError, PendingBudgetError, SlowPeerError } from "./errors.ts";
export type { ConnectionLimitOptions, ConnectionRate, MinReceiveRate, ServerLimitOptions } from "./limits/options.ts";
export type { LimitStats } from "./limits/server-limits.ts";
export { MAX_HANDSHAKE_DEPTH, MAX_HANDSHAKE_ITEMS, MAX_HANDSHAKE_TAGS } from "./protocol/handshake-budget.ts";
export type { OverflowPolicy } from "./flow/outbound-queue.ts";
export type { InboundRateLimit, RateLimit } from "./flow/rate-limit-options.ts";
export type { Priority, SendOptions } from "./flow/send-lanes.ts";
export type { Undelivered } from "./flow/undelivered.ts";
export type { ReconnectOptions } from "./reconnect/backoff.ts";
export type { ResumeOptions, ServerResumeOptions } from "./session/options.ts";
export {
  createFramer,
  DecoderBase,
  DelimiterFramer,
  type DelimiterOptions,
  type FrameDecoder,
  type FrameSink,
  type Framer,
  type FramingOptions,
  LengthPrefixedDecoder,
  LengthPrefixedFramer,
  type LengthPrefixedOptions,
  PassthroughFramer,
} from "./framing/index.ts";
export type { ConnectionOptions } from "./options.ts";
export {
  FrameType,
  MAX_CONTROL_FIELDS,
  MAX_HANDSHAKE_FIELDS,
  MIN_FRAME_SIZE,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  type Reason,
} from "./protocol/wire.ts";
export {
  type BroadcastResult,
  type HandshakeInfo,
  type HandshakeVerdict,
  Server,
  type ServerEvents,
  type ServerOptions,
  type ServerStats,
} from "./server.ts";
export * from "./auth/index.ts";
export { TlsError, TlsPinMismatchError } from "./tls/errors.ts";
export type { PeerCertificateInfo, TlsInfo } from "./tls/info.ts";
export type { ClientTlsSettings, ServerTlsSettings, TlsCapabilities, TlsClientOptions, TlsCommonOptions, TlsServerOptions } from "./tls/options.ts";
export type { TlsPins } from "./tls/pin.ts";
export { InterfaceUnavailableError } from "./client/bind.ts";
