import { parseExposition, sampleValue } from '../helpers/prometheus-text';
import { attemptOutcome, boundedDestinations, statusClass } from '../../src/observability/metric-labels';
import { createWorkerMetrics } from '../../src/observability/worker-metrics';

test('status classes: 2xx … 5xx, none without a response', () => {
  expect([200, 204, 301, 404, 429, 503].map(statusClass)).toEqual(['2xx', '2xx', '3xx', '4xx', '4xx', '5xx']);
  expect([undefined, 42, 600, 200.5].map(statusClass)).toEqual(['none', 'none', 'none', 'none']);
});

test('attempt outcomes: what answered, what timed out, what never reached the destination', () => {
  expect(attemptOutcome({ outcome: 'delivered', status: 200 })).toBe('delivered');
  expect(attemptOutcome({ outcome: 'permanent', status: 400, cause: 'http_400' })).toBe('permanent');
  expect(attemptOutcome({ outcome: 'permanent', cause: 'destination_blocked' })).toBe('permanent');
  expect(attemptOutcome({ outcome: 'retryable', status: 503, cause: 'http_503' })).toBe('retryable');
  expect(attemptOutcome({ outcome: 'retryable', cause: 'timeout' })).toBe('timeout');
  expect(attemptOutcome({ outcome: 'retryable', cause: 'connection_refused' })).toBe('network');
  expect(attemptOutcome({ outcome: 'retryable', cause: 'tls_failure' })).toBe('network');
  // Herald held the attempt back: nothing was wrong with the network.
  expect(attemptOutcome({ outcome: 'retryable', cause: 'worker_shutdown' })).toBe('retryable');
  expect(attemptOutcome({ outcome: 'retryable', cause: 'event_log_unavailable' })).toBe('retryable');
});

test('destination labels are bounded: past the limit, new hosts count as other', () => {
  const label = boundedDestinations(2);
  expect([label('a.example'), label('b.example'), label('c.example'), label('a.example'), label(null)]).toEqual([
    'a.example',
    'b.example',
    'other',
    'a.example',
    'none',
  ]);
});

test('the worker registry counts attempts and outcomes under bounded labels', async () => {
  const metrics = createWorkerMetrics({ maxDestinations: 1 });
  metrics.attempt('api.example.com', { outcome: 'delivered', status: 200, durationMs: 30 });
  metrics.attempt('api.example.com', { outcome: 'retryable', status: 503, cause: 'http_503', durationMs: 10 });
  metrics.attempt('second.example.com', { outcome: 'retryable', cause: 'timeout', durationMs: 2000 });
  metrics.eventAppended({ state: 'delivered', destination: 'api.example.com' });
  metrics.eventAppended({ state: 'delivering', destination: 'api.example.com' });
  metrics.deadLetterCreated('retries_exhausted', 'callback');
  metrics.callback('failed');
  const samples = parseExposition(await metrics.registry.metrics());
  const attempts = (labels: Record<string, string>) => sampleValue(samples, 'herald_delivery_attempts_total', labels);
  expect(attempts({ destination: 'api.example.com', outcome: 'delivered', status_class: '2xx' })).toBe(1);
  expect(attempts({ destination: 'api.example.com', outcome: 'retryable', status_class: '5xx' })).toBe(1);
  expect(attempts({ destination: 'other', outcome: 'timeout', status_class: 'none' })).toBe(1);
  expect(
    sampleValue(samples, 'herald_delivery_attempt_duration_seconds_count', { destination: 'api.example.com' }),
  ).toBe(2);
  expect(sampleValue(samples, 'herald_delivery_attempt_duration_seconds_sum', { destination: 'other' })).toBeCloseTo(2);
  // Only outcomes are terminal: `delivering` is not counted.
  expect(samples.filter((s) => s.name === 'herald_messages_terminal_total')).toEqual([
    {
      name: 'herald_messages_terminal_total',
      labels: { state: 'delivered', destination: 'api.example.com' },
      value: 1,
    },
  ]);
  expect(
    sampleValue(samples, 'herald_dead_letters_created_total', { reason: 'retries_exhausted', kind: 'callback' }),
  ).toBe(1);
  expect(sampleValue(samples, 'herald_callbacks_total', { outcome: 'failed' })).toBe(1);
});

test('the exposition parser reads labels with escapes and refuses what is not a sample', () => {
  expect(parseExposition('# HELP x y\nx{a="q\\"uote",b="c"} 2.5\ny 1\n')).toEqual([
    { name: 'x', labels: { a: 'q"uote', b: 'c' }, value: 2.5 },
    { name: 'y', labels: {}, value: 1 },
  ]);
  expect(() => parseExposition('not a sample')).toThrow(/not a sample line/);
});
