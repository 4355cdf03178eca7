/**
 * Label values for Herald's metrics, kept bounded: a series per label combination lives as long as the
 * process, so a label must never take a message id, a URL path or any other value without a bound.
 */
import type { AttemptRecord } from '../contract/message-status';

/** `2xx` … `5xx` for an HTTP status, `none` when no response came. */
export function statusClass(status: number | undefined): string {
  if (status === undefined || !Number.isInteger(status) || status < 100 || status > 599) return 'none';
  return `${Math.floor(status / 100)}xx`;
}

/** Causes of a failed attempt that no network fault explains (see src/retry/classify.ts). */
const NOT_NETWORK = new Set(['cancelled', 'worker_shutdown', 'event_log_unavailable', 'token_unavailable']);

/**
 * An attempt's outcome as the metrics tell it: `delivered`, `permanent`, `retryable` (the destination
 * answered, or Herald itself held the attempt back), `timeout`, or `network` (no answer: refused, reset, DNS, TLS).
 */
export function attemptOutcome(
  record: Pick<AttemptRecord, 'outcome' | 'status' | 'cause'>,
): 'delivered' | 'retryable' | 'permanent' | 'timeout' | 'network' {
  if (record.outcome === 'delivered' || record.outcome === 'permanent') return record.outcome;
  if (record.status !== undefined) return 'retryable';
  if (record.cause === 'timeout') return 'timeout';
  return record.cause !== undefined && NOT_NETWORK.has(record.cause) ? 'retryable' : 'network';
}

/** The label of the destinations beyond the bound. */
export const OTHER_DESTINATIONS = 'other';

/**
 * Destination hosts as a label, bounded: the first `limit` distinct hosts keep their name, every
 * further one is counted as `other` (a fleet with more destinations raises HERALD_METRICS_MAX_DESTINATIONS).
 */
export function boundedDestinations(limit: number): (host: string | null | undefined) => string {
  const known = new Set<string>();
  return (host) => {
    if (!host) return 'none';
    if (known.has(host)) return host;
    if (known.size >= limit) return OTHER_DESTINATIONS;
    known.add(host);
    return host;
  };
}
