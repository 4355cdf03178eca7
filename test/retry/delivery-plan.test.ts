/** Config defaults fill what a message leaves out; configured limits bound what it asks for. */
import type { FieldError, Message } from '../../src/contract/message';
import { resolveDeliveryPlan, type DeliverySettings, type PlanResult } from '../../src/retry/delivery-plan';

const DAY = 86_400_000;

const settings: DeliverySettings = {
  defaults: {
    initialIntervalMs: 1000,
    backoffCoefficient: 2,
    maximumIntervalMs: 300_000,
    maximumAttempts: 10,
    jitter: 0.2,
    attemptTimeoutMs: 30_000,
    deadlineMs: DAY,
  },
  limits: {
    maximumAttempts: 100,
    maximumIntervalMs: 3_600_000,
    attemptTimeoutMs: 300_000,
    deadlineMs: 30 * DAY,
    replyTimeoutMs: DAY,
  },
  maxRetryAfterMs: 3_600_000,
  deadLetterRetentionMs: 7 * DAY,
  responseExcerptBytes: 2048,
  callback: {
    initialIntervalMs: 1000,
    backoffCoefficient: 2,
    maximumIntervalMs: 600_000,
    maximumAttempts: 20,
    jitter: 0.2,
    attemptTimeoutMs: 10_000,
    deadlineMs: DAY,
  },
};

type PlanInput = Pick<Message, 'retry' | 'reply'>;

function planOf(message: PlanInput) {
  const result = resolveDeliveryPlan(message, settings);
  if (!result.ok) throw new Error(`expected a plan, got ${JSON.stringify(result.errors)}`);
  return result.plan;
}

function errorsOf(message: PlanInput): FieldError[] {
  const result: PlanResult = resolveDeliveryPlan(message, settings);
  if (result.ok) throw new Error(`expected errors, got the plan ${JSON.stringify(result.plan)}`);
  return result.errors;
}

describe('defaults', () => {
  test('apply when the message says nothing', () => {
    expect(resolveDeliveryPlan({}, settings)).toEqual({
      ok: true,
      plan: {
        retry: settings.defaults,
        replyTimeoutMs: null,
        maxRetryAfterMs: 3_600_000,
        deadLetterRetentionMs: 7 * DAY,
        responseExcerptBytes: 2048,
      },
    });
  });

  test('an empty retry object is the same as none', () => {
    expect(planOf({ retry: {} }).retry).toEqual(settings.defaults);
  });

  test('fill each field the message leaves out', () => {
    const plan = planOf({ retry: { maximumAttempts: 3 } });
    expect(plan.retry).toEqual({ ...settings.defaults, maximumAttempts: 3 });
  });

  test('the plan is not the settings object itself (a caller changing it cannot change the config)', () => {
    const plan = planOf({});
    expect(plan.retry).not.toBe(settings.defaults);
    plan.retry.maximumAttempts = 99;
    expect(settings.defaults.maximumAttempts).toBe(10);
  });

  test('the callback policy is not used for messages', () => {
    expect(planOf({}).retry.maximumAttempts).toBe(settings.defaults.maximumAttempts);
  });
});

