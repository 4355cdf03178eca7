/**
 * Limits per API key against the real API: the request rate (HERALD_RATE_LIMIT) answers 429 with
 * Retry-After beyond it and lets the key in again once the window opens, without touching other keys;
 * the in-flight limit (HERALD_MAX_IN_FLIGHT_PER_KEY, counted through Temporal visibility) refuses a new
 * message but never a resend, and accepts again once messages settle; the TypeScript client reports the
 * 429 with its Retry-After and the outbox keeps every message until the API takes it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HeraldApiError, HeraldClient, isTransientFailure } from '../../src/client';
import { API_KEY, OTHER_API_KEY, type TestApi } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

interface RateLimited {
  type: string;
  status: number;
  reason: string;
  retryAfterSeconds: number;
  detail: string;
  inFlight?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a request rate per key', () => {
  let fixture: HeraldFixture;
  let api: TestApi;
  let dir: string;

  beforeAll(async () => {
    fixture = await startFixture({ api: true, env: { HERALD_RATE_LIMIT: '5/3s' } });
    ({ api } = fixture);
    dir = mkdtempSync(join(tmpdir(), 'herald-key-limits-'));
  });
  afterAll(async () => {
    await fixture.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Waits until the key's window has opened again (at most one window). */
  async function freshWindow(key = API_KEY) {
    await eventually(
      async () =>
        (await api.call('GET', '/v1/dead-letters?limit=1', { headers: { authorization: `Bearer ${key}` } })).status ===
        200,
      { what: 'the window to open', timeoutMs: 10_000 },
    );
    await sleep(3_100);
  }

  test('429 with Retry-After past the limit, other keys and health unaffected, then recovery', async () => {
    await freshWindow();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await api.call('GET', '/v1/dead-letters?limit=1')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const refused = await api.call<RateLimited>('GET', '/v1/dead-letters?limit=1');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toContain('application/problem+json');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3);
    expect(refused.headers['x-ratelimit-limit']).toBe('5');
    expect(refused.body).toMatchObject({
      type: 'urn:herald:problem:rate-limited',
      status: 429,
      reason: 'key-request-rate',
      retryAfterSeconds: retryAfter,
    });
    expect(refused.body.detail).toBe(
      `API key "tests" made more than 5 requests in 3 s (HERALD_RATE_LIMIT); retry after ${retryAfter} s`,
    );
    // A send is refused the same way, before its body is read; the other key and health are not.
    const send = await api.call<RateLimited>('POST', '/v1/messages', {
      json: { destination: { url: fixture.downstream.url('/rl') } },
    });
    expect(send.status).toBe(429);
    const other = await api.call('GET', '/v1/dead-letters?limit=1', {
      headers: { authorization: `Bearer ${OTHER_API_KEY}` },
    });
    expect(other.status).toBe(200);
    expect((await api.call('GET', '/healthz', { headers: { authorization: null } })).status).toBe(200);
    await sleep(retryAfter * 1000 + 100);
    expect((await api.call('GET', '/v1/dead-letters?limit=1')).status).toBe(200);
  }, 30_000);

  test('the client reports the 429 with its Retry-After; the outbox keeps every message until it is taken', async () => {
    await freshWindow(OTHER_API_KEY);
    const direct = new HeraldClient({ baseUrl: api.url, apiKey: OTHER_API_KEY });
    const queued = new HeraldClient({
      baseUrl: api.url,
      apiKey: OTHER_API_KEY,
      outbox: {
        path: join(dir, 'outbox.sqlite'),
        retry: { initialIntervalMs: 50, maximumIntervalMs: 10_000, jitter: 0 },
      },
    });
    try {
      const message = (id: string) => ({ id, destination: { url: fixture.downstream.url(`/${id}`) }, body: { id } });
      for (let i = 0; i < 5; i += 1) expect((await direct.send(message(uniqueId('rl-direct')))).state).toBe('accepted');
      const error = await direct.send(message(uniqueId('rl-direct'))).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(HeraldApiError);
      expect(error).toMatchObject({ status: 429, type: 'urn:herald:problem:rate-limited' });
      expect(isTransientFailure(error as HeraldApiError)).toBe(true);
      expect((error as HeraldApiError).retryAfterMs).toBeGreaterThanOrEqual(1000);
      expect((error as HeraldApiError).problem).toMatchObject({ reason: 'key-request-rate' });

      // Still in the same window: the outbox keeps each message and sends it once the window opens.
      const ids = Array.from({ length: 3 }, () => uniqueId('rl-outbox'));
      for (const id of ids) expect((await queued.send(message(id))).state).toBe('queued');
      expect(queued.outbox.pending()).toBe(3);
      await eventually(() => queued.outbox.pending() === 0, { what: 'the outbox to empty', timeoutMs: 30_000 });
      await freshWindow(OTHER_API_KEY);
      for (const id of ids) {
        const status = await api.call('GET', `/v1/messages/${id}`, {
          headers: { authorization: `Bearer ${OTHER_API_KEY}` },
        });
        expect(status.status).toBe(200);
      }
    } finally {
      await direct.close();
      await queued.close();
    }
  }, 60_000);
});

