/**
 * Activity options both workflows share: the presets are named constants, and a RetryPlan (data the
 * worker's config and the sender decide) becomes Temporal activity options in one place.
 */
import type { ActivityOptions, LocalActivityOptions, RetryPolicy } from '@temporalio/workflow';
import { NON_RETRYABLE_DELIVERY_ERRORS } from '../contract/error-types';
import { temporalMaximumAttempts } from '../retry/attempt-budget';
import type { RetryPlan } from '../retry/delivery-plan';

/** Settings and event publishing are local, in-process reads and writes: seconds are plenty. */
export const LOCAL_ACTIVITY_OPTIONS: LocalActivityOptions = { startToCloseTimeout: '10s' };

/**
 * Dead-letter writes retry without limit: giving up would lose the message, and the store being down
 * for a while is exactly when patience is right. The write is idempotent, so retries are safe.
 */
export const DEAD_LETTER_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/**
 * Event publishing after commit retries without limit too: an event says a state the history entered,
 * and a store that is down for a while is a reason to wait, not to drop it (the workflow drains its
 * events before it completes). Appends are idempotent; a conflict fails as non-retryable by itself.
 */
export const EVENT_PUBLISH_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
};

/** Temporal's RetryPolicy for a plan; failures Herald calls permanent are never retried. */
export function retryPolicyOf(plan: RetryPlan): RetryPolicy {
  return {
    initialInterval: plan.initialIntervalMs,
    backoffCoefficient: plan.backoffCoefficient,
    maximumInterval: plan.maximumIntervalMs,
    maximumAttempts: plan.maximumAttempts,
    nonRetryableErrorTypes: [...NON_RETRYABLE_DELIVERY_ERRORS],
  };
}

/** Options of an activity that makes one HTTP attempt per activity attempt, retried under `plan`. */
export function attemptActivityOptions(plan: RetryPlan): ActivityOptions {
  return {
    startToCloseTimeout: plan.attemptTimeoutMs,
    scheduleToCloseTimeout: plan.deadlineMs,
    retry: retryPolicyOf(plan),
  };
}

/**
 * Options of the delivery activity, which keeps its attempt budget itself (attempts cut by a worker
 * shutdown or held by destination control are not counted: retry/attempt-budget): Temporal's limit is
 * the plan's plus an allowance, or none for runs of heraldMessage.
 * Activities already scheduled keep the options and input they were scheduled with, so old runs count
 * as before; Temporal does not compare options on replay.
 */
export function deliveryActivityOptions(
  plan: RetryPlan,
  generation: { heldUncounted?: boolean } = {},
): ActivityOptions {
  const options = attemptActivityOptions(plan);
  // Runs whose activity may be held by destination control (a paused destination: any number of holds,
  // none counted) leave Temporal no limit: the activity ends the round itself when the budget is spent,
  // as it already does for shutdown cuts, and the deadline bounds the rest.
  const maximumAttempts = generation.heldUncounted ? Infinity : temporalMaximumAttempts(plan.maximumAttempts);
  return { ...options, retry: { ...options.retry, maximumAttempts } };
}
