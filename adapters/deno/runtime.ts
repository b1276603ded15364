/** The Deno APIs the adapter uses, seen structurally (no Deno lib needed to type-check), and small helpers. */
import type { ConnectSignal } from "../../src/adapter.ts";
import { SocketError } from "../../src/errors.ts";
import { abortable } from "../abortable.ts";

// Structural view of the Deno APIs used here, so this file type-checks without Deno's lib.
export interface DenoAddr {
  readonly transport: string;
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: string;
}
export interface DenoConn {
  read(buffer: Uint8Array): Promise<number | null>;
  write(bytes: Uint8Array): Promise<number>;
  closeWrite(): Promise<void>;
  close(): void;
  readonly localAddr: DenoAddr;
  readonly remoteAddr: DenoAddr;
  /** TCP only. */
  setNoDelay?(noDelay?: boolean): void;
  /** TCP only. */
  setKeepAlive?(keepAlive?: boolean): void;
  /** A relayed conn (tls-relay.ts): resolves once its relay sockets are closed, after `close()`. */
  settled?(): Promise<void>;
}
/** What `TlsConn.handshake()` resolves to: all Deno tells of a TLS session. */
export interface DenoHandshakeInfo {
  readonly alpnProtocol: string | null;
}
export interface DenoTlsConn extends DenoConn {
  /** Runs the TLS handshake to completion (once; later calls resolve at once). */
  handshake(): Promise<DenoHandshakeInfo>;
}
export interface DenoListener<C extends DenoConn = DenoConn> {
  accept(): Promise<C>;
  close(): void;
  readonly addr: DenoAddr;
}
export interface DenoRuntime {
  listen(options: Record<string, unknown>): DenoListener;
  connect(options: Record<string, unknown>): Promise<DenoConn>;
  listenTls(options: Record<string, unknown>): DenoListener<DenoTlsConn>;
  connectTls(options: Record<string, unknown>): Promise<DenoTlsConn>;
  /** Client side only: consumes `conn` (it must have no op in flight). */
  startTls(conn: DenoConn, options: Record<string, unknown>): Promise<DenoTlsConn>;
  readonly build: { readonly os: string };
  /** Present only with `--unstable-net`, which `Deno.listen({ reusePort })` also needs. */
  readonly listenDatagram?: unknown;
}

/** `globalThis.Deno`, if this is Deno. Through `unknown`: under Deno's own lib the types differ. */
export function denoOrUndefined(): DenoRuntime | undefined {
  return (globalThis as unknown as { Deno?: DenoRuntime }).Deno;
}

export function deno(): DenoRuntime {
  const runtime = denoOrUndefined();
  if (runtime === undefined) throw new SocketError("the Deno adapter needs the Deno runtime");
  return runtime;
}

/**
 * `reusePort` takes effect on Linux only (Deno silently ignores it elsewhere), and Deno exits the
 * process (code 70) when it is used without `--unstable-net`; `listenDatagram` shows that flag.
 */
export function denoHasReusePort(): boolean {
  const runtime = denoOrUndefined();
  return runtime?.build.os === "linux" && typeof runtime.listenDatagram === "function";
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}


export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

/**
 * A pending connect that rejects with `signal`'s reason as soon as it aborts (Deno cancels only
 * a TCP `connect` itself; `connectTls` and Unix connects run on). A conn that completes after the
 * abort is closed.
 */
export async function connOrAbort<C extends { close(): void }>(pending: Promise<C>, signal: ConnectSignal | undefined): Promise<C> {
  try {
    return await abortable(pending, signal);
  } catch (error) {
    if (signal?.aborted) pending.then(closeQuietly, () => {});
    throw error;
  }
}
