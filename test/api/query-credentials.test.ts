/** Credentials in a query string: refused, and never logged (logged URLs keep names, never values). */
import { keyLikeQueryParameter, loggableUrl, refuseKeyInQuery } from '../../src/api/query-credentials';
import { ProblemError } from '../../src/api/problem';

test.each([
  ['/v1/messages?api_key=hk_1', 'api_key'],
  ['/v1/messages?state=delivered&key=abc', 'key'],
  ['/v1/messages?token=abc', 'token'],
  ['/v1/messages?access_token=abc', 'access_token'],
  ['/v1/messages?API-KEY=abc', 'API-KEY'],
  ['/v1/messages?apiKey=abc', 'apiKey'],
  ['/v1/messages?Authorization=Bearer%20x', 'Authorization'],
  ['/v1/messages?api%5Fkey=abc', 'api_key'],
  ['/v1/messages?token', 'token'],
])('%s carries a key in %s', (url, name) => {
  expect(keyLikeQueryParameter(url)).toBe(name);
});

test.each([
  '/v1/messages',
  '/v1/messages?',
  '/v1/messages?state=delivered&limit=5',
  '/v1/dead-letters?cursor=abc&keyring=1',
])('%s carries no key', (url) => {
  expect(keyLikeQueryParameter(url)).toBeUndefined();
  expect(() => refuseKeyInQuery(url)).not.toThrow();
});

test('the refusal is a 400 that says to use the Authorization header, naming the parameter', () => {
  let error: unknown;
  try {
    refuseKeyInQuery('/v1/messages?api_key=hk_secret');
  } catch (thrown) {
    error = thrown;
  }
  expect(error).toBeInstanceOf(ProblemError);
  const body = (error as ProblemError).body();
  expect(body).toMatchObject({ type: 'urn:herald:problem:api-key-in-query', status: 400 });
  expect(body.detail).toContain('Authorization: Bearer <key>');
  expect(JSON.stringify(body)).not.toContain('hk_secret');
  expect(body.errors).toEqual([
    { field: 'query:/api_key', message: 'credentials are not accepted in the query string' },
  ]);
});

test.each([
  ['/v1/messages', '/v1/messages'],
  ['/v1/messages?api_key=hk_0123456789abcdef', '/v1/messages?api_key=[redacted]'],
  ['/v1/dead-letters?reason=permanent_error&limit=5', '/v1/dead-letters?reason=[redacted]&limit=[redacted]'],
  ['/v1/x?flag', '/v1/x?flag=[redacted]'],
  // A name that could itself be a key (16+ characters, or odd characters) is not kept either.
  ['/v1/x?hk_0123456789abcdef', '/v1/x?[redacted]'],
  ['/v1/x?a%20b=1', '/v1/x?[redacted]'],
  ['/v1/x?&&a=1', '/v1/x?a=[redacted]'],
])('%s is logged as %s', (url, logged) => {
  expect(loggableUrl(url)).toBe(logged);
});
