/**
 * Classifies what happened to one HTTP attempt: delivered, worth retrying, or permanent.
 * Pure, so every row of the table is unit-tested; the delivery activity acts on the answer.
 */
export type Classification =
  { outcome: 'delivered' } | { outcome: 'retryable'; cause: string } | { outcome: 'permanent'; cause: string };

/**
 * Statuses that say "try again later": 408 Request Timeout, 409 Conflict (a concurrent change on the
 * receiver), 425 Too Early, 429 Too Many Requests, and every 5xx.
 */
const RETRYABLE_4XX = new Set([408, 409, 425, 429]);

/** Classifies an HTTP response status. 401 is permanent here; the activity refreshes a token first when it can. */
export function classifyStatus(status: number): Classification {
  if (status >= 200 && status < 300) return { outcome: 'delivered' };
  if (status >= 500 || RETRYABLE_4XX.has(status)) return { outcome: 'retryable', cause: `http_${status}` };
  // Redirects are not followed: following one could carry the message to an address nobody approved.
  return { outcome: 'permanent', cause: `http_${status}` };
}

/** Error codes from Node's net/dns/tls layers and undici, mapped to a short cause. */
const TRANSPORT_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  UND_ERR_SOCKET: 'connection_reset',
  UND_ERR_CLOSED: 'connection_reset',
  ENOTFOUND: 'dns_failure',
  EAI_AGAIN: 'dns_failure',
  EAI_FAIL: 'dns_failure',
  ETIMEDOUT: 'timeout',
  UND_ERR_CONNECT_TIMEOUT: 'timeout',
  UND_ERR_HEADERS_TIMEOUT: 'timeout',
  UND_ERR_BODY_TIMEOUT: 'timeout',
  EHOSTUNREACH: 'host_unreachable',
  ENETUNREACH: 'host_unreachable',
};

interface ErrorLike {
  name?: string;
  /** Usually a string; a DOMException's is a number. */
  code?: unknown;
  message?: string;
  cause?: unknown;
}

/**
 * Classifies an error thrown while sending. Transport failures are retryable, except a connection the
 * destination policy refused (EDESTINATIONBLOCKED): that answer will not change by waiting.
 */
export function classifyTransportError(error: unknown): Classification & { outcome: 'retryable' | 'permanent' } {
  for (let current = error as ErrorLike | undefined, depth = 0; current && depth < 5; depth++) {
    if (current.code === 'EDESTINATIONBLOCKED') return { outcome: 'permanent', cause: 'destination_blocked' };
    // The stored body is not the one accepted (blobs/verified-read.ts): sending it again cannot help.
    if (current.code === 'EBLOBINTEGRITY') return { outcome: 'permanent', cause: 'body_corrupt' };
    if (current.name === 'TimeoutError' || current.name === 'AbortError')
      return { outcome: 'retryable', cause: 'timeout' };
    const code = typeof current.code === 'string' ? current.code : '';
    if (TRANSPORT_CAUSES[code]) return { outcome: 'retryable', cause: TRANSPORT_CAUSES[code] };
    if (code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SSL|TLS/i.test(code)) {
      return { outcome: 'retryable', cause: 'tls_failure' };
    }
    current = current.cause as ErrorLike | undefined;
  }
  const message = (error as ErrorLike | undefined)?.message ?? '';
  if (/ssl|tls|certificate|wrong version number/i.test(message)) return { outcome: 'retryable', cause: 'tls_failure' };
  return { outcome: 'retryable', cause: 'network_error' };
}

/** What the activity's Context says about a cancellation (the SDK's ActivityCancellationDetails, in part). */
export interface CancellationFacts {
  workerShutdown?: boolean;
  /** The CancelledFailure's message: 'WORKER_SHUTDOWN', 'CANCELLED', 'TIMED_OUT', … */
  reason?: string;
}

/**
 * Classifies an attempt cut by a cancellation, before its error is taken for a network failure (undici
 * sees only an aborted request). A worker shutting down is no fault of the destination: `worker_shutdown`,
 * retried at once by another worker. Any other cancellation (the message was cancelled, the activity
 * paused or reset) is `cancelled`: not retried, the activity ends as cancelled.
 */
export function classifyCancellation(facts: CancellationFacts): { outcome: 'retryable'; cause: string } {
  if (facts.workerShutdown || facts.reason === 'WORKER_SHUTDOWN')
    return { outcome: 'retryable', cause: 'worker_shutdown' };
  return { outcome: 'retryable', cause: 'cancelled' };
}
