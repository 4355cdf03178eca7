/**
 * A real Prometheus (Debian's binary, on a free 127.0.0.1 port) scrapes a running Herald, one worker process and
 * one API process sharing a PostgreSQL database, every second, with Herald's alert rules. Messages go to a
 * downstream that refuses them until the dead-letter queue passes a low test threshold, and
 * HeraldDeadLetterQueueLarge fires in Prometheus's own API; the downstream heals, a bulk redrive delivers them,
 * and the alert resolves. Every dashboard query runs against the same Prometheus.
 *
 * The rules under test are the shipped file with one change, made here and checked to apply: the dead-letter
 * threshold goes from 100 to 3 and its `for` from 5m to 2s (and its summary says so). A test value never ships in deploy/prometheus.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { dashboardQueries } from '../helpers/dashboard';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startHeraldFleet, type FleetApi, type HeraldFleet } from '../helpers/herald-fleet';
import { uniqueId } from '../helpers/herald';
import { createTestDatabase, freePort } from '../helpers/postgres';
import { startPrometheus, type RunningPrometheus } from '../helpers/prometheus';

const RULES_FILE = join(__dirname, '..', '..', 'deploy', 'prometheus', 'herald-rules.yml');
const TEST_THRESHOLD = 3;
const MESSAGES = TEST_THRESHOLD + 2;

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  annotations?: Record<string, string>;
}

/** The shipped rules, as YAML, with HeraldDeadLetterQueueLarge's threshold and `for` made test-sized. */
function rulesForTest(): { yaml: string; rules: Rule[] } {
  const document = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] };
  const rules = document.groups.flatMap((group) => group.rules);
  const large = rules.find((rule) => rule.alert === 'HeraldDeadLetterQueueLarge');
  if (!large || !/ > 100$/.test(large.expr.trim())) {
    throw new Error('HeraldDeadLetterQueueLarge no longer ends in "> 100": update rulesForTest()');
  }
  large.expr = large.expr.trim().replace(/ > 100$/, ` > ${TEST_THRESHOLD}`);
  large.for = '2s';
  if (large.annotations?.summary) {
    large.annotations.summary = large.annotations.summary.replace(
      'more than 100 for 5 minutes',
      `more than ${TEST_THRESHOLD}`,
    );
  }
  return { yaml: stringify(document), rules };
}

let fleet: HeraldFleet;
let api: FleetApi;
let downstream: Downstream;
let prometheus: RunningPrometheus | undefined;
let workerMetricsPort: number;
let refusing = true;
const testRules = rulesForTest();

beforeAll(async () => {
  const databaseUrl = await createTestDatabase('herald_alerts');
  downstream = await startDownstream();
  downstream.handle('/refuses', () => (refusing ? { status: 503, body: 'unavailable' } : { status: 200 }));
  workerMetricsPort = await freePort();
  fleet = await startHeraldFleet({
    workers: 1,
    apis: 1,
    env: { HERALD_DATABASE_URL: databaseUrl },
    envFor: (name): Record<string, string> =>
      name === 'worker-1' ? { HERALD_METRICS_PORT: String(workerMetricsPort) } : {},
  });
  api = fleet.apis[0] as FleetApi;
  prometheus = await startPrometheus({
    jobs: [
      { name: 'herald-api', targets: [new URL(api.url).host] },
      { name: 'herald-worker', targets: [`127.0.0.1:${workerMetricsPort}`] },
    ],
    rules: [testRules.yaml],
    interval: '1s',
  });
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await fleet?.close();
  await downstream?.close();
});

function running(): RunningPrometheus {
  if (!prometheus) throw new Error('Prometheus did not start');
  return prometheus;
}

/** The value of an instant query with one series (or none). */
async function scalar(expr: string): Promise<number | undefined> {
  const answer = await running().query(expr);
  if (answer.status !== 'success') throw new Error(`${expr}: ${answer.error}`);
  const [first] = (answer.data?.result ?? []) as { value: [number, string] }[];
  return first ? Number(first.value[1]) : undefined;
}

