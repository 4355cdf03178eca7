/** A destination's retry override over a message's plan, and how held checks back off. Pure. */
import { HOLD_CHECK_FIRST_MS, HOLD_CHECK_MAX_MS, holdCheckDelay } from '../../src/activities/destination-control';
import { liveRetryPlan } from '../../src/destinations/live-retry';
import type { RetryPlan } from '../../src/retry/delivery-plan';

const PLAN: RetryPlan = {
  initialIntervalMs: 30_000,
  backoffCoefficient: 1,
  maximumIntervalMs: 60_000,
  maximumAttempts: 10,
  jitter: 0,
  attemptTimeoutMs: 10_000,
  deadlineMs: 3_600_000,
};

describe('liveRetryPlan', () => {
  test('no override: the plan as it is', () => {
    expect(liveRetryPlan(PLAN, undefined)).toBe(PLAN);
    expect(liveRetryPlan(PLAN, null)).toBe(PLAN);
  });

  test('each field given replaces the plan’s; the others and the deadline stay', () => {
    expect(liveRetryPlan(PLAN, { initialInterval: '1s', maximumAttempts: 20, jitter: 0.5 })).toEqual({
      ...PLAN,
      initialIntervalMs: 1_000,
      maximumAttempts: 20,
      jitter: 0.5,
    });
    expect(liveRetryPlan(PLAN, { backoffCoefficient: 3, maximumInterval: 5_000 })).toMatchObject({
      backoffCoefficient: 3,
      maximumIntervalMs: 5_000,
      deadlineMs: PLAN.deadlineMs,
    });
  });

  test('the attempt timeout only shortens (Temporal holds the attempt to the one it was scheduled with)', () => {
    expect(liveRetryPlan(PLAN, { attemptTimeout: '2s' }).attemptTimeoutMs).toBe(2_000);
    expect(liveRetryPlan(PLAN, { attemptTimeout: '1m' }).attemptTimeoutMs).toBe(10_000);
  });

  test('an initial interval above the plan’s cap raises the cap, so the interval given is the one used', () => {
    expect(liveRetryPlan(PLAN, { initialInterval: '2m' })).toMatchObject({
      initialIntervalMs: 120_000,
      maximumIntervalMs: 120_000,
    });
    expect(liveRetryPlan(PLAN, { initialInterval: '2m', maximumInterval: '90s' }).maximumIntervalMs).toBe(90_000);
  });
});

describe('holdCheckDelay', () => {
  test('backs off from the first check to the last, within ±20 %', () => {
    expect(holdCheckDelay(1, 0.5)).toBe(HOLD_CHECK_FIRST_MS);
    expect(holdCheckDelay(2, 0.5)).toBe(2 * HOLD_CHECK_FIRST_MS);
    expect(holdCheckDelay(30, 0.5)).toBe(HOLD_CHECK_MAX_MS);
    expect(holdCheckDelay(1, 0)).toBe(0.8 * HOLD_CHECK_FIRST_MS);
    expect(holdCheckDelay(1, 0.999999)).toBeLessThanOrEqual(1.2 * HOLD_CHECK_FIRST_MS);
  });
});
