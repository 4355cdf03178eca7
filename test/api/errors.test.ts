/**
 * Every client mistake gets a precise RFC 9457 problem (never a 5xx): malformed JSON, schema violations
 * naming the field, limits, refused destinations, size, media type, auth, unknown ids and routes.
 */
import type { TestApi, TestResponse } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture, type HeraldFixture } from '../helpers/fixture';

let fixture: HeraldFixture;
let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  fixture = await startFixture({ env: { HERALD_BODY_LIMIT_BYTES: '4096' }, api: true });
  ({ herald, api, downstream } = fixture);
});

type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
};

function expectProblem(response: TestResponse<unknown>, status: number, kind: string): Problem {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.body as Problem;
  expect(problem).toMatchObject({ type: `urn:herald:problem:${kind}`, status });
  expect(typeof problem.title).toBe('string');
  return problem;
}

const send = (json: unknown) => api.call('POST', '/v1/messages', { json });
const valid = () => ({ destination: { url: downstream.url('/ok') }, body: { ok: true } });

test('malformed JSON is 400 invalid-json', async () => {
  const response = await api.call('POST', '/v1/messages', {
    raw: '{"destination": {"url": ',
    headers: { 'content-type': 'application/json' },
  });
  expectProblem(response, 400, 'invalid-json');
});

test.each([
  ['a missing destination', { body: {} }, '/destination'],
  ['a wrong type', { destination: { url: 42 } }, '/destination/url'],
  ['an unknown method', { destination: { url: 'http://127.0.0.1/x', method: 'FETCH' } }, '/destination/method'],
  ['an unknown field', { destination: { url: 'http://127.0.0.1/x' }, priority: 'high' }, '/priority'],
  ['a bad duration', { destination: { url: 'http://127.0.0.1/x' }, retry: { deadline: 'soon' } }, '/retry/deadline'],
  ['a bad id', { id: 'has spaces', destination: { url: 'http://127.0.0.1/x' } }, '/id'],
  [
    'a bad header name',
    { destination: { url: 'http://127.0.0.1/x', headers: { 'bad header': 'x' } } },
    '/destination/headers/bad header',
  ],
  ['a jitter out of range', { destination: { url: 'http://127.0.0.1/x' }, retry: { jitter: 2 } }, '/retry/jitter'],
  // A malformed URL is a validation error; 422 is for well-formed destinations that are refused.
  ['a destination URL that is not a URL', { destination: { url: 'not a url' } }, '/destination/url'],
])('%s is 400 naming the field', async (_label, json, field) => {
  const problem = expectProblem(await send(json), 400, 'validation-failed');
  expect(problem.errors?.map((e) => e.field)).toContain(field);
});

test('body and bodyBase64 together is 400 naming the field', async () => {
  const problem = expectProblem(
    await send({ ...valid(), bodyBase64: 'aGVsbG8=', contentType: 'text/plain' }),
    400,
    'validation-failed',
  );
  expect(problem.errors).toEqual([
    { field: '/bodyBase64', message: 'give either body (JSON) or bodyBase64, not both' },
  ]);
});

test('an empty POST names the missing field', async () => {
  const problem = expectProblem(await api.call('POST', '/v1/messages'), 400, 'validation-failed');
  expect(problem.errors?.map((e) => e.field)).toContain('/destination');
});

test('values beyond the configured limits are 422 naming the field', async () => {
  const problem = expectProblem(
    await send({ ...valid(), retry: { maximumAttempts: 1000, attemptTimeout: '1h' }, reply: { timeout: '400d' } }),
    422,
    'unprocessable-message',
  );
  expect([...new Set(problem.errors?.map((e) => e.field))].sort()).toEqual([
    '/reply/timeout',
    '/retry/attemptTimeout',
    '/retry/maximumAttempts',
  ]);
});

test.each([
  ['a private address', 'http://10.1.2.3/hook'],
  ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data'],
  ['loopback not in the allowlist', 'http://127.0.0.2:8080/hook'],
  ['IPv6 loopback', 'http://[::1]:9/hook'],
  ['an IPv4-mapped private address', 'http://[::ffff:192.168.1.1]/hook'],
  ['a scheme other than http(s)', 'file:///etc/passwd'],
  ['credentials in the URL', 'http://user:pass@127.0.0.1/hook'],
])('a destination at %s is 422 and never started', async (_label, url) => {
  const id = uniqueId('ssrf');
  const problem = expectProblem(await send({ id, destination: { url }, body: {} }), 422, 'destination-not-allowed');
  expect(problem.errors?.[0]?.field).toBe('/destination/url');
  expect((await api.call('GET', `/v1/messages/${id}`)).status).toBe(404);
});

test('the check applies to the resolved address, not only the host name', async () => {
  // With nothing allowlisted, names that resolve to loopback (through /etc/hosts, no DNS traffic) are refused.
  const strict = await fixture.startApi({ HERALD_DESTINATION_ALLOWLIST: 'none' });
  try {
    for (const host of ['localhost', 'LocalHost']) {
      const response = await strict.call('POST', '/v1/messages', {
        json: { destination: { url: `http://${host}:9/x` } },
      });
      const problem = expectProblem(response, 422, 'destination-not-allowed');
      expect(problem.errors?.[0]?.message).toContain('resolves to 127.0.0.1');
    }
  } finally {
    await strict.close();
  }
});

