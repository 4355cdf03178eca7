/** Retry-After parsing (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, in milliseconds from now. */
import { parseRetryAfter } from '../../src/retry/retry-after';

const now = new Date('2026-11-24T12:00:00Z'); // a Tuesday

describe('delay-seconds', () => {
  test.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    ['3600', 3_600_000],
    ['007', 7000],
    [' 5 ', 5000],
    ['\t30\t', 30_000],
    ['86400000', 86_400_000_000],
  ])('%p is %i ms', (value, ms) => {
    expect(parseRetryAfter(value, now)).toBe(ms);
  });

  test('does not depend on now', () => {
    expect(parseRetryAfter('10', new Date(0))).toBe(10_000);
    expect(parseRetryAfter('10', new Date('2099-01-01T00:00:00Z'))).toBe(10_000);
  });
});

describe('HTTP-date', () => {
  test('an IMF-fixdate in the future is the time until then', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 13:00:00 GMT', now)).toBe(3_600_000);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:00 GMT', now)).toBe(86_400_000);
    expect(parseRetryAfter('Fri, 01 Jan 2027 00:00:00 GMT', now)).toBe(Date.UTC(2027, 0, 1) - now.getTime());
  });

  test('what Date#toUTCString writes (an IMF-fixdate) is read back', () => {
    for (const ahead of [1000, 90_000, 3_600_000, 7 * 86_400_000]) {
      expect(parseRetryAfter(new Date(now.getTime() + ahead).toUTCString(), now)).toBe(ahead);
    }
  });

  test('is read as GMT, whatever the local time zone', () => {
    // 30 s ahead in UTC; read as local time it would be hours off in most zones.
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(new Date(now.getTime() + 30_000).toISOString()).toBe('2026-11-24T12:00:30.000Z');
  });

  test('surrounding whitespace and a lower-case zone are tolerated', () => {
    expect(parseRetryAfter('  Tue, 24 Nov 2026 12:00:30 GMT  ', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 gmt', now)).toBe(30_000);
  });

  test('the obsolete RFC 850 form is read too', () => {
    expect(parseRetryAfter('Tuesday, 24-Nov-26 12:00:30 GMT', now)).toBe(30_000);
  });

  test('a date in the past, or exactly now, is zero (retry now), never negative', () => {
    expect(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Tue, 24 Nov 2026 11:59:59 GMT', now)).toBe(0);
    expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun, 06 Nov 1994 08:49:37 GMT', now)).toBe(0);
  });
});

describe('array header (several Retry-After fields)', () => {
  test('the first value is used', () => {
    expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
    expect(parseRetryAfter(['Tue, 24 Nov 2026 12:00:30 GMT', '1'], now)).toBe(30_000);
  });

  test('a malformed first value is not rescued by a later one', () => {
    expect(parseRetryAfter(['soon', '9'], now)).toBeUndefined();
  });

  test('an empty array is no header', () => {
    expect(parseRetryAfter([], now)).toBeUndefined();
  });
});

describe('absent or malformed', () => {
  test.each([
    ['absent', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a word', 'soon'],
    ['negative seconds', '-5'],
    ['a plus sign', '+5'],
    ['fractional seconds', '1.5'],
    ['seconds with a unit', '5s'],
    ['hex', '0x10'],
    ['exponent', '1e3'],
    ['two numbers', '1 2'],
    ['a list', '120, 60'],
    ['an ISO-8601 timestamp', '2026-11-24T12:00:30Z'],
    ['an ISO-8601 timestamp with GMT', '2026-11-24T12:00:30 GMT'],
    ['a date without a zone', 'Tue, 24 Nov 2026 12:00:30'],
    ['a date in another zone', 'Tue, 24 Nov 2026 12:00:30 PST'],
    ['a date with an offset', 'Tue, 24 Nov 2026 12:00:30 +0000'],
    ['an impossible day', 'Tue, 99 Nov 2026 12:00:30 GMT'],
    ['an impossible hour', 'Tue, 24 Nov 2026 25:00:00 GMT'],
    ['an unknown month', 'Tue, 24 Foo 2026 12:00:30 GMT'],
    ['just GMT', 'GMT'],
    ['a number and GMT', '1 GMT'],
    ['a year and GMT', '2026 GMT'],
    ['a month, a year and GMT', 'Nov 2026 GMT'],
    ['a word and GMT', 'soon GMT'],
  ])('%s (%p) is undefined', (_label, value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});
