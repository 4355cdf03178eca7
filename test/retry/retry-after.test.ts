/** Retry-After parsing (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. */
import { parseRetryAfter } from '../../src/retry/retry-after';

const now = new Date('2026-11-24T12:00:00Z');

test('delay-seconds', () => {
  expect(parseRetryAfter('120', now)).toBe(120_000);
  expect(parseRetryAfter(' 0 ', now)).toBe(0);
  expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
});

test('an HTTP-date in the future is the time until then; in the past, zero', () => {
  expect(parseRetryAfter('Tue, 24 Nov 2026 12:00:30 GMT', now)).toBe(30_000);
  expect(parseRetryAfter(new Date(now.getTime() + 90_000).toUTCString(), now)).toBe(90_000);
  expect(parseRetryAfter('Tue, 24 Nov 2026 11:00:00 GMT', now)).toBe(0);
});

test.each([undefined, '', 'soon', '-5', '1.5', 'Tue, 99 Nov 2026 12:00:30 GMT', '2026-11-24T12:00:30Z'])(
  '%p is not a Retry-After',
  (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  },
);
