/** /v1/dead-letters end to end: list, get, redrive (resumed and restarted), bulk redrive of 100, discard. */
import type { MessageStatus } from '../../src/contract/message-status';
import type { TestApi } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import type { TestHerald } from '../helpers/herald';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  // Pace bulk redrives fast enough for a test, slow enough to be a pace.
  // The bulk test counts requests exactly: an attempt timeout above the tests' 2 s keeps a loaded machine
  // (100 messages at once on 2 cores) from timing an answered attempt out and sending it again.
  ({ herald, api, downstream } = await startFixture({
    env: { HERALD_REDRIVE_RATE: '200', HERALD_RETRY_ATTEMPT_TIMEOUT: '15s' },
    api: true,
  }));
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

async function deadLettered(
  path: string,
  count = 1,
  extra: Record<string, unknown> = {},
  target: Downstream = downstream,
): Promise<string[]> {
  target.script(path, [{ status: 400 }]);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await api.call('POST', '/v1/messages', {
      json: { destination: { url: target.url(path) }, body: { i }, ...extra },
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
  expect(result).toMatchObject({ state: 'discarded', deadLetter: { discardedAt: expect.any(String) } });
  expect((await api.call<DeadLetter>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('discarded');
  await recordHistory(herald.client, id!, 'dead-letter-discarded');
  expect((await api.call('DELETE', `/v1/dead-letters/${id}`)).status).toBe(409);
  expect((await api.call('POST', `/v1/dead-letters/${id}/redrive`)).status).toBe(409);
});

describe('after retention ended', () => {
  let short: HeraldFixture;
  let shortHerald: TestHerald;
  let shortApi: TestApi;

  beforeAll(async () => {
    short = await startFixture({ env: { HERALD_DEAD_LETTER_RETENTION: '1s' }, api: true });
    shortHerald = short.herald;
    shortApi = short.api;
  });
  afterAll(() => short?.close());

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

  test('a restarted run that fails again is dead-lettered again, with fresh events and a new callback', async () => {
    downstream.script('/dl-twice', [{ status: 400 }]);
    const response = await shortApi.call('POST', '/v1/messages', {
      json: {
        destination: { url: downstream.url('/dl-twice') },
        body: {},
        callback: { url: downstream.url('/dl-twice-cb') },
      },
    });
    const { id } = response.body as { id: string };
    expect((await shortHerald.client.workflow.getHandle(id).result()).state).toBe('dead_lettered');
    expect((await shortApi.call('POST', `/v1/dead-letters/${id}/redrive`)).body).toMatchObject({ mode: 'restarted' });
    const second = await shortHerald.client.workflow.getHandle(id).result();
    expect(second).toMatchObject({ state: 'dead_lettered', deadLetter: { round: 2 } });
    expect((second as MessageStatus).attempts.map((a) => a.round)).toEqual([2]);

    const record = await shortApi.call<DeadLetter>('GET', `/v1/dead-letters/${id}`);
    expect(record.body).toMatchObject({ state: 'dead_lettered', round: 2 });
    await recordHistory(shortHerald.client, id, 'restarted-run-dead-lettered-again');
    // Redrivable again.
    expect((await shortApi.call('POST', `/v1/dead-letters/${id}/redrive`)).status).toBe(200);

    const events = await shortHerald.events.read({ afterId: 0, messageId: id, limit: 100 });
    expect(events.filter((e) => e.state === 'dead_lettered')).toHaveLength(2);
    expect(new Set(events.map((e) => e.runId)).size).toBeGreaterThanOrEqual(2);
    await eventually(() => downstream.requests('/dl-twice-cb').length >= 2, { what: 'both callbacks' });
    expect(downstream.requests('/dl-twice-cb').map((r) => r.headers['webhook-id'])).toEqual([
      `${id}.callback-1`,
      `${id}.callback-r2-1`,
    ]);
  });
});

test('bulk redrive of 100 dead letters brings exactly those 100 back into delivery', async () => {
  // A receiver of its own, so the filter matches exactly these 100.
  const bulk = await startDownstream();
  try {
    const ids = await deadLettered('/dl-bulk', 100, {}, bulk);
    bulk.script('/dl-bulk', [{ status: 200 }]);
    const startedAt = Date.now();
    const response = await api.call<{ matched: number; redriven: number; failed: unknown[] }>(
      'POST',
      '/v1/dead-letters/redrive',
      {
        json: { reason: 'permanent_error', destination: `127.0.0.1:${bulk.port}` },
      },
    );
    const elapsed = Date.now() - startedAt;
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ matched: 100, redriven: 100, failed: [] });
    // Paced at 200 per second: 100 take at least half a second.
    expect(elapsed).toBeGreaterThanOrEqual(450);
    for (const id of ids) await herald.waitForState(id, 'delivered', 60_000);
    const requests = bulk.requests('/dl-bulk');
    expect(new Set(requests.map((r) => r.headers['idempotency-key'])).size).toBe(100);
    expect(requests).toHaveLength(200);
    const remaining = await api.call<Page>(
      'GET',
      `/v1/dead-letters?state=dead_lettered&destination=127.0.0.1:${bulk.port}&limit=500`,
    );
    expect(remaining.body.items).toEqual([]);
  } finally {
    await bulk.close();
  }
}, 180_000);

test('credentials in a dead letter’s headers are not echoed back', async () => {
  const [id] = await deadLettered('/dl-secret', 1, {
    destination: {
      url: downstream.url('/dl-secret'),
      headers: { Authorization: 'Bearer s3cret', 'X-Api-Key': 'k3y', 'X-Tenant': 'acme' },
    },
  });
  expect(downstream.requests('/dl-secret')[0]?.headers.authorization).toBe('Bearer s3cret');
  const record = await api.call<DeadLetter & { message: { destination: { headers: Record<string, string> } } }>(
    'GET',
    `/v1/dead-letters/${id}`,
  );
  expect(record.body.message.destination.headers).toEqual({
    Authorization: '[redacted]',
    'X-Api-Key': '[redacted]',
    'X-Tenant': 'acme',
  });
  const listed = await api.call<{
    items: { id: string; message: { destination: { headers?: Record<string, string> } } }[];
  }>('GET', '/v1/dead-letters?limit=500');
  expect(listed.body.items.find((item) => item.id === id)?.message.destination.headers?.Authorization).toBe(
    '[redacted]',
  );
});
