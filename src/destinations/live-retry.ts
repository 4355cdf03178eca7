/**
 * A destination's retry override applied to a message's plan, at each attempt: what makes a policy
 * change reach messages already in flight. Pure (the delivery activity and its tests use it).
 */
import type { DestinationRetry } from '../contract/destination';
import { parseDuration } from '../contract/duration';
import type { RetryPlan } from '../retry/delivery-plan';

/**
 * The plan with the override's fields in place of the message's. The attempt timeout can only
 * shorten: Temporal holds each attempt to the start-to-close timeout the message was scheduled with.
 */
export function liveRetryPlan(plan: RetryPlan, override: DestinationRetry | null | undefined): RetryPlan {
  if (!override) return plan;
  const ms = (value: string | number | undefined, fallback: number) =>
    value === undefined ? fallback : (parseDuration(value) ?? fallback);
  const live: RetryPlan = {
    ...plan,
    initialIntervalMs: ms(override.initialInterval, plan.initialIntervalMs),
    backoffCoefficient: override.backoffCoefficient ?? plan.backoffCoefficient,
    maximumIntervalMs: ms(override.maximumInterval, plan.maximumIntervalMs),
    maximumAttempts: override.maximumAttempts ?? plan.maximumAttempts,
    jitter: override.jitter ?? plan.jitter,
    attemptTimeoutMs: Math.min(ms(override.attemptTimeout, plan.attemptTimeoutMs), plan.attemptTimeoutMs),
  };
  // An initial interval above the cap would make every delay the cap: keep the two consistent.
  if (override.initialInterval !== undefined && override.maximumInterval === undefined) {
    live.maximumIntervalMs = Math.max(live.maximumIntervalMs, live.initialIntervalMs);
  }
  return live;
}
