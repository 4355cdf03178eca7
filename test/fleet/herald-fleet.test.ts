/**
 * The process helper the multi-host suites build on (test/helpers/herald-fleet.ts), on the fleet's
 * Temporal: processes are really stopped, killed and started again, and Temporal keeps a message for
 * a worker that is not there yet.
 */
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { uniqueId } from '../helpers/herald';
import { startHeraldFleet, type HeraldFleet } from '../helpers/herald-fleet';

let fleet: HeraldFleet;
let downstream: Downstream;

beforeAll(async () => {
  downstream = await startDownstream();
  fleet = await startHeraldFleet({ workers: 1, apis: 1 });
});

afterAll(async () => {
  await fleet?.close();
  await downstream?.close();
});

/** Whether a process id still names a live process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('every process has a data directory of its own and its own log', () => {
  const [worker, api] = [fleet.workers[0]!, fleet.apis[0]!];
  expect(worker.dataDir).not.toBe(api.dataDir);
  expect(worker.logs().some((line) => line.msg === 'worker started')).toBe(true);
  expect(fleet.events.filter((e) => e.kind === 'start').map((e) => e.process)).toEqual(['worker-1', 'api-1']);
});

test('a message sent while the only worker is killed waits in Temporal and is delivered once it is back', async () => {
  const [worker, api] = [fleet.workers[0]!, fleet.apis[0]!];
  const pid = worker.managed.pid!;
  await fleet.stop(worker, 'sigkill');
  expect(alive(pid)).toBe(false);
  expect(fleet.events.at(-2)).toMatchObject({ process: 'worker-1', kind: 'sigkill' });

  const id = uniqueId('msg');
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/while-down') }, body: {} },
  });
  expect(sent.status).toBe(202);
  // No worker: nothing reaches the downstream. (/readyz may still say 200: Temporal lists a poller for a
  // while after it is gone.)
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(downstream.requests('/while-down')).toHaveLength(0);

  await fleet.start(worker);
  expect(worker.managed.pid).not.toBe(pid);
  await eventually(() => downstream.requests('/while-down').length, { until: (n) => n === 1, timeoutMs: 60_000 });
  await eventually(() => api.call<{ state: string }>('GET', `/v1/messages/${id}`), {
    until: (r) => r.body.state === 'delivered',
    what: `${id} delivered`,
    timeoutMs: 30_000,
  });
});

test('a graceful restart (SIGTERM) waits for the exit, then for the process to be ready again', async () => {
  const api = fleet.apis[0]!;
  const pid = api.managed.pid!;
  await fleet.restart(api, 'sigterm');
  expect(alive(pid)).toBe(false);
  expect(api.managed.pid).not.toBe(pid);
  expect((await api.call('GET', '/readyz', { headers: { authorization: null } })).status).toBe(200);
  const stopped = fleet.events.filter((e) => e.process === 'api-1' && e.kind === 'exit');
  expect(stopped.at(-1)?.afterMs).toBeGreaterThanOrEqual(0);
  expect(fleet.events.some((e) => e.kind === 'crash')).toBe(false);
});
