/**
 * A message's life on the real server: status at each step, redrive after a dead letter, cancel,
 * duplicates both ways, rejected input, and the search attributes the Web UI filters by.
 */
import { cancelMessage, redriveMessage, startMessage } from '../../src/temporal/message-operations';
import { DELIVER_MESSAGE_WORKFLOW, MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import {
  MessageConflictError,
  MessageEndedError,
  MessageNotFoundError,
  RedriveNotAllowedError,
} from '../../src/temporal/operation-errors';
import type { MessageStatus } from '../../src/contract/message-status';
import { getMessageStatus } from '../../src/temporal/message-operations';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

test('status at each step: accepted → delivering (with next attempt) → awaiting_reply → replied', async () => {
  downstream.script('/steps', [{ status: 503 }, { status: 200 }]);
  const id = uniqueId('msg');
  const started = await herald.send({
    id,
    destination: { url: downstream.url('/steps') },
    body: { step: 1 },
    reply: { timeout: '30s' },
    retry: { initialInterval: '1s', maximumInterval: '1s' },
  });
  expect(started.state).toBe('accepted');

  const retrying = await herald.waitFor(id, (s) => s.attempts.length === 1);
  expect(retrying.state).toBe('delivering');
  expect(retrying.nextAttemptAt).not.toBeNull();
  expect(Date.parse(retrying.nextAttemptAt!) - Date.parse(retrying.attempts[0]!.finishedAt)).toBe(1000);
  expect(retrying.lastError).toBeNull();

  const waiting = await herald.waitForState(id, 'awaiting_reply');
  expect(waiting.attempts.map((a) => a.outcome)).toEqual(['retryable', 'delivered']);
  expect(waiting.nextAttemptAt).toBeNull();

  await herald.client.workflow.getHandle(id).signal('reply', { body: 'done' });
  const replied = await herald.waitForState(id, 'replied');
  expect(replied).toMatchObject<Partial<MessageStatus>>({
    id,
    destination: `127.0.0.1:${downstream.port}`,
    deadLetter: null,
    redrives: 0,
  });
  expect(Date.parse(replied.updatedAt)).toBeGreaterThanOrEqual(Date.parse(replied.createdAt));
  await recordHistory(herald.client, id, 'retried-replied');
});

test('redrive after a dead letter delivers again with the same id and history', async () => {
  downstream.script('/redrive', [{ status: 400 }, { status: 200 }]);
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/redrive') }, body: { redrive: true } });
  const dead = await herald.waitForState(id, 'dead_lettered');
  expect(dead.deadLetter).toMatchObject({ reason: 'permanent_error', round: 1 });
  expect(await herald.store.get(id)).toMatchObject({ state: 'dead_lettered', round: 1 });

  const redriven = await redriveMessage(herald.client, id, 'fixed the receiver');
  expect(redriven.state).not.toBe('dead_lettered');
  const delivered = await herald.waitForState(id, 'delivered');
  expect(delivered.redrives).toBe(1);
  expect(delivered.deadLetter).toBeNull();
  expect(delivered.attempts.map((a) => [a.round, a.attempt, a.outcome])).toEqual([
    [1, 1, 'permanent'],
    [2, 1, 'delivered'],
  ]);
  expect(await herald.store.get(id)).toMatchObject({ state: 'redriven', redriveCount: 1 });
  expect(downstream.requests('/redrive').map((r) => r.headers['idempotency-key'])).toEqual([id, id]);
  await recordHistory(herald.client, id, 'redriven-then-delivered');
});

test('redrive of a message that is not dead-lettered is refused', async () => {
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/fine') }, body: {}, reply: { timeout: '30s' } });
  await herald.waitForState(id, 'awaiting_reply');
  const error = await rejection(redriveMessage(herald.client, id));
  expect(error).toBeInstanceOf(RedriveNotAllowedError);
  expect((error as RedriveNotAllowedError).reason).toBe(
    'only a dead-lettered message can be redriven; this one is awaiting_reply',
  );
  await cancelMessage(herald.client, id);
  await herald.waitForState(id, 'cancelled');
});

test('cancel stops a message between retries', async () => {
  downstream.script('/cancel', [{ status: 503 }]);
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url('/cancel') },
    body: {},
    retry: { initialInterval: '10s', maximumInterval: '10s', maximumAttempts: 5 },
  });
  await herald.waitFor(id, (s) => s.attempts.length === 1);
  await cancelMessage(herald.client, id, 'sender changed its mind');
  const status = await herald.waitForState(id, 'cancelled');
  expect(status.cancellation?.reason).toBe('sender changed its mind');
  expect(status.nextAttemptAt).toBeNull();
  expect((await herald.client.workflow.getHandle(id).result()).state).toBe('cancelled');
  expect(downstream.requests('/cancel')).toHaveLength(1);
  await recordHistory(herald.client, id, 'cancelled-between-retries');

  const error = await rejection(cancelMessage(herald.client, id));
  expect(error).toBeInstanceOf(MessageEndedError);
  expect((error as MessageEndedError).state).toBe('cancelled');
});

