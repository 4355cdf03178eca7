/** A message whose workflow Temporal terminated says `terminated`, not the state it last had. */
import type { TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { startFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

test('a terminated message reports terminated through the API', async () => {
  const id = uniqueId('terminated');
  downstream.script('/down', [{ status: 503 }]);
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/down') },
      body: {},
      retry: { initialInterval: '5s', maximumInterval: '5s' },
    },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'delivering');
  await herald.client.workflow.getHandle(id).terminate('operator stopped it');
  const status = await api.call<{ state: string; nextAttemptAt: string | null }>('GET', `/v1/messages/${id}`);
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ state: 'terminated', nextAttemptAt: null });
});

test('a message still running keeps its own state', async () => {
  const id = uniqueId('running');
  downstream.script('/slow-down', [{ status: 503 }]);
  await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/slow-down') },
      body: {},
      retry: { initialInterval: '5s', maximumInterval: '5s' },
    },
  });
  await herald.waitForState(id, 'delivering');
  const status = await api.call<{ state: string }>('GET', `/v1/messages/${id}`);
  expect(status.body.state).toBe('delivering');
  await herald.client.workflow.getHandle(id).terminate('cleanup');
});
