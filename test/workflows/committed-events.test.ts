/**
 * Events that never lie: for every kind of run, the event log holds exactly the HeraldState sequence of
 * the workflow's history (the start's search attribute, then each upsert), in order and once, including
 * runs whose workflow tasks failed the way a worker killed mid-task fails them. The static summary
 * names only what no state change alters.
 */
import type { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config/config';
import { replySignal } from '../../src/contract/definitions';
import type { MessageStatus } from '../../src/contract/message-status';
import { HERALD_STATE } from '../../src/contract/search-attributes';
import { createLogger } from '../../src/observability/logger';
import { cancelMessage, discardMessage, redriveMessage, startMessage } from '../../src/temporal/message-operations';
import { createHeraldWorker } from '../../src/runtime/herald-worker';
import { bundleHeraldWorkflows } from '../../src/runtime/workflow-bundle';
import type { Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';
import { TEST_ENV, uniqueId, type TestHerald } from '../helpers/herald';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
});

type History = temporal.api.history.v1.IHistory;

/** The HeraldState values a history went through: the one it started with, then every upsert of it. */
function heraldStatesOf(history: History): string[] {
  const decode = (payload: temporal.api.common.v1.IPayload | null | undefined) =>
    payload?.data ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as string) : undefined;
  const states: string[] = [];
  for (const event of history.events ?? []) {
    const fields =
      event.workflowExecutionStartedEventAttributes?.searchAttributes?.indexedFields ??
      event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    const state = decode(fields?.HeraldState);
    if (state !== undefined) states.push(state);
  }
  return states;
}

/** The log's states of message `id`, in log order, checked to be numbered 1…n within each run. */
async function loggedStates(id: string): Promise<string[]> {
  const events = await herald.events.read({ afterId: 0, messageId: id, limit: 1000 });
  const byRun = new Map<string, number[]>();
  for (const event of events) byRun.set(event.runId, [...(byRun.get(event.runId) ?? []), event.seq]);
  for (const seqs of byRun.values()) expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  return events.map((event) => event.state);
}

/** Waits for the workflow to close, then compares the event log with its history's HeraldState sequence. */
async function expectLogToMatchHistory(id: string, states: string[]): Promise<History> {
  await herald.client.workflow.getHandle(id).result();
  const history = await herald.client.workflow.getHandle(id).fetchHistory();
  expect(heraldStatesOf(history)).toEqual(states);
  // The last event follows the close (the worker records it from the committed result).
  const logged = await eventually(() => loggedStates(id), { until: (said) => said.length >= states.length });
  expect(logged).toEqual(states);
  return history;
}

const send = (path: string, extra: Record<string, unknown> = {}) =>
  startMessage(
    herald.client,
    { destination: { url: downstream.url(path) }, body: { path }, ...extra },
    herald.taskQueue,
  );

test('delivered after a retry', async () => {
  downstream.script('/ce-delivered', [{ status: 503 }, { status: 200 }]);
  const { id } = await send('/ce-delivered');
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'delivered']);
});

test('replied by signal', async () => {
  const { id } = await send('/ce-replied', { reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: { ok: true } });
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'awaiting_reply', 'replied']);
});

test('dead-lettered, redriven, delivered', async () => {
  downstream.script('/ce-redriven', [{ status: 400 }, { status: 200 }]);
  const { id } = await send('/ce-redriven');
  await herald.waitForState(id, 'dead_lettered');
  await redriveMessage(herald.client, id, 'receiver fixed');
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'dead_lettered', 'delivering', 'delivered']);
});

test('discarded by an operator: its own state in the status, the search attribute, the log and the store', async () => {
  downstream.script('/ce-discarded', [{ status: 400 }]);
  const { id } = await send('/ce-discarded');
  await herald.waitForState(id, 'dead_lettered');
  const answer = await discardMessage(herald.client, id, 'not needed');
  expect(answer).toMatchObject({ state: 'discarded', deadLetter: { reason: 'permanent_error' } });
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'dead_lettered', 'discarded']);
  const description = await herald.client.workflow.getHandle(id).describe();
  expect(description.typedSearchAttributes.get(HERALD_STATE)).toBe('discarded');
  expect(await herald.store.get(id)).toMatchObject({ state: 'discarded' });
  // Visibility is eventually consistent: the Web UI's filter finds it as discarded, not with the waiting ones.
  const query = `HeraldState = 'discarded' AND WorkflowId = '${id}'`;
  const found: string[] = [];
  for (let i = 0; i < 50 && found.length === 0; i++) {
    for await (const execution of herald.client.workflow.list({ query })) found.push(execution.workflowId);
    if (found.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(found).toEqual([id]);
});

test('discarded by cancelling the parked workflow', async () => {
  downstream.script('/ce-parked-cancel', [{ status: 400 }]);
  const { id } = await send('/ce-parked-cancel');
  await herald.waitForState(id, 'dead_lettered');
  await herald.client.workflow.getHandle(id).cancel();
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'dead_lettered', 'discarded']);
  expect(((await herald.client.workflow.getHandle(id).result()) as MessageStatus).cancellation).toBeNull();
  await recordHistory(herald.client, id, 'parked-workflow-cancelled-discarded');
});

