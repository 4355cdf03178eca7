/** The one function that decides retry delays: backoff growth, cap, jitter bounds, Retry-After. */
import { backoffCeiling, computeRetryDelay, type BackoffPolicy } from '../../src/retry/backoff';

const policy: BackoffPolicy = { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 60_000, jitter: 0 };
const delay = (attempt: number, overrides: Partial<BackoffPolicy> = {}, random = 0, retryAfterMs?: number) =>
  computeRetryDelay({ attempt, policy: { ...policy, ...overrides }, random, retryAfterMs, maxRetryAfterMs: 3_600_000 });

test('grows exponentially from the initial interval', () => {
  expect([1, 2, 3, 4, 5].map((attempt) => delay(attempt).delayMs)).toEqual([1000, 2000, 4000, 8000, 16000]);
  expect(delay(3, { backoffCoefficient: 3 }).delayMs).toBe(9000);
  expect(delay(4, { backoffCoefficient: 1 }).delayMs).toBe(1000);
});

test('is capped at maximumInterval', () => {
  expect(delay(7).delayMs).toBe(60_000);
  expect(delay(50).delayMs).toBe(60_000);
});

test('huge attempt numbers do not overflow', () => {
  expect(backoffCeiling(10_000, policy)).toBe(60_000);
  expect(delay(10_000, { maximumIntervalMs: Number.MAX_SAFE_INTEGER }).delayMs).toBeLessThanOrEqual(
    Number.MAX_SAFE_INTEGER,
  );
});

test('jitter keeps every delay within [ceiling × (1 − jitter), ceiling]', () => {
  for (const jitter of [0.1, 0.5, 1]) {
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = backoffCeiling(attempt, policy);
      for (const random of [0, 0.25, 0.5, 0.999999, ...Array.from({ length: 50 }, Math.random)]) {
        const { delayMs } = delay(attempt, { jitter }, random);
        expect(delayMs).toBeGreaterThanOrEqual(Math.floor(ceiling * (1 - jitter)));
        expect(delayMs).toBeLessThanOrEqual(ceiling);
      }
    }
  }
});

test('jitter spreads delays out (not all equal)', () => {
  const delays = new Set(Array.from({ length: 20 }, (_, i) => delay(3, { jitter: 0.5 }, i / 20).delayMs));
  expect(delays.size).toBeGreaterThan(10);
});

test('no jitter means the exact ceiling whatever the random draw', () => {
  expect(delay(3, { jitter: 0 }, 0.9).delayMs).toBe(4000);
});

test('Retry-After replaces the backoff, without jitter, capped by maxRetryAfterMs', () => {
  expect(delay(1, { jitter: 0.5 }, 0.7, 30_000)).toEqual({ delayMs: 30_000, basis: 'retry-after' });
  expect(delay(9, {}, 0, 0)).toEqual({ delayMs: 0, basis: 'retry-after' });
  const capped = computeRetryDelay({
    attempt: 1,
    policy,
    random: 0,
    retryAfterMs: 86_400_000,
    maxRetryAfterMs: 3_600_000,
  });
  expect(capped).toEqual({ delayMs: 3_600_000, basis: 'retry-after' });
  expect(delay(2).basis).toBe('backoff');
});
