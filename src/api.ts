import type { SocketAdapter } from "./adapter.ts";
import { Client, type ClientOptions } from "./client.ts";
import type { Codec } from "./codec/index.ts";
import { chooseAdapter } from "./options.ts";
import { Server, type ServerOptions } from "./server.ts";

/**
 * `listen()` bound to one adapter; the codec option decides the message type. The last overload
 * takes any `ServerOptions<T>` — an options object held in a variable, a codec name from a
 * `CodecName` variable, a generic wrapper — and gives `Server<T>` (name `T` yourself: framewire
 * cannot check a codec chosen at run time against it).
 */
export interface ListenFunction {
  /** Messages are `Uint8Array` (the default codec). */
  (options?: Omit<ServerOptions<Uint8Array>, "codec"> & { codec?: "buffer" }): Promise<Server<Uint8Array>>;
  (options: Omit<ServerOptions<string>, "codec"> & { codec: "text" }): Promise<Server<string>>;
  /** JSON or CBOR: name the message type, e.g. `listen<Msg>({ codec: "json" })`. */
  <T = unknown>(options: Omit<ServerOptions<T>, "codec"> & { codec: "json" | "cbor" }): Promise<Server<T>>;
  <T>(options: Omit<ServerOptions<T>, "codec"> & { codec: Codec<T> }): Promise<Server<T>>;
  <T = unknown>(options: ServerOptions<T>): Promise<Server<T>>;
}

/** `connect()` bound to one adapter; the codec option decides the message type (see {@link ListenFunction}). */
export interface ConnectFunction {
  (options: Omit<ClientOptions<Uint8Array>, "codec"> & { codec?: "buffer" }): Promise<Client<Uint8Array>>;
  (options: Omit<ClientOptions<string>, "codec"> & { codec: "text" }): Promise<Client<string>>;
  <T = unknown>(options: Omit<ClientOptions<T>, "codec"> & { codec: "json" | "cbor" }): Promise<Client<T>>;
  <T>(options: Omit<ClientOptions<T>, "codec"> & { codec: Codec<T> }): Promise<Client<T>>;
  <T = unknown>(options: ClientOptions<T>): Promise<Client<T>>;
}

export interface Transport {
  readonly adapter: SocketAdapter;
  /**
   * Starts a server.
   * @example
   * const server = await listen({ port: 0, codec: "json" });
   * server.on("connection", (conn) => conn.on("message", (msg) => conn.send({ echo: msg })));
   */
  readonly listen: ListenFunction;
  /**
   * Connects a client; resolves after the handshake (framewire) or once connected (raw).
   * @example
   * const client = await connect({ port: server.port, codec: "json" });
   * client.send({ hello: "world" });
   */
  readonly connect: ConnectFunction;
}

/** Binds `listen` and `connect` to an adapter. Each runtime entry point does this once. */
export function createTransport(adapter: SocketAdapter): Transport {
  return {
    adapter,
    listen: (async (options: ServerOptions<unknown> = {}) => Server.start(chooseAdapter(adapter, options), options)) as ListenFunction,
    connect: (async (options: ClientOptions<unknown>) => Client.open(chooseAdapter(adapter, options), options)) as ConnectFunction,
  };
}
