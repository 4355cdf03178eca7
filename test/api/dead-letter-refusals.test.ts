/**
 * Redrive and discard of what is not a parked dead letter: 409 `redrive-not-allowed` when the message
 * exists (README's error table), 404 only for an id nobody knows.
 */
import { type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

type Problem = { type: string; status: number; detail?: string };

async function send(id: string, extra: Record<string, unknown> = {}): Promise<void> {
  const response = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/fine') }, body: {}, ...extra },
  });
  expect(response.status).toBe(202);
}

test.each([
  ['redrive', 'POST', (id: string) => `/v1/dead-letters/${id}/redrive`],
  ['discard', 'DELETE', (id: string) => `/v1/dead-letters/${id}`],
])('%s of a delivered message, which never was a dead letter, is 409', async (_name, method, path) => {
  const id = uniqueId('msg');
  await send(id);
  await herald.waitForState(id, 'delivered');
  const response = await api.call<Problem>(method, path(id));
  expect(response.status).toBe(409);
  expect(response.body).toMatchObject({ type: 'urn:herald:problem:redrive-not-allowed', status: 409 });
  expect(response.body.detail).toBe('it has no dead letter (it is delivered)');
  expect(await herald.store.get(id)).toBeUndefined();
});

test('redrive and discard of a message still under way are 409, and leave it running', async () => {
  const id = uniqueId('msg');
  await send(id, { reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  for (const [method, path] of [
    ['POST', `/v1/dead-letters/${id}/redrive`],
    ['DELETE', `/v1/dead-letters/${id}`],
  ] as const) {
    const response = await api.call<Problem>(method, path);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({
      type: 'urn:herald:problem:redrive-not-allowed',
      detail: 'it has no dead letter (it is awaiting_reply)',
    });
  }
  expect((await herald.status(id)).state).toBe('awaiting_reply');
  await api.call('POST', `/v1/messages/${id}/cancel`);
  await herald.waitForState(id, 'cancelled');
});

test('bulk redrive reports nothing for messages that are not dead letters', async () => {
  const id = uniqueId('msg');
  await send(id);
  await herald.waitForState(id, 'delivered');
  const response = await api.call('POST', '/v1/dead-letters/redrive', {
    json: { destination: `127.0.0.1:${downstream.port}` },
  });
  expect(response.body).toEqual({ matched: 0, redriven: 0, failed: [] });
});

test.each([
  ['POST', (id: string) => `/v1/dead-letters/${id}/redrive`],
  ['DELETE', (id: string) => `/v1/dead-letters/${id}`],
])('%s for an id nobody knows is still 404', async (method, path) => {
  const response = await api.call<Problem>(method, path(uniqueId('unknown')));
  expect(response.status).toBe(404);
  expect(response.body.type).toBe('urn:herald:problem:not-found');
});
