import {
  attemptDetailsOf,
  countedAttempt,
  SHUTDOWN_CUT_ALLOWANCE,
  shutdownCutsOf,
  temporalMaximumAttempts,
} from '../../src/retry/attempt-budget';

describe('attempt budget', () => {
  test('an attempt counts as its Temporal number less the attempts worker shutdowns cut before it', () => {
    expect(countedAttempt(1, 0)).toBe(1);
    expect(countedAttempt(3, 2)).toBe(1);
    expect(countedAttempt(5, 1)).toBe(4);
  });

  test('never counts below the first attempt, whatever the details say', () => {
    expect(countedAttempt(2, 7)).toBe(1);
  });

  test('reads the cuts from heartbeat details, and 0 from anything that is not ours', () => {
    expect(shutdownCutsOf({ shutdownCuts: 3 })).toBe(3);
    for (const details of [
      undefined,
      null,
      'x',
      7,
      {},
      { shutdownCuts: -1 },
      { shutdownCuts: 1.5 },
      { shutdownCuts: '2' },
    ]) {
      expect(shutdownCutsOf(details)).toBe(0);
    }
  });

  test("Temporal's own limit leaves room for the allowance of cuts above the plan", () => {
    expect(temporalMaximumAttempts(10)).toBe(10 + SHUTDOWN_CUT_ALLOWANCE);
  });

  test('reads every detail an earlier attempt left, and nothing from what is not ours', () => {
    const lastFailure = { at: 1_000, attempt: 2, random: 0.25, retryAfterMs: 3_000 };
    expect(
      attemptDetailsOf({
        shutdownCuts: 1,
        held: 4,
        holdStreak: 2,
        visibleHold: { reason: 'destination_paused', since: '2030-01-01T00:00:00.000Z' },
        lastFailure,
      }),
    ).toEqual({
      shutdownCuts: 1,
      held: 4,
      holdStreak: 2,
      visibleHold: { reason: 'destination_paused', since: '2030-01-01T00:00:00.000Z' },
      lastFailure,
    });
    for (const details of [undefined, null, 'x', {}, { held: -2, lastFailure: { at: 'soon' }, visibleHold: 7 }]) {
      expect(attemptDetailsOf(details)).toEqual({ shutdownCuts: 0, held: 0, holdStreak: 0, visibleHold: null });
    }
  });
});
