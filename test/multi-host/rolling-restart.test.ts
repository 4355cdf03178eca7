/**
 * Rolling restarts lose nothing: a fleet of two workers and two APIs (separate processes, one shared
 * PostgreSQL and Temporal) keeps delivering while each process in turn gets SIGTERM, exits, and is
 * replaced. A worker drains (HERALD_WORKER_SHUTDOWN_GRACE): no attempt is cut and none is repeated. An API
 * stops accepting and finishes its requests: a client that retries connection errors on the other API
 * loses no accepted message and never sees a 5xx.
 */
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startHeraldFleet, type FleetApi, type FleetProcess, type HeraldFleet } from '../helpers/herald-fleet';
import { sendThrough, waitForTerminal, type Outgoing } from '../helpers/fleet-traffic';
import { uniqueId } from '../helpers/herald';
import { createTestDatabase } from '../helpers/postgres';

/** Each rolling restart runs under 200 messages; the workers' downstream answers in 2 s. */
const MESSAGES = 200;
const ANSWER_AFTER_MS = 2_000;

let databaseUrl: string;
let fleet: HeraldFleet;
let apis: FleetApi[];
let downstream: Downstream;

beforeAll(async () => {
  databaseUrl = await createTestDatabase('herald_rolling');
  downstream = await startDownstream();
  fleet = await startHeraldFleet({
    workers: 2,
    apis: 2,
    env: {
      HERALD_DATABASE_URL: databaseUrl,
      // Blank is unset: the default grace (50 s), not the tests' 0. The attempt timeout leaves room for 2 s.
      HERALD_WORKER_SHUTDOWN_GRACE: '',
      HERALD_RETRY_ATTEMPT_TIMEOUT: '10s',
    },
  });
  apis = fleet.apis;
}, 180_000);

afterAll(async () => {
  await fleet?.close();
  await downstream?.close();
});

type Attempt = { attempt: number; outcome: string; cause?: string };
type Status = { id: string; state: string; attempts: Attempt[] };

/** Every message's status, through the APIs, 10 at a time. */
async function statuses(ids: readonly string[]): Promise<Status[]> {
  const out: Status[] = [];
  for (let i = 0; i < ids.length; i += 10) {
    const page = await Promise.all(
      ids.slice(i, i + 10).map((id, n) => apis[n % apis.length]!.call<Status>('GET', `/v1/messages/${id}`)),
    );
    for (const response of page) {
      expect(response.status).toBe(200);
      out.push(response.body);
    }
  }
  return out;
}

/** SIGTERM, wait for the exit, start a fresh process with the same settings; answers the times taken. */
async function rollingRestart(process: FleetProcess): Promise<{ stopMs: number; startMs: number }> {
  const started = Date.now();
  await fleet.stop(process, 'sigterm');
  const stopped = Date.now();
  await fleet.start(process);
  return { stopMs: stopped - started, startMs: Date.now() - stopped };
}

function batch(path: string): Outgoing[] {
  return Array.from({ length: MESSAGES }, (_, n) => ({ id: uniqueId(`roll-${n}`), url: downstream.url(path) }));
}

test(`restarting each worker in turn under ${MESSAGES} messages against a ${ANSWER_AFTER_MS / 1000}-second downstream cuts no attempt and repeats none`, async () => {
  downstream.script('/slow', [{ status: 200, delayMs: ANSWER_AFTER_MS }]);
  const messages = batch('/slow');
  const ids = messages.map((message) => message.id);
  // 3 a second: the batch flows for 67 s, across both restarts even when a loaded machine makes each take 20 s and more.
  const sending = sendThrough(apis, messages, { concurrency: 5, perSecond: 3 });
  const times: string[] = [];
  for (const worker of fleet.workers) {
    // Each restart lands while attempts are in flight on the worker it stops.
    const before = downstream.requests('/slow').length;
    await eventually(() => downstream.requests('/slow').length, {
      until: (n) => n >= before + 10,
      what: 'attempts in flight',
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const { stopMs, startMs } = await rollingRestart(worker);
    times.push(`${worker.name} drained in ${stopMs} ms, ready again in ${startMs} ms`);
  }
  const report = await sending;
  expect([...report.statusById.values()].filter((status) => status !== 202)).toEqual([]);

  const ended = await waitForTerminal(databaseUrl, ids, 60_000);
  expect(ids.filter((id) => ended.get(id)?.join() !== 'delivered')).toEqual([]);
  // The downstream saw every message exactly once: nothing was sent again because of a restart.
  const seen = new Map<string, number>();
  for (const request of downstream.requests('/slow')) {
    const id = String(request.headers['idempotency-key']);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  expect(ids.filter((id) => seen.get(id) !== 1)).toEqual([]);
  // No attempt was cut: one attempt each, delivered, none recorded as worker_shutdown.
  const all = await statuses(ids);
  expect(all.filter((status) => status.attempts.some((a) => a.cause === 'worker_shutdown'))).toEqual([]);
  expect(all.filter((status) => status.attempts.length !== 1 || status.attempts[0]!.outcome !== 'delivered')).toEqual(
    [],
  );
  // Every worker exit was asked for (no crash), and each stop waited for its attempts.
  expect(fleet.events.filter((event) => event.kind === 'crash')).toEqual([]);
  console.log(`rolling worker restart under ${MESSAGES} messages: ${times.join('; ')}`);
}, 210_000);

test(`restarting each API in turn while ${MESSAGES} messages are sent through both loses no accepted message and answers no 5xx`, async () => {
  downstream.script('/fast', [{ status: 200 }]);
  const messages = batch('/fast');
  const ids = messages.map((message) => message.id);
  // 10 a second through both APIs: 20 s of sending, across both restarts.
  const sending = sendThrough(apis, messages, { concurrency: 10, perSecond: 10 });
  const times: string[] = [];
  for (const api of apis) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const { stopMs, startMs } = await rollingRestart(api);
    times.push(`${api.name} stopped in ${stopMs} ms, ready again in ${startMs} ms`);
  }
  const report = await sending;
  expect(report.serverErrors).toEqual([]);
  expect(report.statuses.filter((status) => status >= 500)).toEqual([]);
  // Every message was accepted (a retry of one whose first answer was lost is the same message again).
  expect(ids.filter((id) => ![200, 202].includes(report.statusById.get(id) ?? 0))).toEqual([]);
  const ended = await waitForTerminal(databaseUrl, ids, 60_000);
  expect(ids.filter((id) => ended.get(id)?.join() !== 'delivered')).toEqual([]);
  const seen = new Set(downstream.requests('/fast').map((request) => String(request.headers['idempotency-key'])));
  expect(ids.filter((id) => !seen.has(id))).toEqual([]);
  expect(fleet.events.filter((event) => event.kind === 'crash')).toEqual([]);
  console.log(
    `rolling API restart under ${MESSAGES} messages: ${times.join('; ')}; ` +
      `${report.retriedConnectionErrors} connection errors retried on the other API`,
  );
}, 120_000);