test('a callback URL is checked too', async () => {
  const problem = expectProblem(
    await send({ ...valid(), callback: { url: 'http://192.168.0.10/outcome' } }),
    422,
    'destination-not-allowed',
  );
  expect(problem.errors?.[0]?.field).toBe('/callback/url');
});

test('a body over the configured limit is 413', async () => {
  const response = await send({ ...valid(), body: { blob: 'x'.repeat(5000) } });
  expectProblem(response, 413, 'payload-too-large');
});

test('a media type other than JSON is 415', async () => {
  const text = await api.call('POST', '/v1/messages', { raw: 'hello', headers: { 'content-type': 'text/plain' } });
  expectProblem(text, 415, 'unsupported-media-type');
  const form = await api.call('POST', '/v1/messages', {
    raw: 'a=1',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expectProblem(form, 415, 'unsupported-media-type');
});

test('missing and unknown API keys are 401', async () => {
  expectProblem(await api.call('GET', '/v1/messages', { headers: { authorization: null } }), 401, 'unauthorized');
  expectProblem(
    await api.call('GET', '/v1/messages', { headers: { authorization: 'Basic abc' } }),
    401,
    'unauthorized',
  );
  expectProblem(
    await api.call('GET', '/v1/messages', { headers: { authorization: 'Bearer wrong-key-wrong-key-wrong' } }),
    401,
    'unauthorized',
  );
});

test.each([
  ['GET', '/v1/messages/{id}'],
  ['POST', '/v1/messages/{id}/cancel'],
  ['GET', '/v1/dead-letters/{id}'],
  ['POST', '/v1/dead-letters/{id}/redrive'],
  ['DELETE', '/v1/dead-letters/{id}'],
])('%s %s with an unknown id is 404', async (method, path) => {
  expectProblem(await api.call(method, path.replace('{id}', uniqueId('unknown'))), 404, 'not-found');
});

test('an id that breaks the id pattern in a path is 400, an unknown route 404', async () => {
  const problem = expectProblem(await api.call('GET', '/v1/messages/bad%20id'), 400, 'validation-failed');
  expect(problem.errors?.[0]?.field).toBe('params:/id');
  expectProblem(await api.call('GET', '/v1/nothing-here'), 404, 'not-found');
});

test('a date-time the format accepts but Date cannot represent is 400, not a crash', async () => {
  const problem = expectProblem(
    await api.call('GET', '/v1/messages?since=2016-12-31T23:59:60Z'),
    400,
    'validation-failed',
  );
  expect(problem.errors).toEqual([{ field: 'query:/since', message: 'is not a representable date-time' }]);
  expectProblem(await api.call('GET', '/v1/dead-letters?until=2016-12-31T23:59:60Z'), 400, 'validation-failed');
});

test('cancelling a message that has its outcome (a parked dead letter) is 409, not a silent 202', async () => {
  downstream.script('/gone-for-good', [{ status: 410 }]);
  const id = uniqueId('msg');
  await send({ id, destination: { url: downstream.url('/gone-for-good') }, body: {} });
  await herald.waitForState(id, 'dead_lettered');
  const problem = expectProblem(await api.call('POST', `/v1/messages/${id}/cancel`), 409, 'message-ended');
  expect(problem.detail).toContain('dead_lettered');
});

test('a method the path does not serve is 405 with Allow', async () => {
  const response = await api.call('PUT', '/v1/messages');
  const problem = expectProblem(response, 405, 'method-not-allowed');
  const allow = (value: unknown) => String(value).split(', ').sort();
  expect(allow(response.headers.allow)).toEqual(['GET', 'HEAD', 'POST']);
  expect(problem.detail).toContain('PUT is not allowed');
  // A method that carries a body, sent without one or a Content-Type, is still a 405, not a parse error.
  const query = await api.call('QUERY', '/healthz', { headers: { authorization: null } });
  expectProblem(query, 405, 'method-not-allowed');
  expect(allow(query.headers.allow)).toEqual(['GET', 'HEAD']);
  expect(allow((await api.call('PATCH', `/v1/dead-letters/${uniqueId('x')}`)).headers.allow)).toEqual([
    'DELETE',
    'GET',
    'HEAD',
  ]);
});

test('a reply with a malformed body is 400 and never reaches the workflow', async () => {
  const id = uniqueId('msg');
  await send({ id, ...valid(), reply: { timeout: '1m' } });
  const problem = expectProblem(
    await api.call('POST', `/v1/messages/${id}/reply`, { json: { status: 'two hundred' } }),
    400,
    'validation-failed',
  );
  expect(problem.errors?.map((e) => e.field)).toEqual(expect.arrayContaining(['/body', '/status']));
  const status = await api.call<{ reply: unknown; ignored: unknown[] }>('GET', `/v1/messages/${id}`);
  expect(status.body.reply).toBeNull();
  expect(status.body.ignored).toEqual([]);
  await api.call('POST', `/v1/messages/${id}/cancel`);
});
