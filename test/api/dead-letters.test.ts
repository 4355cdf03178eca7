/** /v1/dead-letters end to end: list, get, redrive (resumed and restarted), bulk redrive of 100, discard. */
import { startTestApi, type TestApi } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { startTestHerald, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  herald = await startTestHerald();
  // Pace bulk redrives fast enough for a test, slow enough to be a pace.
  api = await startTestApi(herald, { HERALD_REDRIVE_RATE: '200' });
  downstream = await startDownstream();
});
afterAll(async () => {
  await api?.close();
  await herald?.stop();
  await downstream?.close();
});

type DeadLetter = {
  id: string;
  reason: string;
  state: string;
  destination: string;
  attempts: unknown[];
  round: number;
};
type Page = { items: DeadLetter[]; nextCursor: string | null };

async function deadLettered(path: string, count = 1, extra: Record<string, unknown> = {}): Promise<string[]> {
  downstream.script(path, [{ status: 400 }]);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await api.call('POST', '/v1/messages', {
      json: { destination: { url: downstream.url(path) }, body: { i }, ...extra },
    });
    expect(response.status).toBe(202);
    ids.push((response.body as { id: string }).id);
  }
  for (const id of ids) await herald.waitForState(id, 'dead_lettered', 60_000);
  return ids;
}

test('list with filters and pagination, and get one', async () => {
  const ids = await deadLettered('/dl-list', 3);
  const first = await api.call<Page>('GET', '/v1/dead-letters?reason=permanent_error&limit=2');
  expect(first.status).toBe(200);
  expect(first.body.items).toHaveLength(2);
  const seen = new Set<string>();
  let cursor: string | null = null;
  do {
    const page: { body: Page } = await api.call<Page>(
      'GET',
      `/v1/dead-letters?reason=permanent_error&state=dead_lettered&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
    );
    page.body.items.forEach((item) => seen.add(item.id));
    cursor = page.body.nextCursor;
  } while (cursor);
  for (const id of ids) expect(seen.has(id)).toBe(true);

  const none = await api.call<Page>(
    'GET',
    '/v1/dead-letters?reason=reply_timeout&since=2000-01-01T00:00:00Z&until=2000-01-02T00:00:00Z',
  );
  expect(none.body.items).toEqual([]);

  const one = await api.call<DeadLetter>('GET', `/v1/dead-letters/${ids[0]}`);
  expect(one.status).toBe(200);
  expect(one.body).toMatchObject({ id: ids[0], reason: 'permanent_error', state: 'dead_lettered', round: 1 });
  expect(one.body.attempts).toHaveLength(1);

  const badCursor = await api.call('GET', '/v1/dead-letters?cursor=nope');
  expect(badCursor.status).toBe(400);
  const badReason = await api.call('GET', '/v1/dead-letters?reason=bored');
  expect(badReason.status).toBe(400);
});

test('redrive one: the parked workflow resumes and delivers; a second redrive is 409', async () => {
  const [id] = await deadLettered('/dl-one');
  downstream.script('/dl-one', [{ status: 200 }]);
  const response = await api.call('POST', `/v1/dead-letters/${id}/redrive`);
  expect(response.status).toBe(200);
  expect(response.body).toMatchObject({ id, mode: 'resumed' });
  await herald.waitForState(id!, 'delivered');
  expect((await api.call<DeadLetter>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('redriven');
  const again = await api.call('POST', `/v1/dead-letters/${id}/redrive`);
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ type: 'urn:herald:problem:redrive-not-allowed' });
});

test('discard: the record is marked discarded and the parked workflow ends', async () => {
  const [id] = await deadLettered('/dl-discard');
  const response = await api.call('DELETE', `/v1/dead-letters/${id}`);
  expect(response.status).toBe(200);
  expect(response.body).toEqual({ id, state: 'discarded' });
  const result = await herald.client.workflow.getHandle(id!).result();
  expect(result).toMatchObject({ state: 'dead_lettered', deadLetter: { discardedAt: expect.any(String) } });
  expect((await api.call<DeadLetter>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('discarded');
  expect((await api.call('DELETE', `/v1/dead-letters/${id}`)).status).toBe(409);
  expect((await api.call('POST', `/v1/dead-letters/${id}/redrive`)).status).toBe(409);
});

describe('after retention ended', () => {
  let shortHerald: TestHerald;
  let shortApi: TestApi;

  beforeAll(async () => {
    shortHerald = await startTestHerald({ HERALD_DEAD_LETTER_RETENTION: '1s' });
    shortApi = await startTestApi(shortHerald);
  });
  afterAll(async () => {
    await shortApi?.close();
    await shortHerald?.stop();
  });

  test('redrive starts a new run with the stored message, linked to the old one', async () => {
    downstream.script('/dl-expired', [{ status: 400 }]);
    const response = await shortApi.call('POST', '/v1/messages', {
      json: { destination: { url: downstream.url('/dl-expired') }, body: { late: true } },
    });
    const { id } = response.body as { id: string };
    const firstRun = await shortHerald.client.workflow.getHandle(id).result();
    expect(firstRun.state).toBe('dead_lettered');

    downstream.script('/dl-expired', [{ status: 200 }]);
    const redrive = await shortApi.call<{ mode: string; runId: string; previousRunId: string }>(
      'POST',
      `/v1/dead-letters/${id}/redrive`,
    );
    expect(redrive.status).toBe(200);
    expect(redrive.body.mode).toBe('restarted');
    expect(redrive.body.runId).not.toBe(redrive.body.previousRunId);
    const newRun = await shortHerald.waitForState(id, 'delivered');
    expect(newRun.id).toBe(id);
    const description = await shortHerald.client.workflow.getHandle(id).describe();
    expect(description.runId).toBe(redrive.body.runId);
    expect(description.memo?.redriveOf).toMatchObject({ runId: redrive.body.previousRunId, round: 1 });
    expect(downstream.requests('/dl-expired').map((r) => r.body)).toEqual(['{"late":true}', '{"late":true}']);
    expect((await shortApi.call<DeadLetter>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('redriven');
  });
});

test('bulk redrive of 100 dead letters brings all 100 back into delivery', async () => {
  const ids = await deadLettered('/dl-bulk', 100);
  downstream.script('/dl-bulk', [{ status: 200 }]);
  const startedAt = Date.now();
  const response = await api.call<{ matched: number; redriven: number; failed: unknown[] }>(
    'POST',
    '/v1/dead-letters/redrive',
    {
      json: { reason: 'permanent_error', destination: `127.0.0.1:${downstream.port}` },
    },
  );
  const elapsed = Date.now() - startedAt;
  expect(response.status).toBe(200);
  expect(response.body.failed).toEqual([]);
  expect(response.body.redriven).toBeGreaterThanOrEqual(100);
  // Paced at 200 per second: 100 take at least half a second.
  expect(elapsed).toBeGreaterThanOrEqual(450);
  for (const id of ids) await herald.waitForState(id, 'delivered', 60_000);
  const deliveredBodies = downstream.requests('/dl-bulk').filter((r) => r.headers['idempotency-key']);
  expect(new Set(deliveredBodies.map((r) => r.headers['idempotency-key'])).size).toBe(100);
  expect(deliveredBodies).toHaveLength(200);
  const remaining = await api.call<Page>(
    'GET',
    `/v1/dead-letters?state=dead_lettered&destination=127.0.0.1:${downstream.port}&limit=500`,
  );
  expect(remaining.body.items.filter((item) => ids.includes(item.id))).toEqual([]);
}, 180_000);
