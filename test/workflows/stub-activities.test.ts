/**
 * The workflow logic on the real dev server, with stub activities (as the Temporal samples test theirs):
 * a `deliver` that answers as each test scripts it, and stores that record what the workflow hands them.
 * Each test asserts the status the workflow reaches, the activity inputs, and the events it publishes:
 * into a real (SQLite) event log, through publishEvents, the events a delivery carries, and the close-out
 * of the run's last event (the worker's real close-out watcher).
 */
import { ApplicationFailure } from '@temporalio/common';
import { Context } from '@temporalio/activity';
import { Client, Connection, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection, Worker, type InjectedSinks } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeliverInput, DeliveryReceipt, HeraldActivities, NotifyInput } from '../../src/activities';
import { loadConfig } from '../../src/config/config';
import type { CallbackInput } from '../../src/contract/callback';
import {
  attemptRecordedSignal,
  cancelSignal,
  DELIVER_MESSAGE_WORKFLOW,
  MESSAGE_WORKFLOW,
  discardUpdate,
  redriveUpdate,
  replySignal,
  statusQuery,
  subscribeUpdate,
} from '../../src/contract/definitions';
import { PERMANENT_DELIVERY_ERROR, RETRYABLE_DELIVERY_ERROR } from '../../src/contract/error-types';
import type { Message } from '../../src/contract/message';
import type { NewMessageEvent } from '../../src/contract/message-event';
import type { AttemptOutcome, AttemptRecord, MessageStatus } from '../../src/contract/message-status';
import { createLogger } from '../../src/observability/logger';
import type { NewDeadLetter } from '../../src/store/dead-letter-store';
import { createCloseOutWatcher, type CloseOutWatcher } from '../../src/runtime/close-out-watcher';
import type { EventLog } from '../../src/store/event-log';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import { installRuntimeLogger } from '../../src/temporal/runtime-logger';
import type { CloseOutSinks } from '../../src/workflows/close-out';
import { eventually } from '../helpers/eventually';
import { TEST_ENV, uniqueId } from '../helpers/herald';

/** How the stub `deliver` answers attempt `attempt` of `round`. */
type DeliverScript = (round: number, attempt: number) => AttemptOutcome;

const scripts = new Map<string, DeliverScript>();
const delivered: DeliverInput[] = [];
const deadLetters: NewDeadLetter[] = [];
const redriven: { id: string; round: number }[] = [];
const discarded: string[] = [];
/** Each publishEvents call's batch; and events published the old way (a local activity), which new runs never do. */
const batches: NewMessageEvent[][] = [];
/** The events each delivery carried, per call. */
const carried: NewMessageEvent[][] = [];
const localEvents: NewMessageEvent[] = [];
const notified: NotifyInput[] = [];
const failingCallbacks = new Set<string>();

let client: Client;
let clientConnection: Connection;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let dataDir: string;
let eventLog: EventLog;
let closeOut: CloseOutWatcher;

function attemptRecord(round: number, attempt: number, outcome: AttemptOutcome): AttemptRecord {
  const at = new Date().toISOString();
  return {
    round,
    attempt,
    outcome,
    ...(outcome === 'delivered' ? { status: 200 } : { status: outcome === 'retryable' ? 503 : 400 }),
    durationMs: 1,
    nextDelayMs: outcome === 'retryable' ? 50 : null,
    startedAt: at,
    finishedAt: at,
  };
}