describe('messages in flight per key', () => {
  const KEY_NAME = uniqueId('inflight-key');
  const BURST_KEY = 'burst-key-0123456789abcdef';
  let fixture: HeraldFixture;
  let api: TestApi;

  beforeAll(async () => {
    // No worker at first: accepted messages stay in flight until the test starts one.
    // Key names of their own: visibility counts a name's messages across the namespace, which other test
    // files share (with the usual test key names).
    fixture = await startFixture({
      api: true,
      worker: false,
      env: {
        HERALD_MAX_IN_FLIGHT_PER_KEY: '2',
        HERALD_API_KEYS: `${KEY_NAME}:${API_KEY},${KEY_NAME}-other:${OTHER_API_KEY},${KEY_NAME}-burst:${BURST_KEY}`,
      },
    });
    ({ api } = fixture);
  });
  afterAll(() => fixture.close());

  const message = (id: string) => ({ id, destination: { url: fixture.downstream.url(`/${id}`) }, body: { id } });

  test('a concurrent burst of one key gets exactly the free slots', async () => {
    const sends = Array.from({ length: 6 }, () =>
      api.call('POST', '/v1/messages', {
        json: message(uniqueId('burst')),
        headers: { authorization: `Bearer ${BURST_KEY}` },
      }),
    );
    const statuses = (await Promise.all(sends)).map((response) => response.status).sort();
    expect(statuses).toEqual([202, 202, 429, 429, 429, 429]);
  });

  test('a new message past the limit is refused, a resend never; after they settle the key sends again', async () => {
    const [first, second, third] = [uniqueId('inflight'), uniqueId('inflight'), uniqueId('inflight')];
    expect((await api.call('POST', '/v1/messages', { json: message(first) })).status).toBe(202);
    expect((await api.call('POST', '/v1/messages', { json: message(second) })).status).toBe(202);
    const refused = await api.call<RateLimited>('POST', '/v1/messages', { json: message(third) });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.body).toMatchObject({
      type: 'urn:herald:problem:rate-limited',
      reason: 'key-in-flight',
      retryAfterSeconds: 2,
      inFlight: 2,
    });
    expect(refused.body.detail).toBe(
      `API key "${KEY_NAME}" has 2 messages in flight (HERALD_MAX_IN_FLIGHT_PER_KEY 2); retry after 2 s`,
    );
    // A resend answers as always (200, the message that exists), and another key has its own count.
    expect((await api.call('POST', '/v1/messages', { json: message(first) })).status).toBe(200);
    const others = await api.call('POST', '/v1/messages', {
      json: message(uniqueId('inflight-other')),
      headers: { authorization: `Bearer ${OTHER_API_KEY}` },
    });
    expect(others.status).toBe(202);
    // Still refused a little later: the count comes from visibility now, not from this host's memory.
    await sleep(1_200);
    expect((await api.call('POST', '/v1/messages', { json: message(third) })).status).toBe(429);

    await fixture.startWorkerProcess();
    await fixture.herald.waitForState(first, 'delivered', 30_000);
    await fixture.herald.waitForState(second, 'delivered', 30_000);
    await eventually(async () => (await api.call('POST', '/v1/messages', { json: message(third) })).status === 202, {
      what: 'the key to be let in again',
      timeoutMs: 20_000,
    });
  }, 90_000);
});
