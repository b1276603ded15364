/**
 * One attempt at a connection: open the socket (within the attempt's timeout), run the
 * handshake, and hand back the open `Connection`. An abort (the client was closed) ends the
 * attempt wherever it is: before the socket opens, or mid-handshake (the connection is destroyed).
 */
import type { SocketAdapter } from "../adapter.ts";
import type { Codec } from "../codec/index.ts";
import { Connection } from "../connection.ts";
import { ConnectionClosedError, ConnectTimeoutError, type FramewireError, toFramewireError } from "../errors.ts";
import type { Session } from "../session/session.ts";
import type { ClientSettings } from "./options.ts";
import { localEndpoint } from "./bind.ts";

/** `offer`: the resumable session to continue (resume on). */
export async function dial<T>(adapter: SocketAdapter, settings: ClientSettings, timeoutMs: number, signal: AbortSignal, offer?: Session): Promise<Connection<T>> {
  const aborted = (): FramewireError => toFramewireError(signal.reason ?? new ConnectionClosedError("the client was closed"));
  if (signal.aborted) throw aborted();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ConnectTimeoutError(timeoutMs)), timeoutMs);
  const onAbort = (): void => controller.abort(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  let connection: Connection<T> | undefined;
  try {
    try {
      await adapter.connect(
        {
          host: settings.host,
          port: settings.port,
          ...(settings.path !== undefined ? { path: settings.path } : {}),
          ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
          ...(settings.bind !== undefined ? localEndpoint(settings.bind, adapter) : {}),
          signal: controller.signal,
        },
        (socket) => {
          connection = new Connection<T>({
            id: 0,
            role: "client",
            socket,
            adapter,
            options: settings.connection,
            codec: settings.codec as Codec<T>,
            ...(settings.app !== undefined ? { hello: { app: settings.app } } : {}),
            ...(settings.resume !== undefined ? { resume: { limits: settings.resume, offer } } : {}),
            ...(settings.auth !== undefined ? { auth: settings.auth } : {}),
          });
          return connection.handlers;
        },
      );
    } catch (error) {
      if (signal.aborted) throw aborted();
      if (controller.signal.aborted) throw new ConnectTimeoutError(timeoutMs);
      throw toFramewireError(error);
    } finally {
      clearTimeout(timer);
    }
    const opened = connection as Connection<T>;
    // Closing the client mid-handshake ends the attempt at once.
    const stop = (): void => opened.destroy();
    signal.addEventListener("abort", stop, { once: true });
    try {
      await opened.ready;
    } catch (error) {
      opened.destroy();
      await opened.closed();
      throw signal.aborted ? aborted() : error;
    } finally {
      signal.removeEventListener("abort", stop);
    }
    if (signal.aborted) {
      opened.destroy();
      await opened.closed();
      throw aborted();
    }
    return opened;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