describe('overrides', () => {
  test('apply, durations parsed from strings and numbers', () => {
    expect(
      planOf({
        retry: {
          initialInterval: '250ms',
          backoffCoefficient: 3,
          maximumInterval: '2m',
          maximumAttempts: 5,
          jitter: 0,
          attemptTimeout: '10s',
          deadline: 3_600_000,
        },
        reply: { timeout: '10m' },
      }),
    ).toEqual({
      retry: {
        initialIntervalMs: 250,
        backoffCoefficient: 3,
        maximumIntervalMs: 120_000,
        maximumAttempts: 5,
        jitter: 0,
        attemptTimeoutMs: 10_000,
        deadlineMs: 3_600_000,
      },
      replyTimeoutMs: 600_000,
      maxRetryAfterMs: 3_600_000,
      deadLetterRetentionMs: 7 * DAY,
      responseExcerptBytes: 2048,
    });
  });

  test('jitter 0 and a coefficient of 1 are kept (not mistaken for "unset")', () => {
    const plan = planOf({ retry: { jitter: 0, backoffCoefficient: 1 } });
    expect(plan.retry.jitter).toBe(0);
    expect(plan.retry.backoffCoefficient).toBe(1);
  });

  test('values exactly at the configured limits are accepted', () => {
    expect(
      planOf({
        retry: { maximumAttempts: 100, maximumInterval: '1h', attemptTimeout: '5m', deadline: '30d' },
        reply: { timeout: '1d' },
      }),
    ).toMatchObject({
      retry: { maximumAttempts: 100, maximumIntervalMs: 3_600_000, attemptTimeoutMs: 300_000, deadlineMs: 30 * DAY },
      replyTimeoutMs: DAY,
    });
  });

  test('the smallest allowed values are accepted', () => {
    expect(
      planOf({
        retry: {
          initialInterval: '1ms',
          maximumInterval: 1,
          maximumAttempts: 1,
          attemptTimeout: '100ms',
          deadline: 100,
        },
        reply: { timeout: 1 },
      }),
    ).toMatchObject({
      retry: { initialIntervalMs: 1, maximumIntervalMs: 1, maximumAttempts: 1, attemptTimeoutMs: 100, deadlineMs: 100 },
      replyTimeoutMs: 1,
    });
  });

  test('initialInterval equal to maximumInterval, and attemptTimeout equal to deadline, are accepted', () => {
    expect(
      planOf({ retry: { initialInterval: '1m', maximumInterval: '1m', attemptTimeout: '30s', deadline: '30s' } }).retry,
    ).toMatchObject({
      initialIntervalMs: 60_000,
      maximumIntervalMs: 60_000,
      attemptTimeoutMs: 30_000,
      deadlineMs: 30_000,
    });
  });

  test('each duration unit, and fractional amounts', () => {
    expect(planOf({ retry: { deadline: '2h' } }).retry.deadlineMs).toBe(7_200_000);
    expect(planOf({ retry: { deadline: '1.5d' } }).retry.deadlineMs).toBe(1.5 * DAY);
    expect(planOf({ retry: { initialInterval: '0.5s' } }).retry.initialIntervalMs).toBe(500);
    expect(planOf({ reply: { timeout: '90s' } }).replyTimeoutMs).toBe(90_000);
  });

  test('a reply expectation sets the reply timeout; without one it is null', () => {
    expect(planOf({ reply: { timeout: '30m' } }).replyTimeoutMs).toBe(1_800_000);
    expect(planOf({ retry: { maximumAttempts: 2 } }).replyTimeoutMs).toBeNull();
  });
});

