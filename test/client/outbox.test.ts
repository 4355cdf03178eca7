/**
 * The client-side outbox against the real API, stopped and restarted on its port: no message handed to
 * send() is lost while the API is down, a restarted process drains what an earlier one queued, and each
 * message is accepted and delivered exactly once.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  HeraldApiError,
  HeraldClient,
  type OutboxBackoffEvent,
  type OutboxFailedEvent,
  type OutboxOptions,
  type OutboxSentEvent,
} from '../../src/client';
import { API_KEY } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';
import { restartableApi, type RestartableApi } from './restartable-api';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** Fast retries for tests; the defaults start at a second. */
const FAST_RETRY = { initialIntervalMs: 100, maximumIntervalMs: 400, jitter: 0.2 };

let api: RestartableApi;
let downstream: Downstream;
let dir: string;
const clients: HeraldClient[] = [];

beforeAll(async () => {
  const fixture = await startFixture();
  ({ downstream } = fixture);
  api = await restartableApi(fixture);
  await api.start();
  dir = mkdtempSync(join(tmpdir(), 'herald-outbox-'));
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => api.start());

function outboxClient(name: string, options: Partial<OutboxOptions> = {}) {
  const client = new HeraldClient({
    baseUrl: api.url,
    apiKey: API_KEY,
    requestTimeoutMs: 3_000,
    outbox: { path: join(dir, `${name}.sqlite`), retry: FAST_RETRY, ...options },
  });
  clients.push(client);
  const events = {
    sent: [] as OutboxSentEvent[],
    failed: [] as OutboxFailedEvent[],
    backoff: [] as OutboxBackoffEvent[],
  };
  client.outbox.on('sent', (event) => events.sent.push(event));
  client.outbox.on('failed', (event) => events.failed.push(event));
  client.outbox.on('backoff', (event) => events.backoff.push(event));
  return { client, events };
}

/** How many times the downstream received each message (by the Idempotency-Key Herald sends). */
function deliveriesByKey(path: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of downstream.requests(path)) {
    const key = String(request.headers['idempotency-key']);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

async function expectDeliveredOnce(client: HeraldClient, ids: string[], path: string): Promise<void> {
  for (const id of ids) expect((await client.message(id).result({ timeout: '30s' })).state).toBe('delivered');
  const counts = deliveriesByKey(path);
  expect([...counts.keys()].sort()).toEqual([...ids].sort());
  expect([...counts.values()].every((count) => count === 1)).toBe(true);
}

test('API down: a process queues a burst of 20 and exits on its own; a new process drains it, each delivered once', async () => {
  const path = join(dir, 'burst.sqlite');
  await api.stop();

  // Another process sends while the API is down and never calls close(): its unref'd loop must let it exit.
  const script = `
    require('tsx/cjs');
    const { HeraldClient } = require('./src/client.ts');
    (async () => {
      const herald = new HeraldClient({
        baseUrl: ${JSON.stringify(api.url)}, apiKey: ${JSON.stringify(API_KEY)},
        outbox: { path: ${JSON.stringify(path)}, retry: { initialIntervalMs: 50, maximumIntervalMs: 100, jitter: 0 } },
      });
      const sent = await Promise.all(Array.from({ length: 20 }, (_, i) =>
        herald.send({ destination: { url: ${JSON.stringify(downstream.url('/burst'))} }, body: { i } })));
      console.log(JSON.stringify(sent.map(({ id, state, existing }) => ({ id, state, existing }))));
    })();`;
  const child = await run(process.execPath, ['-e', script], { cwd: ROOT, timeout: 20_000 });
  const sent = JSON.parse(child.stdout) as { id: string; state: string; existing: boolean }[];
  expect(sent).toHaveLength(20);
  expect(sent.every((message) => message.state === 'queued' && /^msg_[0-9a-z]{26}$/.test(message.id))).toBe(true);
  expect(new Set(sent.map((message) => message.id)).size).toBe(20);
  expect(downstream.requests('/burst')).toHaveLength(0);

  await api.start();
  const { client, events } = outboxClient('burst');
  expect(client.outbox.pending()).toBeGreaterThan(0);
  await eventually(() => client.outbox.pending() === 0, {
    what: 'the new client drained the outbox',
    timeoutMs: 30_000,
  });

  const ids = sent.map((message) => message.id);
  await expectDeliveredOnce(client, ids, '/burst');
  // Each accepted exactly once: as new (not as a resend of something the API already had).
  expect(events.sent.map((event) => event.id).sort()).toEqual([...ids].sort());
  expect(events.sent.every((event) => !event.existing && event.state === 'accepted')).toBe(true);
  expect(events.failed).toEqual([]);
});

test('API stops mid-burst: what was accepted stays accepted, the rest is queued and drained by the same client', async () => {
  const { client, events } = outboxClient('mid-burst');
  const message = (i: number) => ({ destination: { url: downstream.url('/mid-burst') }, body: { i } });

  const before = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((i) => client.send(message(i))));
  expect(before.map((sent) => sent.state)).toEqual(Array(10).fill('accepted'));
  expect(client.outbox.pending()).toBe(0);

  await api.stop();
  const during: { id: string; state: string }[] = [];
  for (let i = 10; i < 20; i++) during.push(await client.send(message(i)));
  expect(during.map((sent) => sent.state)).toEqual(Array(10).fill('queued'));
  expect(client.outbox.pending()).toBe(10);
  // The loop keeps trying, backing off, while the API is away.
  await eventually(() => events.backoff.length >= 2, { what: 'the loop backed off twice', timeoutMs: 30_000 });
  expect(events.backoff[0]!.error.name).toBe('HeraldUnreachableError');
  expect(events.backoff.every((event) => event.delayMs <= FAST_RETRY.maximumIntervalMs)).toBe(true);
  expect(client.outbox.pending()).toBe(10);

  await api.start();
  await eventually(() => client.outbox.pending() === 0, { what: 'the loop drained the outbox', timeoutMs: 30_000 });
  await expectDeliveredOnce(
    client,
    [...before, ...during].map((sent) => sent.id),
    '/mid-burst',
  );
  expect(events.sent.map((event) => event.id).sort()).toEqual(during.map((sent) => sent.id).sort());
  expect(events.sent.every((event) => !event.existing)).toBe(true);
  expect(events.failed).toEqual([]);
});

test('two clients draining one outbox at once never send the same message twice', async () => {
  await api.stop();
  const first = outboxClient('shared', { enabled: false });
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    ids.push((await first.client.send({ destination: { url: downstream.url('/shared') }, body: { i } })).id);
  }
  const second = outboxClient('shared', { enabled: false });
  expect(second.client.outbox.pending()).toBe(12);
  await api.start();

  const [a, b] = await Promise.all([first.client.outbox.drain(), second.client.outbox.drain()]);
  expect(a.sent + b.sent).toBe(12);
  expect([...first.events.sent, ...second.events.sent].every((event) => !event.existing)).toBe(true);
  await expectDeliveredOnce(first.client, ids, '/shared');
});

