/** Durations: a whole number of milliseconds, or one number with one unit; anything else is refused. */
import { DURATION_PATTERN, formatDuration, parseDuration } from '../../src/contract/duration';

describe('parseDuration', () => {
  test.each([
    ['0ms', 0],
    ['1ms', 1],
    ['500ms', 500],
    ['0s', 0],
    ['1s', 1000],
    ['30s', 30_000],
    ['1m', 60_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['7d', 604_800_000],
    ['30d', 2_592_000_000],
  ])('%p is %i ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    ['1.5s', 1500],
    ['0.5m', 30_000],
    ['1.25h', 4_500_000],
    ['0.001s', 1],
    ['1.5ms', 2],
    ['0.4ms', 0],
    ['2.5d', 216_000_000],
  ])('a fractional amount %p is rounded to whole milliseconds (%i)', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    [' 10s ', 10_000],
    ['10 s', 10_000],
    ['\t5m\n', 300_000],
    ['007s', 7000],
  ])('whitespace around and between, and leading zeros, are tolerated: %p', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    [0, 0],
    [1, 1],
    [2500, 2500],
    [86_400_000, 86_400_000],
    [1.4, 1],
    [1.5, 2],
  ])('the number %p is milliseconds (%i)', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  test.each([
    '',
    ' ',
    '5',
    '30',
    's',
    'ms',
    '5 minutes',
    '5min',
    '5sec',
    '5S',
    '5M',
    '1h30m',
    '1h 30m',
    '-1s',
    '+1s',
    '.5s',
    '1.s',
    '1,5s',
    '1e3ms',
    '5w',
    '5y',
    'Infinitys',
    'PT5S',
    '5s5',
    'soon',
  ])('the string %p is refused', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  test.each([-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
    'the number %p is refused',
    (input) => {
      expect(parseDuration(input)).toBeUndefined();
    },
  );

  test('the exported pattern agrees with the parser (it is reused in the JSON schemas)', () => {
    const pattern = new RegExp(DURATION_PATTERN);
    for (const input of ['500ms', '1.5s', ' 10 s ', '7d']) {
      expect(pattern.test(input)).toBe(true);
      expect(parseDuration(input)).toBeDefined();
    }
    for (const input of ['5', '1h30m', '-1s', '5 minutes']) {
      expect(pattern.test(input)).toBe(false);
      expect(parseDuration(input)).toBeUndefined();
    }
  });
});

describe('formatDuration', () => {
  test.each([
    [0, '0ms'],
    [1, '1ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1234, '1.23s'],
    [60_000, '1m'],
    [90_000, '1.5m'],
    [3_600_000, '1h'],
    [5_400_000, '1.5h'],
    [86_400_000, '1d'],
    [604_800_000, '7d'],
  ])('%i ms is %p', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('round-trips through parseDuration for whole units', () => {
    for (const ms of [1, 500, 1000, 30_000, 60_000, 300_000, 3_600_000, 86_400_000, 7 * 86_400_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