function stubActivities(): HeraldActivities {
  const settings = loadConfig(TEST_ENV).delivery;
  return {
    async getDeliverySettings() {
      return settings;
    },
    async predecessorState() {
      return 'absent';
    },
    async publishEvent(event) {
      localEvents.push(event);
    },
    async publishEvents(batch) {
      batches.push(batch);
      for (const event of batch) await eventLog.append(event);
    },
    async deliver(input): Promise<DeliveryReceipt> {
      const { attempt } = Context.current().info;
      delivered.push(input);
      // As the real activity does: what the delivery carries is logged before the attempt.
      carried.push(input.events ?? []);
      for (const event of input.events ?? []) await eventLog.append(event);
      const outcome = (scripts.get(input.message.id) ?? (() => 'delivered'))(input.round, attempt);
      const record = attemptRecord(input.round, attempt, outcome);
      // As the real activity does: the workflow hears of each attempt as it ends.
      await client.workflow.getHandle(input.message.id).signal(attemptRecordedSignal, record);
      if (outcome === 'delivered') return { attempt: record };
      throw ApplicationFailure.create({
        type: outcome === 'retryable' ? RETRYABLE_DELIVERY_ERROR : PERMANENT_DELIVERY_ERROR,
        message: `stub answered ${record.status}`,
        details: [record],
        // As the real activity does, the last attempt of the plan says so (Temporal's limit is higher).
        nonRetryable: outcome === 'permanent' || attempt >= input.plan.retry.maximumAttempts,
      });
    },
    async deadLetter(record) {
      deadLetters.push(record);
      return { created: true };
    },
    async markDiscarded({ id }) {
      discarded.push(id);
    },
    async markRedriven({ id, round }) {
      redriven.push({ id, round });
    },
    async notify(input) {
      notified.push(input);
      const record = { ...attemptRecord(1, 1, 'delivered'), round: 1 };
      if (!failingCallbacks.has(input.url)) return record;
      throw ApplicationFailure.create({
        type: PERMANENT_DELIVERY_ERROR,
        message: 'receiver answered 410',
        details: [{ ...record, outcome: 'permanent', status: 410 }],
        nonRetryable: true,
      });
    },
  };
}

beforeAll(async () => {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS;
  const codePath = process.env.HERALD_TEST_WORKFLOW_BUNDLE;
  if (!address || !codePath) throw new Error('the jest global setup did not start Temporal');
  await installRuntimeLogger(createLogger('silent'));
  taskQueue = uniqueId('herald-stubs');
  clientConnection = await Connection.connect({ address });
  client = new Client({ connection: clientConnection, namespace: process.env.HERALD_TEST_NAMESPACE ?? 'default' });
  connection = await NativeConnection.connect({ address });
  dataDir = mkdtempSync(join(tmpdir(), 'herald-stub-events-'));
  eventLog = openSqliteEventLog(join(dataDir, 'events.sqlite'));
  closeOut = createCloseOutWatcher({ client, events: eventLog, logger: createLogger('silent') });
  const sinks: InjectedSinks<CloseOutSinks> = {
    closeOut: { runEnding: { fn: (info, end) => closeOut.watch(info.workflowId, info.runId, end) } },
  };
  worker = await Worker.create({
    connection,
    namespace: process.env.HERALD_TEST_NAMESPACE ?? 'default',
    taskQueue,
    activities: stubActivities(),
    workflowBundle: { codePath },
    sinks,
  });
  running = worker.run();
});

afterAll(async () => {
  worker?.shutdown();
  await running;
  await closeOut?.stop();
  await eventLog?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  await connection?.close();
  await clientConnection?.close();
});

function newMessage(extra: Partial<Message> = {}): Message {
  return { id: uniqueId('stub'), destination: { url: 'https://api.example.com/hook' }, body: { n: 1 }, ...extra };
}

async function start(
  message: Message,
  options: { script?: DeliverScript; memo?: Record<string, unknown> } = {},
): Promise<WorkflowHandle> {
  if (options.script) scripts.set(message.id, options.script);
  return client.workflow.start(MESSAGE_WORKFLOW, {
    taskQueue,
    workflowId: message.id,
    // As the API starts it: the lean type, with its delivery settings (the signalWithStart tests below
    // start the older type with the message alone, as a Temporal CLI user may).
    args: [message, { settings: loadConfig(TEST_ENV).delivery }],
    ...(options.memo ? { memo: options.memo } : {}),
  });
}

