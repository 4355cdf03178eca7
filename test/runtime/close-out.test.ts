/**
 * The last event of a lean run is recorded from its committed close: by the worker that closed it (its
 * close-out watcher looks every nudged run up in visibility, in one list call per interval), and, when
 * that worker died before it could (here: a worker whose close-out watcher drops every nudge), by the
 * ended-run sweeper from visibility. Real Temporal, real workers, a real event log.
 */
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../src/observability/logger';
import type { MessageStatus } from '../../src/contract/message-status';
import {
  createCloseOutWatcher,
  type CloseOutWatcher,
  type CloseOutWatcherOptions,
} from '../../src/runtime/close-out-watcher';
import { startEndedRunSweeper } from '../../src/runtime/ended-run-sweeper';
import { createHeraldWorker } from '../../src/runtime/herald-worker';
import type { Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

let fixture: HeraldFixture;
let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  // No fixture worker: the worker under test is the only one on this task queue.
  fixture = await startFixture({ worker: false });
  ({ herald, downstream } = fixture);
});

/** Runs `body` with a Herald worker on the fixture's task queue whose close-outs go to `closeOut`. */
async function withWorker(closeOut: CloseOutWatcher, body: () => Promise<void>): Promise<void> {
  const connection = await NativeConnection.connect({ address: process.env.HERALD_TEST_TEMPORAL_ADDRESS! });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  try {
    worker = await createHeraldWorker({
      config: herald.config,
      connection,
      client: herald.client,
      store: herald.store,
      events: herald.events,
      logger: createLogger('silent'),
      workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! },
      closeOut,
    });
    running = worker.run();
    await body();
  } finally {
    worker?.shutdown();
    await running;
    await connection.close();
  }
}

/** A close-out watcher on the fixture's client and event log. */
const watcher = (options: Partial<CloseOutWatcherOptions>) =>
  createCloseOutWatcher({ client: herald.client, events: herald.events, logger: createLogger('silent'), ...options });

/** A worker's watcher that drops every nudge: its runs' last events are left to whoever looks them up. */
const dropsNudges: CloseOutWatcher = { watch: () => {}, stop: async () => {} };

/** Sends a message its destination takes at once, and waits for its run to close. */
async function deliveredRun(prefix: string) {
  const id = uniqueId(prefix);
  downstream.script(`/${prefix}`, [{ status: 200 }]);
  await herald.send({ id, destination: { url: downstream.url(`/${prefix}`) }, body: {} });
  const handle = herald.client.workflow.getHandle(id);
  const result = (await handle.result()) as MessageStatus;
  const { runId, closeTime } = await handle.describe();
  return { id, result, runId, closeTime };
}