test('cancelled while awaiting a reply, and rejected', async () => {
  const { id } = await send('/ce-cancelled', { reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  await cancelMessage(herald.client, id, 'changed my mind');
  await expectLogToMatchHistory(id, ['accepted', 'delivering', 'awaiting_reply', 'cancelled']);

  const rejected = await send('/ce-rejected', { retry: { maximumAttempts: 1000 } });
  await expectLogToMatchHistory(rejected.id, ['accepted', 'rejected']);
});

test('the static summary names only what no state changes: method, host, whether a reply is expected', async () => {
  const { id } = await send('/ce-summary', {
    reply: { timeout: '1m' },
    destination: { url: downstream.url('/ce-summary'), method: 'PUT' },
  });
  const summary = `PUT 127.0.0.1:${downstream.port} · expects reply`;
  expect(await (await herald.client.workflow.getHandle(id).describe()).staticSummary()).toBe(summary);
  await herald.waitForState(id, 'awaiting_reply');
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: 'ok' });
  await herald.client.workflow.getHandle(id).result();
  expect(await (await herald.client.workflow.getHandle(id).describe()).staticSummary()).toBe(summary);
});

describe('workflow tasks that fail around the decision to await the reply (a worker killed mid-task)', () => {
  let worker: Worker;
  let running: Promise<void>;
  let connection: NativeConnection;
  let taskQueue: string;

  beforeAll(async () => {
    // A worker whose workflows carry test/workflows/task-failure-interceptor.ts, on a queue of its own.
    const { code } = await bundleHeraldWorkflows(
      {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: console.error,
      },
      { workflowInterceptorModules: [require.resolve('./task-failure-interceptor')] },
    );
    taskQueue = uniqueId('herald-task-failures');
    const config = loadConfig({
      ...TEST_ENV,
      TEMPORAL_ADDRESS: process.env.HERALD_TEST_TEMPORAL_ADDRESS!,
      TEMPORAL_NAMESPACE: herald.config.temporal.namespace,
      HERALD_TASK_QUEUE: taskQueue,
      HERALD_DATA_DIR: herald.config.dataDir,
    });
    connection = await NativeConnection.connect({ address: process.env.HERALD_TEST_TEMPORAL_ADDRESS! });
    worker = await createHeraldWorker({
      config,
      connection,
      client: herald.client,
      store: herald.store,
      events: herald.events,
      logger: createLogger('silent'),
      workflowBundle: { code },
    });
    running = worker.run();
  }, 120_000);
  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
  });

  /** The log's states once it holds `count` of them: the terminal event follows the close. */
  const loggedStatesOnce = (id: string, count: number) =>
    eventually(() => loggedStates(id), { until: (said) => said.length >= count });

  /** Sends a message expecting a reply, lets its tasks fail, then replies: it must end replied. */
  async function replyAfterFailedTasks(prefix: 'fail-at-' | 'fail-after-'): Promise<{ id: string; history: History }> {
    const id = uniqueId(prefix);
    await startMessage(
      herald.client,
      { id, destination: { url: downstream.url(`/${prefix}`) }, body: {}, reply: { timeout: '5m' } },
      taskQueue,
    );
    const handle = herald.client.workflow.getHandle(id);
    const deadline = Date.now() + 30_000;
    const failedTask = (history: History) =>
      (history.events ?? []).some((event) => event.workflowTaskFailedEventAttributes);
    while (!failedTask(await handle.fetchHistory())) {
      if (Date.now() > deadline) throw new Error('no workflow task failed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await handle.signal(replySignal, { body: 'after the crash' });
    expect(((await handle.result()) as MessageStatus).state).toBe('replied');
    return { id, history: await handle.fetchHistory() };
  }

  test('a task that decided awaiting_reply and failed before it committed leaves no awaiting_reply event', async () => {
    const { id, history } = await replyAfterFailedTasks('fail-at-');
    // The history never entered awaiting_reply: the retried task went from delivering straight to replied.
    expect(heraldStatesOf(history)).toEqual(['accepted', 'delivering', 'replied']);
    expect(await loggedStatesOnce(id, 3)).toEqual(['accepted', 'delivering', 'replied']);
    await recordHistory(herald.client, id, 'failed-task-at-decision-replied');
  });

  test('tasks that fail after the decision committed publish what the history entered, once (the local activity left an orphan here)', async () => {
    const { id, history } = await replyAfterFailedTasks('fail-after-');
    expect(heraldStatesOf(history)).toEqual(['accepted', 'delivering', 'awaiting_reply', 'replied']);
    expect(await loggedStatesOnce(id, 4)).toEqual(['accepted', 'delivering', 'awaiting_reply', 'replied']);
    await recordHistory(herald.client, id, 'failed-task-after-decision-replied');
  });
});
