import type { ConnectSignal } from "../src/adapter.ts";

/**
 * For runtimes whose connect cannot be cancelled (Bun, Deno over Unix sockets): settles with the
 * connect, or rejects with the signal's reason as soon as it aborts. The caller closes a
 * connection that completes after the abort.
 */
export function abortable<T>(promise: Promise<T>, signal: ConnectSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
