/**
 * Metrics from a real run: a Herald (worker with its metrics listener, and the API) against the suite's
 * Temporal dev server and a downstream on 127.0.0.1, on the SQLite store and on PostgreSQL. Messages are
 * delivered, retried, refused and dead-lettered; the API's /metrics and the worker's listener are scraped
 * over HTTP and their samples read. The worker's registry is its own, so the counts are exact.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { request } from 'undici';
import { startMetricsListener } from '../../src/observability/metrics-listener';
import { callApi } from '../helpers/api';
import { closedPort } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { createTestDatabase, freePort } from '../helpers/postgres';
import { parseExposition, sampleValue, type Sample } from '../helpers/prometheus-text';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Sample[]> {
  const response = await request(url, { headers });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`scrape of ${url} answered ${response.statusCode}: ${text}`);
  return parseExposition(text);
}

describe.each([
  ['SQLite', async () => ({})],
  ['PostgreSQL', async () => ({ HERALD_DATABASE_URL: await createTestDatabase('herald_metrics') })],
])('metrics of a run on %s', (_store, storeEnv) => {
  let fixture: HeraldFixture;
  let workerUrl: string;
  const sent: string[] = [];

  beforeAll(async () => {
    fixture = await startFixture({
      env: { ...(await storeEnv()), HERALD_METRICS_PORT: '0', HERALD_RETRY_MAXIMUM_ATTEMPTS: '2' },
      api: true,
    });
    workerUrl = fixture.worker!.metricsUrl!;
  });
  afterAll(() => fixture?.close());

  async function send(url: string, extra: Record<string, unknown> = {}): Promise<{ status: number; id: string }> {
    const response = await fixture.api.call<{ id: string }>('POST', '/v1/messages', {
      json: { destination: { url }, body: { n: sent.length }, ...extra },
    });
    if (response.body.id) sent.push(response.body.id);
    return { status: response.status, id: response.body.id };
  }

  test('sends, attempts, outcomes and the dead-letter queue are counted as they happen', async () => {
    const { downstream, herald } = fixture;
    downstream.script('/ok', [{ status: 200 }]);
    downstream.script('/flaky', [{ status: 503 }, { status: 200 }]);
    downstream.script('/refuses', [{ status: 400 }]);
    const delivered = await send(downstream.url('/ok'));
    const retried = await send(downstream.url('/flaky'));
    const refused = await send(downstream.url('/refuses'));
    const goneUrl = `http://127.0.0.1:${await closedPort()}/gone`;
    const unreachable = await send(goneUrl);
    // The destination label is the host as in the URL (with its port), as HeraldDestination is.
    const host = new URL(downstream.url('/ok')).host;
    const goneHost = new URL(goneUrl).host;
    expect([delivered, retried, refused, unreachable].map((each) => each.status)).toEqual([202, 202, 202, 202]);
    // The same message again is an existing one; a bad one is refused with a 4xx.
    const again = await fixture.api.call('POST', '/v1/messages', {
      json: { id: delivered.id, destination: { url: downstream.url('/ok') }, body: { n: 0 } },
    });
    expect(again.status).toBe(200);
    expect((await fixture.api.call('POST', '/v1/messages', { json: { destination: {} } })).status).toBe(400);

    await herald.waitForState(delivered.id, 'delivered');
    await herald.waitForState(retried.id, 'delivered');
    await herald.waitForState(refused.id, 'dead_lettered');
    await herald.waitForState(unreachable.id, 'dead_lettered', 60_000);

    const api = await scrape(`${fixture.api.url}/metrics`);
    const accepted = (labels: Record<string, string>) => sampleValue(api, 'herald_messages_accepted_total', labels);
    expect(accepted({ outcome: 'accepted', status_class: '2xx' })).toBe(4);
    expect(accepted({ outcome: 'existing', status_class: '2xx' })).toBe(1);
    expect(accepted({ outcome: 'rejected', status_class: '4xx' })).toBe(1);
    expect(sampleValue(api, 'herald_accept_duration_seconds_count', { outcome: 'accepted' })).toBe(4);
    expect(sampleValue(api, 'herald_dead_letters_waiting', { reason: 'permanent_error', destination: host })).toBe(1);
    expect(
      sampleValue(api, 'herald_dead_letters_waiting', { reason: 'max_attempts_exhausted', destination: goneHost }),
    ).toBe(1);
    expect(sampleValue(api, 'herald_dead_letter_oldest_waiting_age_seconds')).toBeGreaterThan(0);
    expect(sampleValue(api, 'herald_dead_letter_store_up')).toBe(1);

    // The outcome of a run is recorded from its close: wait for the four to be counted.
    const worker = await eventually(() => scrape(workerUrl), {
      what: 'the four outcomes counted',
      until: (samples) =>
        samples.filter((s) => s.name === 'herald_messages_terminal_total').reduce((sum, s) => sum + s.value, 0) === 4,
    });
    const attempts = (labels: Record<string, string>) => sampleValue(worker, 'herald_delivery_attempts_total', labels);
    expect(attempts({ destination: host, outcome: 'delivered', status_class: '2xx' })).toBe(2);
    expect(attempts({ destination: host, outcome: 'retryable', status_class: '5xx' })).toBe(1);
    expect(attempts({ destination: host, outcome: 'permanent', status_class: '4xx' })).toBe(1);
    expect(attempts({ destination: goneHost, outcome: 'network', status_class: 'none' })).toBe(2);
    const durations = (destination: string) =>
      sampleValue(worker, 'herald_delivery_attempt_duration_seconds_count', { destination });
    expect([durations(host), durations(goneHost)]).toEqual([4, 2]);
    const terminal = (state: string, destination: string) =>
      sampleValue(worker, 'herald_messages_terminal_total', { state, destination });
    expect([terminal('delivered', host), terminal('dead_lettered', host), terminal('dead_lettered', goneHost)]).toEqual(
      [2, 1, 1],
    );
    expect(
      sampleValue(worker, 'herald_dead_letters_created_total', { reason: 'permanent_error', kind: 'message' }),
    ).toBe(1);
    expect(
      sampleValue(worker, 'herald_dead_letters_created_total', { reason: 'max_attempts_exhausted', kind: 'message' }),
    ).toBe(1);

    // Labels are bounded: no message id and no URL path in either exposition.
    const labelValues = [...api, ...worker].flatMap((sample) => Object.values(sample.labels));
    for (const id of sent) expect(labelValues).not.toContain(id);
    expect(labelValues.filter((value) => value.includes('/'))).toEqual([]);

    // A redrive to the healed downstream empties the queue of that reason, and is counted.
    downstream.script('/refuses', [{ status: 200 }]);
    expect((await fixture.api.call('POST', `/v1/dead-letters/${refused.id}/redrive`)).status).toBe(200);
    await herald.waitForState(refused.id, 'delivered');
    const after = await scrape(`${fixture.api.url}/metrics`);
    expect(sampleValue(after, 'herald_redrives_total', { mode: 'single' })).toBe(1);
    expect(sampleValue(after, 'herald_dead_letters_waiting', { reason: 'permanent_error' })).toBeUndefined();
    expect(sampleValue(after, 'herald_dead_letters_waiting', { reason: 'max_attempts_exhausted' })).toBe(1);
    // A bulk redrive counts what it redrove; a dry run counts nothing.
    await fixture.api.call('POST', '/v1/dead-letters/redrive', { json: { all: true, dryRun: true } });
    const bulk = await fixture.api.call<{ redriven: number }>('POST', '/v1/dead-letters/redrive', {
      json: { all: true },
    });
    expect(bulk.body.redriven).toBe(1);
    expect(sampleValue(await scrape(`${fixture.api.url}/metrics`), 'herald_redrives_total', { mode: 'bulk' })).toBe(1);
  }, 120_000);
});

describe('scraping', () => {
  let fixture: HeraldFixture;
  beforeAll(async () => {
    fixture = await startFixture({
      env: { HERALD_METRICS_TOKEN: 'scrape-token-1', HERALD_METRICS_PORT: '0' },
      api: true,
    });
  });
  afterAll(() => fixture?.close());

  test('with HERALD_METRICS_TOKEN, both /metrics ask for it and refuse anything else', async () => {
    const apiMetrics = `${fixture.api.url}/metrics`;
    const refused = await callApi(fixture.api.url, 'GET', '/metrics', { headers: { authorization: 'Bearer wrong' } });
    expect(refused.status).toBe(401);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    await expect(scrape(apiMetrics, { authorization: 'Bearer scrape-token-1' })).resolves.toEqual(expect.any(Array));
    // An API key is not the metrics token.
    expect((await callApi(fixture.api.url, 'GET', '/metrics')).status).toBe(401);
    const workerUrl = fixture.worker!.metricsUrl!;
    expect((await request(workerUrl)).statusCode).toBe(401);
    await expect(scrape(workerUrl, { authorization: 'Bearer scrape-token-1' })).resolves.toEqual(expect.any(Array));
    const elsewhere = await request(workerUrl.replace('/metrics', '/other'));
    expect(elsewhere.statusCode).toBe(404);
    await elsewhere.body.dump();
  });

  test('a worker process serves the Temporal SDK’s own metrics beside Herald’s, on one port', async () => {
    const port = await freePort();
    const worker = await fixture.startWorkerProcess({ HERALD_METRICS_PORT: String(port), HERALD_METRICS_TOKEN: '' });
    expect(worker.logs().find((line) => line.msg === 'worker metrics listening')).toMatchObject({
      url: `http://127.0.0.1:${port}/metrics`,
      sdkMetrics: true,
    });
    const samples = await eventually(() => scrape(`http://127.0.0.1:${port}/metrics`), {
      what: 'the SDK to report its pollers',
      until: (found) => found.some((s) => s.name === 'temporal_num_pollers'),
    });
    const queue = fixture.config().taskQueue;
    expect(samples.some((s) => s.name === 'temporal_num_pollers' && s.labels.task_queue === queue)).toBe(true);
    expect(samples.some((s) => s.name.startsWith('temporal_worker_task_slots'))).toBe(true);
    expect(sampleValue(samples, 'herald_worker_sdk_metrics_up', {})).toBe(1);
    // Herald's own series are served by the same listener.
    const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    expect(text).toContain('# TYPE herald_delivery_attempts_total counter');
  });

  test('an SDK exporter that does not answer is said so in the scrape and, once, in the log', async () => {
    const sdkMetricsUrl = `http://127.0.0.1:${await closedPort()}/metrics`;
    const lines: { msg: string; reason?: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const listener = await startMetricsListener({
      host: '127.0.0.1',
      port: 0,
      token: '',
      registry: new Registry(),
      sdkMetricsUrl,
      logger,
    });
    try {
      for (let scrapes = 0; scrapes < 2; scrapes++) {
        const samples = await scrape(listener.url);
        expect(sampleValue(samples, 'herald_worker_sdk_metrics_up', {})).toBe(0);
        expect(samples.some((s) => s.name.startsWith('temporal_'))).toBe(false);
      }
      expect(lines).toEqual([
        expect.objectContaining({
          msg: "the Temporal SDK's metrics are missing from this worker's scrapes",
          reason: expect.stringContaining(`${sdkMetricsUrl} did not answer: `),
        }),
      ]);
    } finally {
      await listener.close();
    }
  });

  test('a busy metrics port is refused with the variable named', async () => {
    const busy = Number(new URL(fixture.worker!.metricsUrl!).port);
    await expect(
      startMetricsListener({ host: '127.0.0.1', port: busy, token: '', registry: new Registry() }),
    ).rejects.toThrow(
      `HERALD_METRICS_PORT ${busy} on 127.0.0.1 is in use: set another port, 0 for any free one, or off`,
    );
  });
});
