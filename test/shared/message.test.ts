/** The message contract: what is accepted, and the precise field named when it is not. */
import { parseDuration, formatDuration } from '../../src/shared/duration';
import { destinationHost, validateMessage } from '../../src/shared/message';
import { validateReply } from '../../src/shared/reply';

const minimal = { id: 'msg_1', destination: { url: 'https://api.example.com/hook' } };

test('a minimal and a full message are accepted', () => {
  expect(validateMessage(minimal)).toEqual({ ok: true, value: minimal });
  const full = {
    id: 'order-1001:v2',
    destination: { url: 'https://api.example.com/hook', method: 'PUT', headers: { 'X-Tenant': 'acme' } },
    bodyBase64: 'aGVsbG8=',
    contentType: 'text/plain',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '5m',
      maximumAttempts: 5,
      jitter: 0.1,
      attemptTimeout: 30_000,
      deadline: '1d',
    },
    reply: { timeout: '10m' },
    callback: { url: 'https://sender.example.com/outcome' },
    metadata: { tenant: 'acme' },
  };
  expect(validateMessage(full).ok).toBe(true);
});

test.each([
  ['no destination', { id: 'm' }, '/destination'],
  ['a bad method', { ...minimal, destination: { url: 'https://x', method: 'FETCH' } }, '/destination/method'],
  ['an unknown field', { ...minimal, priority: 1 }, '/priority'],
  ['a bad id', { ...minimal, id: 'has space' }, '/id'],
  [
    'a bad header name',
    { ...minimal, destination: { url: 'https://x', headers: { 'bad header': 'v' } } },
    '/destination/headers/bad header',
  ],
  ['body and bodyBase64', { ...minimal, body: {}, bodyBase64: 'aA==', contentType: 'x/y' }, '/bodyBase64'],
  ['bodyBase64 without contentType', { ...minimal, bodyBase64: 'aA==' }, '/contentType'],
  ['bodyBase64 of a bad length', { ...minimal, bodyBase64: 'aGVsbG8', contentType: 'x/y' }, '/bodyBase64'],
  ['a bad duration', { ...minimal, reply: { timeout: '5 minutes' } }, '/reply/timeout'],
  ['a jitter above 1', { ...minimal, retry: { jitter: 1.5 } }, '/retry/jitter'],
  ['not an object', 'hello', '/'],
])('%s is refused naming the field', (_label, input, field) => {
  const result = validateMessage(input);
  expect(result.ok).toBe(false);
  if (!result.ok) expect(result.errors.map((e) => e.field)).toContain(field);
});

test('durations: milliseconds or one number with one unit', () => {
  expect(['500ms', '30s', '5m', '2h', '7d', '1.5s', ' 10s '].map(parseDuration)).toEqual([
    500, 30_000, 300_000, 7_200_000, 604_800_000, 1500, 10_000,
  ]);
  expect(parseDuration(2500)).toBe(2500);
  expect(['', '5', '5 minutes', '1h30m', '-1s', 's'].map(parseDuration)).toEqual(Array(6).fill(undefined));
  expect(parseDuration(-1)).toBeUndefined();
  expect(parseDuration(Number.NaN)).toBeUndefined();
  expect([999, 1000, 90_000, 86_400_000].map(formatDuration)).toEqual(['999ms', '1s', '1.5m', '1d']);
});

test('destinationHost keeps the port and tolerates a bad URL', () => {
  expect(destinationHost('https://api.example.com:8443/x')).toBe('api.example.com:8443');
  expect(destinationHost('http://[::1]:9/x')).toBe('[::1]:9');
  expect(destinationHost('not a url')).toBe('');
});

test('replies need a body; status and headers are checked', () => {
  expect(validateReply({ body: null })).toBeUndefined();
  expect(validateReply({ body: 'ok', status: 201, headers: { a: 'b' } })).toBeUndefined();
  expect(validateReply(undefined)).toBe('a reply must be an object with a body');
  expect(validateReply({} as never)).toBe('a reply needs a body');
  expect(validateReply({ body: 1, status: 99 })).toBe('reply status must be an integer from 100 to 599');
  expect(validateReply({ body: 1, headers: { a: 1 } as never })).toBe('reply header values must be strings');
  expect(validateReply({ body: 1, headers: [] as never })).toBe('reply headers must be an object');
});