/** Polls the status query until `predicate` holds. */
async function waitFor(handle: WorkflowHandle, predicate: (status: MessageStatus) => boolean): Promise<MessageStatus> {
  const deadline = Date.now() + 20_000;
  let last: MessageStatus | undefined;
  while (Date.now() < deadline) {
    last = await handle.query(statusQuery).catch(() => undefined);
    if (last && predicate(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out; last status: ${JSON.stringify(last)}`);
}

/** A callback workflow's result: Temporal starts a child a moment after the parent's task asked for it. */
async function callbackResult(id: string): Promise<{ delivered: boolean }> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return (await client.workflow.getHandle(id).result()) as { delivered: boolean };
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** The message's logged events, oldest first. */
async function eventsOf(id: string) {
  return (await eventLog.read({ afterId: 0, limit: 1000, messageId: id })).filter((e) => e.messageId === id);
}

/** The states logged for the message, once its log has `count` events (the close-out follows the close). */
async function statesPublished(id: string, count: number): Promise<string[]> {
  const events = await eventually(() => eventsOf(id), { until: (logged) => logged.length >= count });
  return events.map((e) => e.state);
}
const deliveriesOf = (id: string) => delivered.filter((d) => d.message.id === id);

test('a delivery that fails twice and then succeeds ends delivered, with each attempt once and every event', async () => {
  const message = newMessage({ sender: 'ci' });
  const handle = await start(message, { script: (_round, attempt) => (attempt < 3 ? 'retryable' : 'delivered') });
  const status = (await handle.result()) as MessageStatus;

  expect(status).toMatchObject({ id: message.id, state: 'delivered', destination: 'api.example.com' });
  expect(status.attempts.map((a) => [a.round, a.attempt, a.outcome])).toEqual([
    [1, 1, 'retryable'],
    [1, 2, 'retryable'],
    [1, 3, 'delivered'],
  ]);
  expect(status.nextAttemptAt).toBeNull();
  expect(status.lastError).toBeNull();
  expect(deliveriesOf(message.id).map((d) => d.round)).toEqual([1, 1, 1]);
  expect(deliveriesOf(message.id)[0]?.plan.retry.maximumAttempts).toBe(3);
  // The result is what the status query answers.
  expect(await handle.query(statusQuery)).toEqual(status);
  const published = await eventually(() => eventsOf(message.id), { until: (logged) => logged.length >= 3 });
  expect(published.map((e) => [e.seq, e.state, e.sender])).toEqual([
    [1, 'accepted', 'ci'],
    [2, 'delivering', 'ci'],
    [3, 'delivered', 'ci'],
  ]);
  // The last one is recorded from the close, at the time the workflow reached it.
  expect(published[2]?.at).toBe(status.updatedAt);
  expect(deadLetters.filter((d) => d.id === message.id)).toEqual([]);
});

test('attempts exhausted: the dead letter gets the attempts and last error; a discard ends the workflow', async () => {
  const message = newMessage();
  const handle = await start(message, { script: () => 'retryable' });
  const parked = await waitFor(handle, (s) => s.state === 'dead_lettered');

  const [record] = deadLetters.filter((d) => d.id === message.id);
  expect(record).toMatchObject({
    id: message.id,
    message,
    reason: 'max_attempts_exhausted',
    round: 1,
    destination: 'api.example.com',
    lastError: { type: RETRYABLE_DELIVERY_ERROR, message: 'stub answered 503' },
    messageCreatedAt: parked.createdAt,
    deadLetteredAt: parked.deadLetter?.at,
  });
  expect(record?.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
  expect(parked.deadLetter).toMatchObject({ reason: 'max_attempts_exhausted', round: 1 });

  const answer = await handle.executeUpdate(discardUpdate, { args: [{}] });
  expect(answer.deadLetter?.discardedAt).toEqual(expect.any(String));
  expect(answer.state).toBe('discarded');
  const status = (await handle.result()) as MessageStatus;
  // A discarded dead letter has its own state, and keeps the dead letter it was.
  expect(status).toMatchObject({ state: 'discarded', deadLetter: { reason: 'max_attempts_exhausted', round: 1 } });
  expect(Date.parse(status.updatedAt)).toBeGreaterThanOrEqual(Date.parse(status.deadLetter!.discardedAt!));
  expect(discarded).toContain(message.id);
  expect(await statesPublished(message.id, 4)).toEqual(['accepted', 'delivering', 'dead_lettered', 'discarded']);
});

test('a permanent failure parks at once; a redrive delivers in the next round', async () => {
  const message = newMessage();
  const handle = await start(message, { script: (round) => (round === 1 ? 'permanent' : 'delivered') });
  const parked = await waitFor(handle, (s) => s.state === 'dead_lettered');
  expect(parked.lastError).toEqual({ type: PERMANENT_DELIVERY_ERROR, message: 'stub answered 400' });
  expect(deadLetters.find((d) => d.id === message.id)).toMatchObject({ reason: 'permanent_error', round: 1 });

  const answer = await handle.executeUpdate(redriveUpdate, { args: [{}] });
  expect(answer.state).not.toBe('dead_lettered');
  const status = (await handle.result()) as MessageStatus;
  expect(status).toMatchObject({ state: 'delivered', redrives: 1, deadLetter: null });
  expect(status.attempts.map((a) => [a.round, a.outcome])).toEqual([
    [1, 'permanent'],
    [2, 'delivered'],
  ]);
  expect(redriven).toContainEqual({ id: message.id, round: 1 });
  expect(deliveriesOf(message.id).map((d) => d.round)).toEqual([1, 2]);
  expect(await statesPublished(message.id, 5)).toEqual([
    'accepted',
    'delivering',
    'dead_lettered',
    'delivering',
    'delivered',
  ]);
});

test('a reply signalled with the start comes before validation and is ignored; a later reply is taken', async () => {
  const message = newMessage({ reply: { timeout: '30s' } });
  const handle = await client.workflow.signalWithStart(DELIVER_MESSAGE_WORKFLOW, {
    taskQueue,
    workflowId: message.id,
    args: [message],
    signal: replySignal,
    signalArgs: [{ body: 'too early' }],
  });
  const waiting = await waitFor(handle, (s) => s.state === 'awaiting_reply');
  expect(waiting.ignored).toEqual([
    { kind: 'reply', reason: 'the message has not been validated yet', at: expect.any(String) },
  ]);
  await handle.signal(replySignal, { body: { ok: true }, status: 200 });
  const status = (await handle.result()) as MessageStatus;
  expect(status).toMatchObject({ state: 'replied', reply: { body: { ok: true }, status: 200, via: 'signal' } });
  expect(await statesPublished(message.id, 4)).toEqual(['accepted', 'delivering', 'awaiting_reply', 'replied']);
});

test('a cancel sent with the start ends the message before any delivery', async () => {
  const message = newMessage();
  const handle = await client.workflow.signalWithStart(DELIVER_MESSAGE_WORKFLOW, {
    taskQueue,
    workflowId: message.id,
    args: [message],
    signal: cancelSignal,
    signalArgs: [{ reason: 'never mind' }],
  });
  const status = (await handle.result()) as MessageStatus;
  expect(status).toMatchObject({ state: 'cancelled', cancellation: { reason: 'never mind' }, attempts: [] });
  expect(deliveriesOf(message.id)).toEqual([]);
  expect(await statesPublished(message.id, 2)).toEqual(['accepted', 'cancelled']);
});

test('no reply within the timeout parks the message; cancelling the parked workflow discards it', async () => {
  const message = newMessage({ reply: { timeout: '1s' } });
  const handle = await start(message);
  const parked = await waitFor(handle, (s) => s.state === 'dead_lettered');
  expect(parked.lastError).toEqual({ type: 'ReplyTimeoutError', message: 'no reply within 1000ms' });
  expect(deadLetters.find((d) => d.id === message.id)).toMatchObject({ reason: 'reply_timeout', round: 1 });

  await handle.cancel();
  const status = (await handle.result()) as MessageStatus;
  expect(status.state).toBe('discarded');
  expect(status.deadLetter?.discardedAt).toEqual(expect.any(String));
  expect(discarded).toContain(message.id);
  expect(await statesPublished(message.id, 5)).toEqual([
    'accepted',
    'delivering',
    'awaiting_reply',
    'dead_lettered',
    'discarded',
  ]);
});

test('a message beyond a configured limit is rejected before any delivery, and publishes that', async () => {
  const message = newMessage({ retry: { maximumAttempts: 1000 } });
  const handle = await start(message);
  const status = (await handle.result()) as MessageStatus;
  expect(status.state).toBe('rejected');
  expect(status.rejection?.reason).toBe('the message breaks a configured limit');
  expect(deliveriesOf(message.id)).toEqual([]);
  expect(await statesPublished(message.id, 2)).toEqual(['accepted', 'rejected']);
});

test('callbacks: the outcome reaches each subscriber; a failing one is dead-lettered as a callback', async () => {
  const failing = `https://cb.example/${uniqueId('gone')}`;
  failingCallbacks.add(failing);
  const message = newMessage({ callback: { url: 'https://cb.example/ok' }, reply: { timeout: '30s' } });
  const handle = await start(message);
  await waitFor(handle, (s) => s.state === 'awaiting_reply');
  expect(await handle.executeUpdate(subscribeUpdate, { args: [{ url: failing }] })).toEqual({
    subscriptions: 2,
    notifiedNow: false,
  });
  await handle.signal(replySignal, { body: 'done' });
  expect(((await handle.result()) as MessageStatus).state).toBe('replied');

  const callbackIds = [`${message.id}.callback-1`, `${message.id}.callback-2`];
  const results = await Promise.all(callbackIds.map((id) => callbackResult(id)));
  expect(results.map((r: { delivered: boolean }) => r.delivered)).toEqual([true, false]);
  const sent = notified.filter((n) => callbackIds.includes(n.callbackId));
  expect(sent.map((n) => [n.callbackId, n.url])).toEqual([
    [callbackIds[0], 'https://cb.example/ok'],
    [callbackIds[1], failing],
  ]);
  expect(sent[0]?.payload).toMatchObject({ type: 'message.replied', data: { id: message.id, state: 'replied' } });
  expect(deadLetters.find((d) => d.id === callbackIds[1])).toMatchObject({
    kind: 'callback',
    reason: 'callback_failed',
    lastError: { type: PERMANENT_DELIVERY_ERROR, message: 'receiver answered 410' },
    attempts: [expect.objectContaining({ outcome: 'permanent', status: 410 })],
    message: { id: message.id, destination: { url: message.destination.url } } satisfies CallbackInput['message'],
  });
});

test('a restarted run continues the rounds of the run it redrives, and numbers its callbacks apart', async () => {
  const message = newMessage();
  const handle = await start(message, { script: () => 'permanent', memo: { redriveOf: { round: 2 } } });
  const parked = await waitFor(handle, (s) => s.state === 'dead_lettered');
  expect(parked.deadLetter?.round).toBe(3);
  expect(deliveriesOf(message.id).map((d) => d.round)).toEqual([3]);
  expect(deadLetters.find((d) => d.id === message.id)?.round).toBe(3);

  const url = 'https://cb.example/late';
  expect(await handle.executeUpdate(subscribeUpdate, { args: [{ url }] })).toEqual({
    subscriptions: 1,
    notifiedNow: true,
  });
  const callbackId = `${message.id}.callback-r3-1`;
  expect(await callbackResult(callbackId)).toMatchObject({ delivered: true });
  expect(notified.find((n) => n.callbackId === callbackId)?.payload).toMatchObject({ type: 'message.dead_lettered' });
  await handle.executeUpdate(discardUpdate, { args: [{}] });
  await handle.result();
});

test('the success path: events ride with the delivery, the end is recorded from the close, nothing runs before the delivery', async () => {
  const message = newMessage({ sender: 'ci' });
  const handle = await start(message);
  expect(((await handle.result()) as MessageStatus).state).toBe('delivered');
  expect(await statesPublished(message.id, 3)).toEqual(['accepted', 'delivering', 'delivered']);

  // The delivery carried the first two; no publishEvents call, no local activity.
  const [delivery] = deliveriesOf(message.id);
  expect(delivery?.events?.map((e) => [e.seq, e.state])).toEqual([
    [1, 'accepted'],
    [2, 'delivering'],
  ]);
  expect(batches.filter((batch) => batch.some((e) => e.messageId === message.id))).toEqual([]);
  const history = await handle.fetchHistory();
  expect(
    (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity'),
  ).toEqual([]);
});

test('events after commit: a state with no delivery to carry it goes through publishEvents; the end through the close-out', async () => {
  const message = newMessage({ reply: { timeout: '30s' } });
  const handle = await start(message);
  await waitFor(handle, (s) => s.state === 'awaiting_reply');
  await handle.signal(replySignal, { body: 'ok' });
  expect(((await handle.result()) as MessageStatus).state).toBe('replied');

  const logged = await eventually(() => eventsOf(message.id), { until: (events) => events.length >= 4 });
  // Every event once, in order, numbered 1…n.
  expect(logged.map((e) => [e.seq, e.state])).toEqual([
    [1, 'accepted'],
    [2, 'delivering'],
    [3, 'awaiting_reply'],
    [4, 'replied'],
  ]);
  const mine = batches.filter((batch) => batch.some((e) => e.messageId === message.id));
  expect(mine.flat().map((e) => e.state)).toEqual(['awaiting_reply']);
  expect(localEvents.filter((e) => e.messageId === message.id)).toEqual([]);

  const history = await handle.fetchHistory();
  const scheduled = (history.events ?? []).flatMap((e) => {
    const type = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return type ? [type] : [];
  });
  expect(scheduled).toEqual(['deliver', 'publishEvents']);
});
