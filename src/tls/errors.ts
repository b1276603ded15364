/** TLS errors: a failed handshake and a server that matched no pin. */
import { ErrorCode, FramewireError } from "../errors.ts";

/**
 * The TLS handshake failed (`FW_TLS_FAILED`): the peer's certificate did not verify (unknown CA,
 * expired, wrong name), a required client certificate was missing or refused, or the two sides
 * share no protocol version or cipher. `reason` is the runtime's short code where it gives one.
 */
export class TlsError extends FramewireError {
  override readonly name: string = "TlsError";
  constructor(
    message: string,
    options?: { cause?: unknown },
    /** The runtime's verification code, e.g. `"UNABLE_TO_VERIFY_LEAF_SIGNATURE"`, when known. */
    readonly reason?: string,
  ) {
    super(ErrorCode.TLS_FAILED, message, options);
  }
}

/** The server's certificate matched none of `tls.pin` (`FW_TLS_PIN_MISMATCH`); the connection was closed before any framewire byte. */
export class TlsPinMismatchError extends FramewireError {
  override readonly name = "TlsPinMismatchError";
  constructor(
    /** What the server presented: its certificate's SHA-256 (colon hex) and its SPKI's SHA-256 (base64). */
    readonly presented: { readonly fingerprint256: string; readonly spkiSha256: string } | undefined,
  ) {
    super(
      ErrorCode.TLS_PIN_MISMATCH,
      presented === undefined
        ? "the server presented no certificate to check against tls.pin"
        : `the server's certificate matches no tls.pin (certificate ${presented.fingerprint256}, sha256/${presented.spkiSha256})`,
    );
  }
}