test('cancelling the workflow of a parked dead letter discards it; it does not become cancelled', async () => {
  downstream.script('/parked-cancel', [{ status: 400 }]);
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/parked-cancel') }, body: {} });
  await herald.waitForState(id, 'dead_lettered');
  await herald.client.workflow.getHandle(id).cancel();
  const result = await herald.client.workflow.getHandle(id).result();
  expect(result).toMatchObject({
    state: 'discarded',
    cancellation: null,
    deadLetter: { reason: 'permanent_error', discardedAt: expect.any(String) },
  });
  expect(await herald.store.get(id)).toMatchObject({ state: 'discarded' });
});

test('cancel while awaiting a reply', async () => {
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/await') }, body: {}, reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  await cancelMessage(herald.client, id);
  const status = await herald.waitForState(id, 'cancelled');
  expect(status.cancellation?.reason).toBe('cancelled by request');
});

test('duplicates: the same content returns the existing message, other content is a conflict', async () => {
  const id = uniqueId('msg');
  const message = { id, destination: { url: downstream.url('/dupe') }, body: { a: 1, b: [1, 2] } };
  expect(await herald.send(message)).toMatchObject({ id, existing: false });
  // Same content with keys in another order is the same message.
  expect(await herald.send({ body: { b: [1, 2], a: 1 }, destination: message.destination, id })).toMatchObject({
    id,
    existing: true,
  });
  await herald.waitForState(id, 'delivered');
  // After the workflow has completed, too: the id is never reused.
  expect(await herald.send(message)).toEqual({ id, existing: true, state: 'delivered' });
  const conflict = await rejection(herald.send({ ...message, body: { a: 2 } }));
  expect(conflict).toBeInstanceOf(MessageConflictError);
  expect(downstream.requests('/dupe')).toHaveLength(1);
});

test('a duplicate of a message started by another client (no memo) is compared by its input', async () => {
  const id = uniqueId('msg');
  const message = { id, destination: { url: downstream.url('/foreign') }, body: { x: 1 } };
  await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
    workflowId: id,
    taskQueue: herald.taskQueue,
    args: [message],
  });
  expect(await startMessage(herald.client, message, herald.taskQueue)).toMatchObject({ existing: true });
  await expect(startMessage(herald.client, { ...message, body: { x: 2 } }, herald.taskQueue)).rejects.toBeInstanceOf(
    MessageConflictError,
  );
});

test.each([MESSAGE_WORKFLOW, DELIVER_MESSAGE_WORKFLOW])(
  'a malformed message started by any client ends at once as rejected, without calling the destination (%s)',
  async (workflowType) => {
    const id = uniqueId('msg');
    const handle = await herald.client.workflow.start(workflowType, {
      workflowId: id,
      taskQueue: herald.taskQueue,
      args: [{ id, destination: { url: downstream.url('/never'), method: 'FETCH' }, body: {}, surprise: true }],
    });
    const status = (await handle.result()) as MessageStatus;
    expect(status.state).toBe('rejected');
    expect(status.rejection?.reason).toBe('the message does not match the message schema');
    expect(status.rejection?.errors.map((e) => e.field)).toEqual(
      expect.arrayContaining(['/destination/method', '/surprise']),
    );
    expect(downstream.requests('/never')).toHaveLength(0);
    if (workflowType === MESSAGE_WORKFLOW) await recordHistory(herald.client, id, 'rejected-malformed');
  },
);

test('a message whose id differs from its workflow id, or that breaks a limit, is rejected', async () => {
  const mismatch = uniqueId('msg');
  const handle = await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
    workflowId: mismatch,
    taskQueue: herald.taskQueue,
    args: [{ id: 'other', destination: { url: downstream.url('/never') }, body: {} }],
  });
  expect(((await handle.result()) as MessageStatus).rejection?.errors).toEqual([
    { field: '/id', message: `must be ${mismatch}` },
  ]);

  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/never') }, body: {}, retry: { maximumAttempts: 1000 } });
  const status = await herald.waitForState(id, 'rejected');
  expect(status.rejection).toEqual({
    reason: 'the message breaks a configured limit',
    errors: [{ field: '/retry/maximumAttempts', message: 'must be at most 100 (configured limit)' }],
  });
  expect(downstream.requests('/never')).toHaveLength(0);
});

test('status of an unknown message is a typed not-found error', async () => {
  await expect(getMessageStatus(herald.client, uniqueId('nope'))).rejects.toBeInstanceOf(MessageNotFoundError);
});

test('HeraldState and HeraldDestination are searchable', async () => {
  downstream.script('/search', [{ status: 422 }]);
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url: downstream.url('/search') }, body: {} });
  await herald.waitForState(id, 'dead_lettered');
  const query = `HeraldState = 'dead_lettered' AND HeraldDestination = '127.0.0.1:${downstream.port}' AND WorkflowId = '${id}'`;
  // Visibility is eventually consistent.
  const found = await eventually(
    async () => {
      const listed: string[] = [];
      for await (const execution of herald.client.workflow.list({ query })) listed.push(execution.workflowId);
      return listed;
    },
    { until: (listed) => listed.length > 0, what: 'the search to find it', intervalMs: 200 },
  );
  expect(found).toEqual([id]);
  const description = await herald.client.workflow.getHandle(id).describe();
  expect(await description.staticSummary()).toBe(`POST 127.0.0.1:${downstream.port}`);
});
