/**
 * A message whose workflow Temporal terminated says `terminated`, not the state it last had: in the
 * status API, the list's state filter, and the event log (so every stream ends on it).
 */
import { API_KEY, type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { startFixture } from '../helpers/fixture';
import { eventually } from '../helpers/eventually';
import { uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

/** Reads a per-message stream to its end (it ends after a terminal state): the states it said, in order. */
async function streamedStates(id: string, timeoutMs = 30_000): Promise<string[]> {
  const response = await fetch(`${api.url}/v1/messages/${id}/events`, {
    headers: { authorization: `Bearer ${API_KEY}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => (JSON.parse(line.slice('data: '.length)) as { state: string }).state);
}

/** Sends a message whose downstream keeps failing slowly, and waits until it is delivering. */
async function sendStuck(path: string): Promise<string> {
  const id = uniqueId('ended');
  downstream.script(path, [{ status: 503 }]);
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url(path) },
      body: {},
      retry: { initialInterval: '5s', maximumInterval: '5s' },
    },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'delivering');
  return id;
}

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

test('a stream open when the message is terminated ends on terminated, without anyone reading its status', async () => {
  const id = await sendStuck('/ended-stream');
  const states = streamedStates(id);
  // The stream is open and waiting (it has said the current state) before the termination.
  await new Promise((resolve) => setTimeout(resolve, 500));
  await herald.client.workflow.getHandle(id).terminate('operator stopped it');
  // The worker's sweeper closes the run out from visibility (every 5 s), and the stream ends on it.
  const said = await states;
  expect(said.at(-1)).toBe('terminated');
  expect(said.filter((state) => state === 'terminated')).toHaveLength(1);
  expect(said).toContain('delivering');
}, 60_000);

test('after termination: the status, a new stream, the log and the state filter all say terminated, once', async () => {
  const id = await sendStuck('/ended-views');
  await herald.client.workflow.getHandle(id).terminate('operator stopped it');
  const status = await api.call<{ state: string }>('GET', `/v1/messages/${id}`);
  expect(status.body.state).toBe('terminated');
  // Read twice more, and let a sweep run: still one terminated event, numbered after the run's last.
  await api.call('GET', `/v1/messages/${id}`);
  await new Promise((resolve) => setTimeout(resolve, 6_000));
  const logged = await herald.events.read({ afterId: 0, messageId: id });
  const ends = logged.filter((event) => event.state === 'terminated');
  expect(ends).toHaveLength(1);
  expect(logged.at(-1)).toMatchObject({ state: 'terminated', seq: logged.at(-2)!.seq + 1 });
  expect(await streamedStates(id)).toEqual(['terminated']);

  const listed = await eventually(
    () => api.call<{ items: { id: string; state: string }[] }>('GET', '/v1/messages?state=terminated&limit=100'),
    { until: (page) => page.body.items.some((item) => item.id === id), what: 'the message in the terminated list' },
  );
  expect(listed.body.items.find((item) => item.id === id)?.state).toBe('terminated');
  const delivering = await api.call<{ items: { id: string }[] }>('GET', '/v1/messages?state=delivering&limit=100');
  expect(delivering.body.items.map((item) => item.id)).not.toContain(id);
}, 60_000);
