/**
 * Admission control against a real Temporal dev server and real HTTP: with no worker on the task queue
 * the workflow task backlog grows until the API refuses new messages (429, Retry-After, problem body),
 * while resends, reads and cancels still go through; a worker starting drains the backlog and new
 * messages are accepted again; the TypeScript client's outbox keeps a refused message and sends it then. Each
 * shedding episode is logged once each way.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { HeraldClient } from '../../src/client';
import { API_KEY, type TestResponse } from '../helpers/api';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';
import { eventually } from '../helpers/eventually';

const MAX_BACKLOG = 3;
const lines: Record<string, unknown>[] = [];
let fixture: HeraldFixture;

beforeAll(async () => {
  fixture = await startFixture({
    worker: false,
    api: true,
    logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
    env: {
      HERALD_ADMISSION: 'on',
      HERALD_ADMISSION_MAX_BACKLOG: String(MAX_BACKLOG),
      HERALD_ADMISSION_POLL_INTERVAL: '100ms',
      HERALD_ADMISSION_MAX_RETRY_AFTER: '3s',
      // Only the backlog decides here: a loaded test machine must not shed on start latency instead.
      HERALD_ADMISSION_MAX_START_LATENCY: '1m',
    },
  });
});

function message(id?: string, n = 1) {
  return {
    ...(id === undefined ? {} : { id }),
    destination: { url: fixture.downstream.url('/admission') },
    body: { n },
  };
}

const transitions = () => lines.filter((line) => line.admission !== undefined).map((line) => line.admission);

test('a growing backlog refuses new messages with 429; resends, reads and cancels pass; a worker drains it', async () => {
  const accepted: string[] = [];
  // No worker polls: every accepted message's first workflow task waits. Temporal's stats lag by a few
  // seconds, so messages are accepted until the backlog it reports passes the limit.
  const refused = await eventually(
    async () => {
      const id = uniqueId('msg_adm');
      const response = await fixture.api.call('POST', '/v1/messages', { json: message(id) });
      if (response.status === 202) accepted.push(id);
      return response;
    },
    { until: (r) => r.status === 429, timeoutMs: 60_000, intervalMs: 200, what: 'a 429 from admission control' },
  );
  expect(accepted.length).toBeGreaterThan(MAX_BACKLOG);
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  const retryAfter = Number(refused.headers['retry-after']);
  // No worker dispatches anything, so the drain estimate is the cap (3 s).
  expect(retryAfter).toBe(3);
  expect(refused.body).toMatchObject({
    type: 'urn:herald:problem:rate-limited',
    status: 429,
    reason: 'backlog',
    retryAfterSeconds: retryAfter,
    instance: '/v1/messages',
  });
  expect(refused.body.detail).toMatch(
    new RegExp(
      `^Temporal is behind: \\d+ workflow tasks wait for a worker \\(limit ${MAX_BACKLOG}\\); retry after 3 s$`,
    ),
  );
  const backlog = refused.body.backlog as Record<string, number>;
  expect(backlog.workflowTasks).toBeGreaterThan(MAX_BACKLOG);
  expect(backlog.workflowTaskAgeMs).toBeGreaterThan(0);

  // A message without an id is new by definition: refused without asking Temporal.
  expect((await fixture.api.call('POST', '/v1/messages', { json: message() })).status).toBe(429);
  // A resend of an accepted message answers as ever: 200 with the same content, 409 with other content.
  const [first, second] = accepted as [string, string];
  const resend = await fixture.api.call('POST', '/v1/messages', { json: message(first) });
  expect(resend.status).toBe(200);
  expect(resend.body).toMatchObject({ id: first, existing: true });
  const header = await fixture.api.call('POST', '/v1/messages', {
    json: message(),
    headers: { 'idempotency-key': first },
  });
  expect(header.status).toBe(200);
  expect((await fixture.api.call('POST', '/v1/messages', { json: message(first, 2) })).status).toBe(409);
  // Reads and cancels are never refused (a cancel lowers the load).
  expect((await fixture.api.call('GET', `/v1/messages/${first}`)).status).toBe(200);
  expect((await fixture.api.call('POST', `/v1/messages/${second}/cancel`, { json: {} })).status).toBe(202);
  expect(fixture.api.app.admission.controller.shedding).toBe(true);

  // The TypeScript client's outbox keeps a refused message and sends it once Herald admits again.
  const dir = mkdtempSync(join(tmpdir(), 'herald-admission-outbox-'));
  const client = new HeraldClient({
    baseUrl: fixture.api.url,
    apiKey: API_KEY,
    outbox: { path: join(dir, 'outbox.sqlite'), retry: { initialIntervalMs: 100, maximumIntervalMs: 1000 } },
  });
  const queued = await client.send(message(uniqueId('msg_adm_outbox')));
  expect(queued.state).toBe('queued');
  expect(client.outbox.pending()).toBe(1);

  await fixture.startWorkerProcess();
  const admitted: TestResponse = await eventually(
    () => fixture.api.call('POST', '/v1/messages', { json: message(uniqueId('msg_adm')) }),
    { until: (r) => r.status === 202, timeoutMs: 60_000, intervalMs: 200, what: 'admission to resume' },
  );
  expect(admitted.status).toBe(202);
  // Every message accepted before and during shedding is delivered: none was lost to the refusals.
  for (const id of [...accepted.filter((id) => id !== second), (admitted.body as { id: string }).id]) {
    await fixture.herald.waitForState(id, 'delivered', 60_000);
  }
  await eventually(() => client.outbox.pending() === 0, { what: 'the outbox to send its message', timeoutMs: 60_000 });
  await fixture.herald.waitForState(queued.id, 'delivered', 60_000);
  await client.close();
  rmSync(dir, { recursive: true, force: true });
  expect(transitions()).toEqual(['shedding', 'admitting']);
  const shedding = lines.find((line) => line.admission === 'shedding')!;
  expect(shedding).toMatchObject({ reason: 'backlog', level: 40 });
  expect(String(shedding.msg)).toMatch(/^admission: refusing new messages \(429\): Temporal is behind: /);
  const resumed = lines.find((line) => line.admission === 'admitting')!;
  expect(resumed.refusedInEpisode).toBeGreaterThanOrEqual(2);
  expect(fixture.api.app.admission.counters.sheddingEpisodes).toBe(1);
}, 180_000);
