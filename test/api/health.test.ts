/** Health, readiness, and reading a message's status when no worker is there to answer. */
import type { TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';

let herald: TestHerald;
let api: TestApi;
let orphanApi: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  const fixture = await startFixture({ api: true });
  ({ herald, api, downstream } = fixture);
  // An API whose task queue no worker polls.
  orphanApi = await fixture.startApi({ HERALD_TASK_QUEUE: uniqueId('no-worker') });
});

test('GET /healthz answers without an API key', async () => {
  const response = await api.call('GET', '/healthz', { headers: { authorization: null } });
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ status: 'ok' });
});

test('GET /readyz is 200 when Temporal answers, a worker polls and the store takes writes', async () => {
  const response = await api.call('GET', '/readyz', { headers: { authorization: null } });
  expect(response.status).toBe(200);
  expect(response.body).toEqual({
    status: 'ready',
    checks: { temporal: { ok: true }, worker: { ok: true }, deadLetterStore: { ok: true } },
  });
});

test('GET /readyz is 503 problem+json naming the failing check when no worker polls', async () => {
  const response = await orphanApi.call('GET', '/readyz', { headers: { authorization: null } });
  expect(response.status).toBe(503);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(response.body).toMatchObject({
    type: 'urn:herald:problem:not-ready',
    checks: { temporal: { ok: true }, worker: { ok: false }, deadLetterStore: { ok: true } },
  });
});

test('with no worker up, status falls back to what Temporal and the store know, and says so', async () => {
  const id = uniqueId('msg');
  const sent = await orphanApi.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/x') }, body: {} },
  });
  expect(sent.status).toBe(202);
  const response = await orphanApi.call<{ source: string; state: string; note: string; id: string }>(
    'GET',
    `/v1/messages/${id}`,
  );
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ id, state: 'accepted', source: 'visibility' });
  expect(response.body.note).toContain('No worker answered');
  expect(response.headers['retry-after']).toBe('1');
  await herald.client.workflow.getHandle(id).terminate('test cleanup');
});
