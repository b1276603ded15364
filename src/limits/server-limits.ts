/**
 * What a server's limits did, counted for `server.stats().limits`, and how refused sockets are
 * let go.
 */
import { ErrorCode } from "../codes.ts";

/** A refused socket gets REJECT and this long to read it and send FIN before it is destroyed. */
export const REFUSE_LINGER_MS = 1000;
/** Past this many refused sockets lingering at once, further ones are destroyed unanswered. */
export const MAX_LINGERING_REFUSALS = 1024;

/** Counts of what the limits refused or closed since `listen` (`server.stats().limits`). */
export interface LimitStats {
  /** Sockets refused at `maxConnections` (`FW_SERVER_FULL`). */
  serverFull: number;
  /** Sockets refused at `maxConnectionsPerAddress` (`FW_ADDRESS_LIMIT`). */
  addressLimit: number;
  /** Sockets refused by `connectionRate` (`FW_RATE_LIMITED`). */
  rateLimited: number;
  /** Connections closed for a handshake that did not complete in `handshakeTimeoutMs` (`FW_HANDSHAKE_TIMEOUT`). */
  handshakeTimeout: number;
  /** Connections closed by `idleTimeoutMs` (`FW_IDLE_TIMEOUT`). */
  idleTimeout: number;
  /** Connections closed by `minReceiveRate` (`FW_SLOW_PEER`). */
  slowPeer: number;
  /** Connections closed by `maxPendingFrameBytes` (`FW_PENDING_BUDGET`). */
  pendingBudget: number;
  /** Connections closed for a frame over `maxFrameSize`, a HELLO over its budget included (`FW_FRAME_TOO_LARGE`). */
  frameTooLarge: number;
  /** TLS handshakes that failed or timed out (`tls`): a client with a wrong or missing certificate, a plaintext client, a stalled handshake. */
  tlsFailed: number;
}

const FIELD: Readonly<Record<string, keyof LimitStats>> = {
  [ErrorCode.SERVER_FULL]: "serverFull",
  [ErrorCode.ADDRESS_LIMIT]: "addressLimit",
  [ErrorCode.RATE_LIMITED]: "rateLimited",
  [ErrorCode.HANDSHAKE_TIMEOUT]: "handshakeTimeout",
  [ErrorCode.IDLE_TIMEOUT]: "idleTimeout",
  [ErrorCode.SLOW_PEER]: "slowPeer",
  [ErrorCode.PENDING_BUDGET]: "pendingBudget",
  [ErrorCode.FRAME_TOO_LARGE]: "frameTooLarge",
  [ErrorCode.TLS_FAILED]: "tlsFailed",
};

export class LimitCounters {
  readonly #counts: LimitStats = {
    serverFull: 0,
    addressLimit: 0,
    rateLimited: 0,
    handshakeTimeout: 0,
    idleTimeout: 0,
    slowPeer: 0,
    pendingBudget: 0,
    frameTooLarge: 0,
    tlsFailed: 0,
  };

  /** A refusal or an error with `code` happened; codes that are not limits are not counted. */
  count(code: string): void {
    const field = FIELD[code];
    if (field !== undefined) this.#counts[field]++;
  }

  snapshot(): LimitStats {
    return { ...this.#counts };
  }
}