test('a queued message the API refuses is removed, recorded as failed and emitted; its result() rejects', async () => {
  // Paused, so that only drain() sends: the pass under test is the one whose result is asserted.
  const { client, events } = outboxClient('refused', { enabled: false });
  await api.stop();
  const good = await client.send({ destination: { url: downstream.url('/refused-ok') }, body: {} });
  const bad = await client.send({ destination: { url: 'http://10.1.2.3/internal' }, body: {} });
  expect([good.state, bad.state]).toEqual(['queued', 'queued']);
  await api.start();

  const drained = await client.outbox.drain();
  expect(drained).toEqual({ sent: 1, failed: 1, pending: 0 });
  expect(events.failed).toHaveLength(1);
  expect(events.failed[0]).toMatchObject({
    id: bad.id,
    message: { id: bad.id },
    error: { name: 'HeraldApiError', status: 422 },
  });
  expect(client.outbox.failures()).toEqual([
    expect.objectContaining({
      id: bad.id,
      problem: expect.objectContaining({ type: 'urn:herald:problem:destination-not-allowed' }),
    }),
  ]);
  const refused = bad.result({ timeout: '10s' });
  await expect(refused).rejects.toBeInstanceOf(HeraldApiError);
  await expect(refused).rejects.toMatchObject({ status: 422 });
  expect((await good.result({ timeout: '30s' })).state).toBe('delivered');

  // Refused while send() still waits: send() rejects, nothing stays queued and nothing is emitted.
  client.outbox.resume();
  const direct = client.send({ destination: { url: 'http://10.1.2.3/other' }, body: {} });
  await expect(direct).rejects.toBeInstanceOf(HeraldApiError);
  await expect(direct).rejects.toMatchObject({ status: 422, type: 'urn:herald:problem:destination-not-allowed' });
  expect(client.outbox.pending()).toBe(0);
  expect(client.outbox.failures()).toHaveLength(1);
  expect(events.failed).toHaveLength(1);
});

test('pause() only queues, resume() drains; configure() shortens a long backoff at runtime', async () => {
  const { client } = outboxClient('switch', { enabled: false });
  expect(client.outbox.isPaused).toBe(true);
  const held = await client.send({ destination: { url: downstream.url('/switch') }, body: { held: true } });
  expect(held.state).toBe('queued');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(downstream.requests('/switch')).toHaveLength(0);
  expect(client.outbox.pending()).toBe(1);
  client.outbox.resume();
  await eventually(() => client.outbox.pending() === 0, { what: 'resume() drained the outbox', timeoutMs: 30_000 });
  expect((await held.result({ timeout: '30s' })).state).toBe('delivered');

  // A minute between attempts: after the API is back, the queued message waits...
  client.outbox.configure({ initialIntervalMs: 60_000, maximumIntervalMs: 60_000, jitter: 0 });
  await api.stop();
  const slow = await client.send({ destination: { url: downstream.url('/switch') }, body: { slow: true } });
  expect(slow.state).toBe('queued');
  await api.start();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(client.outbox.pending()).toBe(1);
  // ...until the interval is shortened at runtime.
  client.outbox.configure({ initialIntervalMs: 50, maximumIntervalMs: 200 });
  expect(client.outbox.retrySettings).toEqual({ initialIntervalMs: 50, maximumIntervalMs: 200, jitter: 0 });
  await eventually(() => client.outbox.pending() === 0, {
    what: 'the shortened backoff drained the outbox',
    timeoutMs: 5_000,
  });
  expect((await slow.result({ timeout: '30s' })).state).toBe('delivered');

  expect(() => client.outbox.configure({ jitter: 2 })).toThrow(RangeError);
  expect(() => client.outbox.configure({ initialIntervalMs: 500, maximumIntervalMs: 100 })).toThrow(RangeError);
});

test('close() stops the loop and closes the file; the outbox is then unusable', async () => {
  const { client } = outboxClient('closing');
  await client.close();
  expect(() => client.outbox.pending()).toThrow(expect.objectContaining({ name: 'ClientClosedError' }));
  await expect(client.send({ destination: { url: downstream.url('/closed') } })).rejects.toMatchObject({
    name: 'ClientClosedError',
  });
});
