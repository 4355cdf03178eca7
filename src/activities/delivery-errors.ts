/**
 * The delivery activity's failures. Their names are Temporal failure types (see contract/error-types),
 * so the workflow and the retry policy tell them apart by `failure.type`.
 */
import { ApplicationFailure } from '@temporalio/common';
import { INVALID_DESTINATION_ERROR, PERMANENT_DELIVERY_ERROR, RETRYABLE_DELIVERY_ERROR } from '../contract/error-types';
import type { AttemptRecord } from '../contract/message-status';

/** The destination answered in a way retrying cannot fix (a 4xx other than 408/409/425/429, a redirect). */
export class PermanentDeliveryError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord) {
    super(message, PERMANENT_DELIVERY_ERROR, true, [attempt]);
  }
}

/** The destination URL is unusable: not a URL, or a scheme other than http/https. */
export class InvalidDestinationError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord) {
    super(message, INVALID_DESTINATION_ERROR, true, [attempt]);
  }
}

/** A transient failure; `nextRetryDelay` carries the delay computed from backoff, jitter and Retry-After. */
export class RetryableDeliveryError extends ApplicationFailure {
  constructor(message: string, attempt: AttemptRecord, nextRetryDelayMs?: number, nonRetryable = false) {
    super(message, RETRYABLE_DELIVERY_ERROR, nonRetryable, [attempt], undefined, nextRetryDelayMs);
  }

  /**
   * A transient failure of the plan's last counted attempt: marked non-retryable so Temporal stops
   * (its own maximumAttempts leaves room for attempts cut by worker shutdowns, which Herald does not count).
   */
  static lastOfBudget(message: string, attempt: AttemptRecord): RetryableDeliveryError {
    return new RetryableDeliveryError(message, attempt, undefined, true);
  }
}