test('the watcher records each closed run at the time it reached its state, looking up all waiting runs in one call, and forgets a run that does not close', async () => {
  const closeOut = watcher({ closeWaitMs: 2_000, pollMs: 100 });
  const list = jest.spyOn(herald.client.workflow, 'list');
  const queries = () => list.mock.calls.map(([options]) => options?.query ?? '');
  try {
    await withWorker(closeOut, async () => {
      downstream.script('/watched', [{ status: 200 }, { status: 200 }, { status: 200 }, { status: 200 }]);
      const ids = [uniqueId('watched'), uniqueId('watched'), uniqueId('watched')];
      await Promise.all(
        ids.map((id) => herald.send({ id, destination: { url: downstream.url('/watched') }, body: {} })),
      );
      const results = await Promise.all(
        ids.map((id) => herald.client.workflow.getHandle(id).result() as Promise<MessageStatus>),
      );
      for (const [index, id] of ids.entries()) {
        const logged = await eventually(() => herald.events.read({ afterId: 0, messageId: id }), {
          until: (events) => events.some((event) => event.state === 'delivered'),
          what: `the watcher to record ${id} delivered`,
        });
        expect(logged.map((event) => event.state)).toEqual(['accepted', 'delivering', 'delivered']);
        expect(logged[2]?.at).toBe(results[index]?.updatedAt);
      }

      // Nudged together (here by hand: they are recorded already, so nothing is appended again): one lookup names them all.
      const runIds = await Promise.all(
        ids.map(async (id) => (await herald.client.workflow.getHandle(id).describe()).runId),
      );
      list.mockClear();
      for (const [index, id] of ids.entries()) {
        closeOut.watch(id, runIds[index]!, { state: 'delivered', at: results[index]!.updatedAt, sender: null });
      }
      await eventually(() => list.mock.calls.length, { until: (calls) => calls >= 1, what: 'a lookup' });
      expect(runIds.every((runId) => queries()[0]!.includes(runId))).toBe(true);
      // Found, they are looked for no more: no second call in several intervals.
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(list).toHaveBeenCalledTimes(1);
      for (const id of ids) expect(await herald.events.read({ afterId: 0, messageId: id })).toHaveLength(3);

      // A run that stays open is looked for until closeWaitMs, then forgotten: an idle watcher makes no call.
      const open = uniqueId('watched-open');
      await herald.send({
        id: open,
        destination: { url: downstream.url('/watched') },
        body: {},
        reply: { timeout: '1m' },
      });
      await herald.waitFor(open, (status) => status.state === 'awaiting_reply');
      const openRun = (await herald.client.workflow.getHandle(open).describe()).runId;
      list.mockClear();
      closeOut.watch(open, openRun, { state: 'delivered', at: new Date().toISOString(), sender: null });
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      const lookups = list.mock.calls.length;
      expect(lookups).toBeGreaterThanOrEqual(2);
      expect(queries().every((query) => query.includes(openRun))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(list.mock.calls.length).toBe(lookups);
      expect((await herald.events.read({ afterId: 0, messageId: open })).map((event) => event.state)).toEqual([
        'accepted',
        'delivering',
        'awaiting_reply',
      ]);
      await herald.client.workflow.getHandle(open).terminate('test over');
    });
  } finally {
    list.mockRestore();
    await closeOut.stop();
  }
});

test('a nudge whose state the close does not have (its task never committed) gives way to the close: state and time from Temporal', async () => {
  const closeOut = watcher({ pollMs: 100 });
  try {
    await withWorker(dropsNudges, async () => {
      const { id, runId, closeTime } = await deliveredRun('stale-nudge');
      closeOut.watch(id, runId, { state: 'replied', at: '2000-01-01T00:00:00.000Z', sender: 'stale' });
      const logged = await eventually(() => herald.events.read({ afterId: 0, messageId: id }), {
        until: (events) => events.length === 3,
        what: 'the watcher to record the close',
      });
      expect(logged[2]).toMatchObject({ state: 'delivered', at: closeTime!.toISOString() });
    });
  } finally {
    await closeOut.stop();
  }
});

test('stop looks up the runs still waiting once more, so a run closed as the worker drained is recorded', async () => {
  // Far longer than the test: only stop() can look the run up.
  const closeOut = watcher({ pollMs: 600_000 });
  await withWorker(dropsNudges, async () => {
    const { id, result, runId } = await deliveredRun('drained');
    closeOut.watch(id, runId, { state: 'delivered', at: result.updatedAt, sender: null });
    expect(await herald.events.read({ afterId: 0, messageId: id })).toHaveLength(2);
    await closeOut.stop();
    const logged = await herald.events.read({ afterId: 0, messageId: id });
    expect(logged.map((event) => event.state)).toEqual(['accepted', 'delivering', 'delivered']);
    expect(logged[2]?.at).toBe(result.updatedAt);
  });
});

test('a close-out its worker never made is recorded by the sweeper, once, after the run’s last event', async () => {
  const dropped: string[] = [];
  const forgetful: CloseOutWatcher = { watch: (messageId) => void dropped.push(messageId), stop: async () => {} };
  const sweeper = startEndedRunSweeper({
    client: herald.client,
    taskQueue: herald.taskQueue,
    events: herald.events,
    logger: createLogger('silent'),
    intervalMs: 300,
  });
  try {
    await withWorker(forgetful, async () => {
      const { id, result } = await deliveredRun('forgotten');
      expect(result).toMatchObject({ state: 'delivered' });
      expect(dropped).toContain(id);

      const logged = await eventually(() => herald.events.read({ afterId: 0, messageId: id }), {
        until: (events) => events.some((event) => event.state === 'delivered'),
        what: 'the sweeper to record the delivered event',
      });
      expect(logged.map((event) => [event.seq, event.state])).toEqual([
        [1, 'accepted'],
        [2, 'delivering'],
        [3, 'delivered'],
      ]);
    });
  } finally {
    await sweeper.stop();
  }
});
