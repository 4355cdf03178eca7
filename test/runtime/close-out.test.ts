/**
 * The last event of a lean run is recorded from its committed close: by the worker that closed it, and,
 * when that worker died before it could (here: a worker whose close-out watcher drops every nudge), by the
 * ended-run sweeper from visibility. Real Temporal, real workers, a real event log.
 */
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { createLogger } from '../../src/observability/logger';
import type { CloseOutWatcher } from '../../src/runtime/close-out-watcher';
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

test('a close-out its worker never made is recorded by the sweeper, once, after the run’s last event', async () => {
  const dropped: string[] = [];
  const forgetful: CloseOutWatcher = { watch: (messageId) => void dropped.push(messageId), stop: async () => {} };
  const connection = await NativeConnection.connect({ address: process.env.HERALD_TEST_TEMPORAL_ADDRESS! });
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const sweeper = startEndedRunSweeper({
    client: herald.client,
    taskQueue: herald.taskQueue,
    events: herald.events,
    logger: createLogger('silent'),
    intervalMs: 300,
  });
  try {
    worker = await createHeraldWorker({
      config: herald.config,
      connection,
      client: herald.client,
      store: herald.store,
      events: herald.events,
      logger: createLogger('silent'),
      workflowBundle: { codePath: process.env.HERALD_TEST_WORKFLOW_BUNDLE! },
      closeOut: forgetful,
    });
    running = worker.run();
    const id = uniqueId('forgotten');
    downstream.script('/forgotten', [{ status: 200 }]);
    await herald.send({ id, destination: { url: downstream.url('/forgotten') }, body: {} });
    expect(await herald.client.workflow.getHandle(id).result()).toMatchObject({ state: 'delivered' });
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
  } finally {
    await sweeper.stop();
    worker?.shutdown();
    await running;
    await connection.close();
  }
});