describe('limits and rules, each naming the field as a JSON pointer', () => {
  test.each<[string, PlanInput, string, RegExp]>([
    ['maximumAttempts over the limit', { retry: { maximumAttempts: 101 } }, '/retry/maximumAttempts', /at most 100/],
    [
      'maximumInterval over the limit',
      { retry: { maximumInterval: '2h' } },
      '/retry/maximumInterval',
      /at most 3600000ms/,
    ],
    [
      'maximumInterval 1 ms over the limit',
      { retry: { maximumInterval: 3_600_001 } },
      '/retry/maximumInterval',
      /configured limit/,
    ],
    ['attemptTimeout over the limit', { retry: { attemptTimeout: '6m' } }, '/retry/attemptTimeout', /at most 300000ms/],
    ['deadline over the limit', { retry: { deadline: '31d' } }, '/retry/deadline', /at most 2592000000ms/],
    ['reply timeout over the limit', { reply: { timeout: '2d' } }, '/reply/timeout', /at most 86400000ms/],
    ['reply timeout of zero', { reply: { timeout: '0s' } }, '/reply/timeout', /greater than zero/],
    ['reply timeout of 0 ms', { reply: { timeout: 0 } }, '/reply/timeout', /greater than zero/],
    ['initialInterval of zero', { retry: { initialInterval: 0 } }, '/retry/initialInterval', /at least 1ms/],
    ['attemptTimeout under 100 ms', { retry: { attemptTimeout: '50ms' } }, '/retry/attemptTimeout', /at least 100ms/],
    [
      'initialInterval above maximumInterval',
      { retry: { initialInterval: '10m', maximumInterval: '1m' } },
      '/retry/initialInterval',
      /must not exceed maximumInterval/,
    ],
    [
      'a maximumInterval below the default initialInterval',
      { retry: { maximumInterval: '500ms' } },
      '/retry/initialInterval',
      /must not exceed maximumInterval/,
    ],
    [
      'attemptTimeout above deadline',
      { retry: { attemptTimeout: '1m', deadline: '30s' } },
      '/retry/attemptTimeout',
      /must not exceed deadline/,
    ],
    [
      'a deadline below the default attemptTimeout',
      { retry: { deadline: '10s' } },
      '/retry/attemptTimeout',
      /must not exceed deadline/,
    ],
  ])('%s is refused', (_label, message, field, text) => {
    const errors = errorsOf(message);
    expect(errors.map((e) => e.field)).toContain(field);
    expect(errors.find((e) => e.field === field)?.message).toMatch(text);
  });

  test.each<[string, PlanInput, string]>([
    ['initialInterval', { retry: { initialInterval: 'soon' } }, '/retry/initialInterval'],
    ['maximumInterval', { retry: { maximumInterval: '5 minutes' } }, '/retry/maximumInterval'],
    ['attemptTimeout', { retry: { attemptTimeout: '1h30m' } }, '/retry/attemptTimeout'],
    ['deadline (negative number)', { retry: { deadline: -1 } }, '/retry/deadline'],
    ['deadline (unknown unit)', { retry: { deadline: '2w' } }, '/retry/deadline'],
    ['reply timeout', { reply: { timeout: 'later' } }, '/reply/timeout'],
    ['reply timeout (no unit)', { reply: { timeout: '30' } }, '/reply/timeout'],
  ])('a bad duration string for %s is refused, naming the field', (_label, message, field) => {
    const errors = errorsOf(message);
    expect(errors).toContainEqual({ field, message: 'must be a duration such as "30s"' });
  });

  test('only the broken field is named', () => {
    expect(errorsOf({ retry: { maximumAttempts: 101, maximumInterval: '1m', deadline: '1d' } })).toEqual([
      { field: '/retry/maximumAttempts', message: 'must be at most 100 (configured limit)' },
    ]);
  });

  test('every broken limit is reported at once', () => {
    expect(
      errorsOf({ retry: { maximumAttempts: 1000, deadline: '90d', initialInterval: 'x' }, reply: { timeout: '9d' } })
        .map((e) => e.field)
        .sort(),
    ).toEqual(['/reply/timeout', '/retry/deadline', '/retry/initialInterval', '/retry/maximumAttempts']);
  });

  test('limits come from the settings, not from constants', () => {
    const strict: DeliverySettings = {
      ...settings,
      limits: { ...settings.limits, maximumAttempts: 3, replyTimeoutMs: 60_000 },
    };
    expect(resolveDeliveryPlan({ retry: { maximumAttempts: 3 } }, strict).ok).toBe(true);
    const refused = resolveDeliveryPlan({ retry: { maximumAttempts: 4 }, reply: { timeout: '2m' } }, strict);
    expect(refused.ok ? [] : refused.errors).toEqual([
      { field: '/retry/maximumAttempts', message: 'must be at most 3 (configured limit)' },
      { field: '/reply/timeout', message: 'must be at most 60000ms (configured limit)' },
    ]);
  });
});
