/** What a failed HTTP activity (deliver, notify) tells its workflow, read from Temporal's failure. */
import { ApplicationFailure, TimeoutFailure, type ActivityFailure } from '@temporalio/workflow';
import { RETRYABLE_DELIVERY_ERROR } from '../contract/error-types';
import type { AttemptRecord, DeadLetterReason, LastError } from '../contract/message-status';

/** The last attempt of a failed activity: its record (when the activity attached one) and its error. */
export interface LastAttemptFailure {
  attempt: AttemptRecord | undefined;
  lastError: LastError;
}

/** Unwraps an activity failure down to what its last attempt failed with. */
export function lastAttemptFailure(failure: ActivityFailure): LastAttemptFailure {
  const { cause } = failure;
  // A deadline (schedule-to-close timeout) wraps the failure of the attempt it cut short.
  const last = cause instanceof TimeoutFailure && cause.cause ? cause.cause : cause;
  if (last instanceof ApplicationFailure) {
    // The HTTP activities attach their attempt record as the failure's first detail.
    const attempt = last.details?.[0] as AttemptRecord | undefined;
    return { attempt, lastError: { type: last.type ?? 'Error', message: last.message } };
  }
  return {
    attempt: undefined,
    lastError: { type: cause?.name ?? 'ActivityFailure', message: cause?.message ?? failure.message },
  };
}

/** Why a delivery round ended in the dead-letter store, from Temporal's retry state. */
export function deadLetterReason(failure: ActivityFailure): DeadLetterReason {
  // A transient failure that ends the activity: the last attempt Herald's count allowed (attempt-budget).
  if (failure.cause instanceof ApplicationFailure && failure.cause.type === RETRYABLE_DELIVERY_ERROR) {
    if (failure.cause.nonRetryable) return 'max_attempts_exhausted';
  }
  switch (failure.retryState) {
    case 'MAXIMUM_ATTEMPTS_REACHED':
      return 'max_attempts_exhausted';
    case 'TIMEOUT':
      return 'deadline_exceeded';
    default:
      return 'permanent_error';
  }
}
