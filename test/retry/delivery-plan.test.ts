/** Config defaults fill what a message leaves out; configured limits bound what it asks for. */
import { resolveDeliveryPlan, type DeliverySettings } from '../../src/retry/delivery-plan';

const settings: DeliverySettings = {
  defaults: {
    initialIntervalMs: 1000,
    backoffCoefficient: 2,
    maximumIntervalMs: 300_000,
    maximumAttempts: 10,
    jitter: 0.2,
    attemptTimeoutMs: 30_000,
    deadlineMs: 86_400_000,
  },
  limits: {
    maximumAttempts: 100,
    maximumIntervalMs: 3_600_000,
    attemptTimeoutMs: 300_000,
    deadlineMs: 30 * 86_400_000,
    replyTimeoutMs: 86_400_000,
  },
  maxRetryAfterMs: 3_600_000,
  deadLetterRetentionMs: 7 * 86_400_000,
  responseExcerptBytes: 2048,
  callback: {
    initialIntervalMs: 1000,
    backoffCoefficient: 2,
    maximumIntervalMs: 600_000,
    maximumAttempts: 20,
    jitter: 0.2,
    attemptTimeoutMs: 10_000,
    deadlineMs: 86_400_000,
  },
};

test('defaults apply when the message says nothing', () => {
  expect(resolveDeliveryPlan({}, settings)).toEqual({
    ok: true,
    plan: {
      retry: settings.defaults,
      replyTimeoutMs: null,
      maxRetryAfterMs: 3_600_000,
      deadLetterRetentionMs: 7 * 86_400_000,
      responseExcerptBytes: 2048,
    },
  });
});

test('overrides apply, durations parsed', () => {
  const result = resolveDeliveryPlan(
    {
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
    },
    settings,
  );
  expect(result).toMatchObject({
    ok: true,
    plan: {
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
    },
  });
});

test.each([
  [{ retry: { maximumAttempts: 101 } }, '/retry/maximumAttempts'],
  [{ retry: { maximumInterval: '2h' } }, '/retry/maximumInterval'],
  [{ retry: { attemptTimeout: '6m' } }, '/retry/attemptTimeout'],
  [{ retry: { deadline: '31d' } }, '/retry/deadline'],
  [{ reply: { timeout: '2d' } }, '/reply/timeout'],
  [{ reply: { timeout: '0s' } }, '/reply/timeout'],
  [{ retry: { initialInterval: '10m', maximumInterval: '1m' } }, '/retry/initialInterval'],
  [{ retry: { attemptTimeout: '1m', deadline: '30s' } }, '/retry/attemptTimeout'],
  [{ retry: { attemptTimeout: '50ms' } }, '/retry/attemptTimeout'],
  [{ retry: { initialInterval: 'soon' } }, '/retry/initialInterval'],
])('%j is refused, naming %s', (message, field) => {
  const result = resolveDeliveryPlan(message, settings);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.errors.map((e) => e.field)).toContain(field);
});

test('every broken limit is reported at once', () => {
  const result = resolveDeliveryPlan(
    { retry: { maximumAttempts: 1000, deadline: '90d' }, reply: { timeout: '9d' } },
    settings,
  );
  expect(result.ok ? [] : result.errors.map((e) => e.field).sort()).toEqual([
    '/reply/timeout',
    '/retry/deadline',
    '/retry/maximumAttempts',
  ]);
});
