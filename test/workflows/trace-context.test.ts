import {
  derivedSpanId,
  derivedTraceId,
  formatTraceParent,
  isSampled,
  parseTraceParent,
} from '../../src/workflows/trace-context';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

test('a valid traceparent parses into its parts and formats back the same', () => {
  const parsed = parseTraceParent(VALID);
  expect(parsed).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: '01' });
  expect(formatTraceParent(parsed!)).toBe(VALID);
});

test.each([
  ['not a string', 42],
  ['empty', ''],
  ['a forbidden version', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ['version 00 with a fifth field', `${VALID}-extra`],
  ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
  ['an all-zero span id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
  ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
  ['not hex', '00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01'],
])('%s is not a trace context', (_what, value) => {
  expect(parseTraceParent(value)).toBeUndefined();
});

test('a later version may carry more fields; upper-case hex is read as lower-case', () => {
  expect(parseTraceParent('01-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00-more')).toEqual({
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    flags: '00',
  });
});

test('the sampled flag is bit 0 of the flags', () => {
  expect([isSampled('01'), isSampled('03'), isSampled('00'), isSampled('02')]).toEqual([true, true, false, false]);
});

test('span ids derive from the run id: the same on a replay, different per span and per run, valid ids', () => {
  const run = '0195f3a2-7c1e-7d2a-9a41-6f1c2b3d4e5f';
  expect(derivedSpanId(run, 0)).toBe(derivedSpanId(run, 0));
  const ids = new Set([0, 1, 2, 3].map((n) => derivedSpanId(run, n)));
  ids.add(derivedSpanId('another-run', 0));
  expect(ids.size).toBe(5);
  for (const id of ids) expect(parseTraceParent(`00-${derivedTraceId(run)}-${id}-01`)).toBeDefined();
  expect(derivedTraceId(run)).toMatch(/^[0-9a-f]{32}$/);
  expect(derivedTraceId(run)).not.toBe(derivedTraceId('another-run'));
});
