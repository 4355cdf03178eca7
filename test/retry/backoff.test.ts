/** The one function that decides retry delays: backoff growth, cap, jitter bounds, Retry-After. */
import { backoffCeiling, computeRetryDelay, type BackoffPolicy } from '../../src/retry/backoff';

const policy: BackoffPolicy = { initialIntervalMs: 1000, backoffCoefficient: 2, maximumIntervalMs: 60_000, jitter: 0 };
const HOUR = 3_600_000;

const delay = (attempt: number, overrides: Partial<BackoffPolicy> = {}, random = 0, retryAfterMs?: number) =>
  computeRetryDelay({ attempt, policy: { ...policy, ...overrides }, random, retryAfterMs, maxRetryAfterMs: HOUR });

/** A small seeded generator (mulberry32), so a failure here can be reproduced. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('backoffCeiling', () => {
  test('is initial × coefficient^(attempt − 1)', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffCeiling(attempt, policy))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000,
    ]);
    expect([1, 2, 3, 4].map((attempt) => backoffCeiling(attempt, { ...policy, backoffCoefficient: 3 }))).toEqual([
      1000, 3000, 9000, 27_000,
    ]);
    expect([1, 2, 3].map((attempt) => backoffCeiling(attempt, { ...policy, initialIntervalMs: 250 }))).toEqual([
      250, 500, 1000,
    ]);
  });

  test('a coefficient of 1 is a constant interval', () => {
    for (const attempt of [1, 2, 10, 1000]) {
      expect(backoffCeiling(attempt, { ...policy, backoffCoefficient: 1 })).toBe(1000);
    }
  });

  test('attempts below 1 are treated as the first', () => {
    expect(backoffCeiling(0, policy)).toBe(1000);
    expect(backoffCeiling(-5, policy)).toBe(1000);
  });

  test('is capped at maximumInterval, from the attempt that would exceed it onwards', () => {
    // 1000 × 2^5 = 32 000 is under the cap; 1000 × 2^6 = 64 000 is over it.
    expect(backoffCeiling(6, policy)).toBe(32_000);
    expect(backoffCeiling(7, policy)).toBe(60_000);
    expect(backoffCeiling(8, policy)).toBe(60_000);
    expect(backoffCeiling(50, policy)).toBe(60_000);
    // A cap below the initial interval wins too.
    expect(backoffCeiling(1, { ...policy, maximumIntervalMs: 300 })).toBe(300);
  });

  test('is never more than the cap and never decreases from one attempt to the next', () => {
    for (const coefficient of [1, 1.1, 1.5, 2, 3, 10, 100]) {
      let previous = 0;
      for (let attempt = 1; attempt <= 200; attempt++) {
        const ceiling = backoffCeiling(attempt, { ...policy, backoffCoefficient: coefficient });
        expect(ceiling).toBeGreaterThanOrEqual(previous);
        expect(ceiling).toBeLessThanOrEqual(policy.maximumIntervalMs);
        previous = ceiling;
      }
      expect(previous).toBe(coefficient === 1 ? policy.initialIntervalMs : policy.maximumIntervalMs);
    }
  });

  test('is a whole number of milliseconds even with a fractional coefficient', () => {
    const uncapped = { ...policy, backoffCoefficient: 1.5, maximumIntervalMs: HOUR };
    for (let attempt = 1; attempt <= 30; attempt++) {
      const ceiling = backoffCeiling(attempt, uncapped);
      expect(Number.isInteger(ceiling)).toBe(true);
      expect(Math.abs(ceiling - Math.min(1000 * 1.5 ** (attempt - 1), HOUR))).toBeLessThan(1);
    }
  });

  test('huge attempt numbers do not overflow: the cap still holds and the result is finite', () => {
    for (const attempt of [1024, 1025, 10_000, 1_000_000, Number.MAX_SAFE_INTEGER]) {
      expect(backoffCeiling(attempt, policy)).toBe(60_000);
      expect(backoffCeiling(attempt, { ...policy, backoffCoefficient: 100 })).toBe(60_000);
    }
    // Even with no practical cap, the result is a finite, safe integer rather than Infinity or NaN.
    const uncapped = { ...policy, maximumIntervalMs: Number.MAX_SAFE_INTEGER };
    for (const attempt of [1100, 10_000, Number.MAX_SAFE_INTEGER]) {
      const ceiling = backoffCeiling(attempt, uncapped);
      expect(Number.isSafeInteger(ceiling)).toBe(true);
      expect(ceiling).toBe(Number.MAX_SAFE_INTEGER);
    }
  });
});

describe('computeRetryDelay without Retry-After', () => {
  test('grows exponentially per attempt, and says it is backoff', () => {
    expect([1, 2, 3, 4, 5].map((attempt) => delay(attempt))).toEqual(
      [1000, 2000, 4000, 8000, 16_000].map((delayMs) => ({ delayMs, basis: 'backoff' })),
    );
    expect(delay(3, { backoffCoefficient: 3 }).delayMs).toBe(9000);
    expect(delay(4, { backoffCoefficient: 1 }).delayMs).toBe(1000);
  });

  test('is capped at maximumInterval', () => {
    expect(delay(6).delayMs).toBe(32_000);
    expect(delay(7).delayMs).toBe(60_000);
    expect(delay(50).delayMs).toBe(60_000);
    expect(delay(50, { jitter: 0.5 }, 0.999999).delayMs).toBeLessThanOrEqual(60_000);
  });

  test('huge attempt numbers do not overflow', () => {
    for (const attempt of [10_000, Number.MAX_SAFE_INTEGER]) {
      expect(delay(attempt)).toEqual({ delayMs: 60_000, basis: 'backoff' });
      const uncapped = delay(attempt, { maximumIntervalMs: Number.MAX_SAFE_INTEGER, jitter: 0.5 }, 0.5);
      expect(Number.isFinite(uncapped.delayMs)).toBe(true);
      expect(uncapped.delayMs).toBeGreaterThan(0);
      expect(uncapped.delayMs).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
    }
  });

  test('jitter 0 gives exactly the ceiling, whatever the random draw', () => {
    for (const random of [0, 0.1, 0.5, 0.9, 0.999999]) {
      for (let attempt = 1; attempt <= 10; attempt++) {
        expect(delay(attempt, { jitter: 0 }, random).delayMs).toBe(backoffCeiling(attempt, policy));
      }
    }
    // Also with a fractional coefficient, where the raw backoff is not a whole number of milliseconds.
    const fractional = { backoffCoefficient: 1.5, maximumIntervalMs: HOUR, jitter: 0 };
    for (let attempt = 1; attempt <= 20; attempt++) {
      expect(delay(attempt, fractional, 0.73).delayMs).toBe(backoffCeiling(attempt, { ...policy, ...fractional }));
    }
  });

  test('random 0 gives the ceiling; random near 1 gives the bottom of the jitter range', () => {
    expect(delay(3, { jitter: 0.5 }, 0).delayMs).toBe(4000);
    expect(delay(3, { jitter: 0.5 }, 0.5).delayMs).toBe(3000);
    expect(delay(3, { jitter: 0.5 }, 0.999999).delayMs).toBe(2001);
    expect(delay(3, { jitter: 1 }, 0.999999).delayMs).toBeLessThanOrEqual(1);
    expect(delay(3, { jitter: 1 }, 0.999999).delayMs).toBeGreaterThanOrEqual(0);
  });

  test('every delay is within [ceiling × (1 − jitter), ceiling], over many draws and at the edges', () => {
    const random = seededRandom(20261124);
    const policies: BackoffPolicy[] = [
      policy,
      { ...policy, backoffCoefficient: 1.5, maximumIntervalMs: HOUR },
      { ...policy, initialIntervalMs: 7, backoffCoefficient: 1.37, maximumIntervalMs: 123_457 },
      { ...policy, initialIntervalMs: 1, backoffCoefficient: 3, maximumIntervalMs: 1000 },
    ];
    let checked = 0;
    const violations: string[] = [];
    for (const base of policies) {
      for (const jitter of [0, 0.1, 0.2, 1 / 3, 0.3337, 0.5, 0.77, 0.999, 1]) {
        for (let attempt = 1; attempt <= 25; attempt++) {
          const ceiling = backoffCeiling(attempt, base);
          const draws = [0, 0.000001, 0.5, 0.999999, 1 - Number.EPSILON, ...Array.from({ length: 40 }, random)];
          for (const r of draws) {
            const result = computeRetryDelay({
              attempt,
              policy: { ...base, jitter },
              random: r,
              maxRetryAfterMs: HOUR,
            });
            const { delayMs, basis } = result;
            if (
              basis !== 'backoff' ||
              !Number.isInteger(delayMs) ||
              delayMs < ceiling * (1 - jitter) ||
              delayMs > ceiling
            ) {
              violations.push(
                `${basis} delay ${delayMs} outside [${ceiling * (1 - jitter)}, ${ceiling}] ` +
                  `(attempt ${attempt}, jitter ${jitter}, random ${r}, policy ${JSON.stringify(base)})`,
              );
            }
            checked += 1;
          }
        }
      }
    }
    expect(violations).toEqual([]);
    expect(checked).toBe(4 * 9 * 25 * 45);
  });

  test('a jitter outside [0, 1] is clamped into it', () => {
    expect(delay(3, { jitter: -0.5 }, 0.9).delayMs).toBe(4000);
    const overOne = delay(3, { jitter: 5 }, 0.5).delayMs;
    expect(overOne).toBe(delay(3, { jitter: 1 }, 0.5).delayMs);
    expect(overOne).toBeGreaterThanOrEqual(0);
  });

  test('jitter spreads delays across the range instead of bunching them', () => {
    const delays = Array.from({ length: 100 }, (_, i) => delay(5, { jitter: 0.5 }, i / 100).delayMs);
    expect(new Set(delays).size).toBe(100);
    expect(Math.max(...delays)).toBe(16_000);
    expect(Math.min(...delays)).toBeLessThan(8100);
    // Higher draws give shorter delays, monotonically.
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeLessThan(delays[i - 1]!);
  });
});

describe('computeRetryDelay with Retry-After', () => {
  test('replaces the backoff, without jitter', () => {
    expect(delay(1, { jitter: 0.5 }, 0.7, 30_000)).toEqual({ delayMs: 30_000, basis: 'retry-after' });
    // Shorter than the backoff would have been: the server's word still wins.
    expect(delay(7, { jitter: 0.5 }, 0.7, 1500)).toEqual({ delayMs: 1500, basis: 'retry-after' });
    // Longer than maximumInterval: still honoured (maximumInterval bounds the backoff, not the server).
    expect(delay(1, {}, 0, 120_000)).toEqual({ delayMs: 120_000, basis: 'retry-after' });
  });

  test('zero means retry now', () => {
    expect(delay(9, {}, 0, 0)).toEqual({ delayMs: 0, basis: 'retry-after' });
  });

  test('a negative value is treated as zero', () => {
    expect(delay(2, {}, 0, -5000)).toEqual({ delayMs: 0, basis: 'retry-after' });
  });

  test('is capped by maxRetryAfterMs', () => {
    const at = (retryAfterMs: number, maxRetryAfterMs: number) =>
      computeRetryDelay({ attempt: 1, policy, random: 0, retryAfterMs, maxRetryAfterMs });
    expect(at(86_400_000, HOUR)).toEqual({ delayMs: HOUR, basis: 'retry-after' });
    expect(at(HOUR, HOUR)).toEqual({ delayMs: HOUR, basis: 'retry-after' });
    expect(at(HOUR - 1, HOUR)).toEqual({ delayMs: HOUR - 1, basis: 'retry-after' });
    expect(at(Number.POSITIVE_INFINITY, 5000)).toEqual({ delayMs: 5000, basis: 'retry-after' });
    expect(at(10_000, 0)).toEqual({ delayMs: 0, basis: 'retry-after' });
  });

  test('absent Retry-After means backoff', () => {
    expect(delay(2).basis).toBe('backoff');
    expect(delay(2, {}, 0, undefined)).toEqual({ delayMs: 2000, basis: 'backoff' });
  });
});