test('Prometheus scrapes the API and the worker, and every Herald metric the rules and dashboard use is served', async () => {
  await eventually(() => running().targets(), {
    until: (targets) => targets.length === 2 && targets.every((target) => target.health === 'up'),
    what: () => `both targets up\n${running().log()}`,
    timeoutMs: 20_000,
    intervalMs: 500,
  });
  const served = (
    await Promise.all(
      [`${api.url}/metrics`, `http://127.0.0.1:${workerMetricsPort}/metrics`].map(async (url) =>
        (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text(),
      ),
    )
  ).join('\n');
  const declared = new Set([...served.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
  const used = new Set(
    [...testRules.rules.map((rule) => rule.expr), ...dashboardQueries('1m').map((query) => query.expr)].flatMap(
      (expr) =>
        [...expr.matchAll(/\b(herald_[a-z_]+|temporal_[a-z_]+)/g)].map((match) =>
          (match[1] ?? '').replace(/_(bucket|count|sum)$/, ''),
        ),
    ),
  );
  expect([...used].filter((name) => !declared.has(name))).toEqual([]);
});

test('the dead-letter alert fires once the queue passes the threshold, and resolves after a bulk redrive', async () => {
  const ids: string[] = [];
  for (let n = 0; n < MESSAGES; n++) {
    const id = uniqueId('alert-msg');
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: downstream.url('/refuses') }, body: { n } },
    });
    expect(sent.status).toBe(202);
    ids.push(id);
  }

  const firing = await eventually(
    async () => (await running().alerts()).find((alert) => alert.labels.alertname === 'HeraldDeadLetterQueueLarge'),
    {
      until: (alert) => alert?.state === 'firing',
      what: () => `HeraldDeadLetterQueueLarge to fire\n${running().log()}`,
      timeoutMs: 90_000,
      intervalMs: 1_000,
    },
  );
  expect(firing?.labels).toMatchObject({ severity: 'critical', service: 'herald' });
  expect(Number(firing?.value)).toBe(MESSAGES);
  expect(firing?.annotations).toEqual({
    summary: `${MESSAGES} dead letters are waiting (more than ${TEST_THRESHOLD})`,
    runbook: 'README.md#heralddeadletterqueuelarge',
  });
  expect(await scalar('max(sum by (instance) (herald_dead_letters_waiting))')).toBe(MESSAGES);

  refusing = false;
  const redrive = await api.call<{ matched: number; redriven: number; failed: number }>(
    'POST',
    '/v1/dead-letters/redrive',
    { json: { all: true } },
  );
  expect(redrive.status).toBe(200);
  expect(redrive.body).toMatchObject({ matched: MESSAGES, redriven: MESSAGES, failed: [] });

  await eventually(() => running().alertRules(), {
    until: (rules) => rules.find((rule) => rule.name === 'HeraldDeadLetterQueueLarge')?.state === 'inactive',
    what: 'HeraldDeadLetterQueueLarge to resolve',
    timeoutMs: 60_000,
    intervalMs: 1_000,
  });
  expect((await running().alerts()).map((alert) => alert.labels.alertname)).not.toContain('HeraldDeadLetterQueueLarge');
  // The alert resolves once at most 3 wait; the redriven messages leave the store one by one after that
  // (slower on a loaded machine), and the gauge is read from the store at each scrape.
  await eventually(async () => (await scalar('max(sum by (instance) (herald_dead_letters_waiting))')) ?? 0, {
    until: (waiting) => waiting === 0,
    what: 'no dead letters waiting after the redrive',
    timeoutMs: 30_000,
    intervalMs: 500,
  });
  // Delivered this time: each message's last request was answered 200.
  for (const id of ids) {
    const status = await api.call<{ state: string }>('GET', `/v1/messages/${id}`);
    expect({ id, state: status.body.state }).toEqual({ id, state: 'delivered' });
  }
}, 180_000);

test('every alert rule evaluates without error on real data, and the no-worker alert is quiet while the worker polls', async () => {
  // A few evaluations after the traffic above.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rules = await running().alertRules();
  expect(rules.map((rule) => rule.name).sort()).toEqual(
    testRules.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])).sort(),
  );
  for (const rule of rules) expect({ rule: rule.name, health: rule.health }).toEqual({ rule: rule.name, health: 'ok' });
  const noWorker = testRules.rules.find((rule) => rule.alert === 'HeraldNoWorkerPolling');
  // The SDK's metric names and labels are the ones the rule expects: otherwise absent() would answer 1.
  const polling = await running().query(noWorker?.expr ?? '');
  expect(polling).toMatchObject({ status: 'success', data: { result: [] } });
  expect(await scalar('sum(temporal_num_pollers{job="herald-worker"})')).toBeGreaterThan(0);
});

test('every dashboard query evaluates without error against the real Prometheus', async () => {
  const queries = dashboardQueries('15s');
  const failures: string[] = [];
  let withData = 0;
  for (const query of queries) {
    const answer = await running().query(query.expr);
    if (answer.status !== 'success') failures.push(`${query.panel} ${query.refId}: ${answer.error}`);
    else if ((answer.data?.result.length ?? 0) > 0) withData += 1;
  }
  expect(failures).toEqual([]);
  // The traffic above gave most panels data (accept, attempts, latency, slots, dead letters created...).
  expect(withData).toBeGreaterThanOrEqual(Math.ceil(queries.length / 2));
});

test('the no-worker alert expression answers once the worker stops', async () => {
  const noWorker = testRules.rules.find((rule) => rule.alert === 'HeraldNoWorkerPolling');
  const worker = fleet.workers[0];
  if (!worker || !noWorker) throw new Error('no worker or no HeraldNoWorkerPolling rule');
  await fleet.stop(worker);
  // A failed scrape marks the worker's series stale at once: absent() answers 1.
  await eventually(async () => (await running().query(noWorker.expr)).data?.result.length ?? 0, {
    until: (length) => length === 1,
    what: 'HeraldNoWorkerPolling to match once the worker is gone',
    timeoutMs: 20_000,
    intervalMs: 500,
  });
}, 60_000);
