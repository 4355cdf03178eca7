/**
 * The one place the delay before the next delivery attempt is decided. Pure and unit-tested.
 *
 * Exponential backoff, capped at maximumInterval, with proportional jitter: a delay is drawn uniformly
 * from [base × (1 − jitter), base], so retries from many messages that failed together spread out
 * instead of arriving in waves, and the cap stays a true upper bound. A Retry-After from the destination
 * replaces the backoff (the server said when it can take the request), capped by maxRetryAfterMs so a
 * hostile or buggy header cannot park a message for a year.
 */
export interface BackoffPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 = no jitter, 1 = anywhere between 0 and the full delay. */
  jitter: number;
}

export interface RetryDelayInput {
  /** The attempt that just failed, from 1. */
  attempt: number;
  policy: BackoffPolicy;
  /** Parsed Retry-After of the failed response, when it had one. */
  retryAfterMs?: number;
  maxRetryAfterMs: number;
  /** A number in [0, 1); injected so tests can pin it. */
  random: number;
}

export interface RetryDelay {
  delayMs: number;
  basis: 'backoff' | 'retry-after';
}

/** The backoff before jitter: initial × coefficient^(attempt − 1), capped, in whole milliseconds (rounded down). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = policy.initialIntervalMs * Math.pow(policy.backoffCoefficient, exponent);
  return Math.floor(Math.min(Number.isFinite(raw) ? raw : Number.MAX_SAFE_INTEGER, policy.maximumIntervalMs));
}

/** The delay before the next attempt. */
export function computeRetryDelay(input: RetryDelayInput): RetryDelay {
  if (input.retryAfterMs !== undefined) {
    return { delayMs: Math.min(Math.max(0, input.retryAfterMs), input.maxRetryAfterMs), basis: 'retry-after' };
  }
  const ceiling = backoffCeiling(input.attempt, input.policy);
  const jitter = Math.min(Math.max(input.policy.jitter, 0), 1);
  // Rounded up, and the ceiling is whole: the delay stays within [ceiling × (1 − jitter), ceiling].
  return { delayMs: Math.ceil(ceiling * (1 - jitter * input.random)), basis: 'backoff' };
}
