/**
 * The API serves the contract's schemas, and Fastify's serializer drops whatever a response schema
 * lacks: so a status or dead letter read over HTTP (real app, real Temporal) must equal what the
 * workflow's `status` query and the store answer, field for field. The scenarios between them fill
 * every field the schemas name (checked too, so a new field cannot go untested).
 */
import type { TSchema } from '@sinclair/typebox';
import { Webhook } from 'standardwebhooks';
import { DeadLetterRecordSchema } from '../../src/contract/dead-letter';
import { cancelSignal, DELIVER_MESSAGE_WORKFLOW, replySignal } from '../../src/contract/definitions';
import { MessageStatusSchema, type MessageStatus } from '../../src/contract/message-status';
import { REPLY_SECRET, type TestApi } from '../helpers/api';
import { closedPort, type Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

/** Statuses the scenarios saw, for the check that every schema field was filled somewhere. */
const seenStatuses: unknown[] = [];
const seenDeadLetters: unknown[] = [];

/** GET /v1/messages/{id} must be the workflow's own status query answer, plus where it was read from. */
async function expectServedAsQueried(id: string): Promise<MessageStatus> {
  const queried = await herald.status(id);
  const served = await api.call('GET', `/v1/messages/${id}`);
  expect(served.status).toBe(200);
  expect(served.body).toEqual({ ...queried, source: 'workflow' });
  seenStatuses.push(queried);
  return queried;
}

/** GET /v1/dead-letters/{id} must be the store's record (the messages here carry no credentials to redact). */
async function expectDeadLetterServedAsStored(id: string): Promise<void> {
  const stored = await herald.store.get(id);
  expect(stored).toBeDefined();
  const served = await api.call('GET', `/v1/dead-letters/${id}`);
  expect(served.status).toBe(200);
  expect(served.body).toEqual(JSON.parse(JSON.stringify(stored)));
  const listed = await api.call<{ items: { id: string }[] }>('GET', '/v1/dead-letters?limit=500');
  expect(listed.body.items.find((item) => item.id === id)).toEqual(served.body);
  seenDeadLetters.push(stored);
}

async function eventually<T>(read: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function signed(id: string, payload: unknown) {
  const raw = JSON.stringify(payload);
  const webhookId = `${id}#reply`;
  const timestamp = new Date();
  return {
    raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
      'webhook-signature': new Webhook(REPLY_SECRET).sign(webhookId, timestamp, raw),
    },
  };
}

test('a message retried, dead-lettered, sent inputs it ignored, redriven and replied to is served whole', async () => {
  downstream.script('/full', [
    { status: 503, body: 'busy, try later' },
    { status: 400, body: 'no such order' },
  ]);
  const id = uniqueId('msg');
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/full'), method: 'PUT', headers: { 'X-Tenant': 'acme' } },
      body: { order: 42 },
      retry: {
        initialInterval: '50ms',
        backoffCoefficient: 2,
        maximumInterval: '1s',
        maximumAttempts: 3,
        jitter: 0.1,
        attemptTimeout: '2s',
        deadline: '30s',
      },
      reply: { timeout: '1m' },
      callback: { url: downstream.url('/full-callback') },
      metadata: { tenant: 'acme' },
    },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'dead_lettered');

  // Inputs a parked dead letter cannot take are recorded as ignored.
  const handle = herald.client.workflow.getHandle(id);
  await handle.signal(replySignal, { body: 'too late' });
  await handle.signal(cancelSignal, { reason: 'too late as well' });
  await herald.waitFor(id, (status) => status.ignored.length === 2);
  const parked = await expectServedAsQueried(id);
  expect(parked.deadLetter).toMatchObject({ reason: 'permanent_error', round: 1 });
  await expectDeadLetterServedAsStored(id);

  downstream.script('/full', [{ status: 200, body: 'accepted' }]);
  expect((await api.call('POST', `/v1/dead-letters/${id}/redrive`)).status).toBe(200);
  await herald.waitForState(id, 'awaiting_reply');
  await expectServedAsQueried(id);

  const { raw, headers } = signed(id, { body: { shipped: true }, status: 201, headers: { 'x-carrier': 'dhl' } });
  const replied = await api.call('POST', `/v1/messages/${id}/reply`, { raw, headers });
  expect(replied.status).toBe(200);
  // The reply route serves the status the update answered: the same as the query's, with nothing lost.
  expect(replied.body).toEqual({ ...(await herald.status(id)), source: 'workflow' });
  const final = await expectServedAsQueried(id);
  expect(final).toMatchObject({ state: 'replied', redrives: 1, reply: { via: 'update', status: 201 } });
  expect(final.attempts.map((a) => [a.round, a.outcome])).toEqual([
    [1, 'retryable'],
    [1, 'permanent'],
    [2, 'delivered'],
  ]);
  // The record after its redrive: redriven, with when and how often.
  await expectDeadLetterServedAsStored(id);
  expect(seenDeadLetters.at(-1)).toMatchObject({ state: 'redriven', redriveCount: 1 });
});

test('a message whose reply went to the blob store (above HERALD_INLINE_BODY_BYTES) is served whole', async () => {
  const id = uniqueId('large-reply');
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/large-reply') }, reply: { timeout: '1m' } },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'awaiting_reply');
  const { raw, headers } = signed(id, { body: { text: 'r'.repeat(200 * 1024) }, status: 200 });
  const replied = await api.call('POST', `/v1/messages/${id}/reply`, { raw, headers });
  expect(replied.status).toBe(200);
  const final = await expectServedAsQueried(id);
  expect(final.reply).toMatchObject({ bodyRef: { contentType: 'application/json' } });
  expect(final.reply).not.toHaveProperty('body');

  // And a dead letter of a message whose body went there.
  downstream.script('/large-refused', [{ status: 400, body: 'too much' }]);
  const refused = uniqueId('large-body');
  const large = { id: refused, destination: { url: downstream.url('/large-refused') }, body: 'b'.repeat(200 * 1024) };
  expect((await api.call('POST', '/v1/messages', { json: large })).status).toBe(202);
  await herald.waitForState(refused, 'dead_lettered');
  await expectDeadLetterServedAsStored(refused);
  expect(seenDeadLetters.at(-1)).toMatchObject({ message: { bodyRef: { contentType: 'application/json' } } });
});

test('a discarded dead letter, and the callback that never reached its sender, are served whole', async () => {
  downstream.script('/discarded', [{ status: 410 }]);
  // The sender's callback URL refuses connections: the callback is dead-lettered, with the error.
  const callbackPort = await closedPort();
  const id = uniqueId('msg');
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/discarded') },
      bodyBase64: Buffer.from('raw bytes').toString('base64'),
      contentType: 'application/octet-stream',
      callback: { url: `http://127.0.0.1:${callbackPort}/outcomes` },
    },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'dead_lettered');
  expect((await api.call('DELETE', `/v1/dead-letters/${id}`)).status).toBe(200);
  await herald.waitFor(id, (status) => status.deadLetter?.discardedAt !== undefined);
  await expectServedAsQueried(id);
  await expectDeadLetterServedAsStored(id);

  const callbackId = `${id}.callback-1`;
  await eventually(() => herald.store.get(callbackId), 'the callback to be dead-lettered');
  await expectDeadLetterServedAsStored(callbackId);
  expect(seenDeadLetters.at(-1)).toMatchObject({ kind: 'callback', reason: 'callback_failed' });
});

test('a message waiting for its next attempt, then cancelled, is served whole', async () => {
  const port = await closedPort();
  const id = uniqueId('msg');
  // Nothing listens on the port: connection refused, retried after a delay long enough to look at.
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: `http://127.0.0.1:${port}/nobody-home` },
      body: {},
      retry: { initialInterval: '10s', maximumInterval: '10s', maximumAttempts: 5, deadline: '2m' },
    },
  });
  expect(sent.status).toBe(202);
  const waiting = await herald.waitFor(id, (status) => status.attempts.length === 1 && status.nextAttemptAt !== null);
  expect(waiting.attempts[0]).toMatchObject({ cause: 'connection_refused', nextDelayMs: expect.any(Number) });
  await expectServedAsQueried(id);

  expect((await api.call('POST', `/v1/messages/${id}/cancel`, { json: { reason: 'not needed' } })).status).toBe(202);
  await herald.waitForState(id, 'cancelled');
  const cancelled = await expectServedAsQueried(id);
  expect(cancelled.cancellation?.reason).toBe('not needed');
});

test('messages on an ordering key, the first held by its paused destination, are served whole', async () => {
  const port = await closedPort();
  const host = `127.0.0.1:${port}`;
  expect((await api.call('PUT', `/v1/destinations/${host}`, { json: { paused: true } })).status).toBe(200);
  // The worker reads destination settings again within HERALD_DESTINATION_REFRESH (1 s).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const key = uniqueId('key');
  const [first, second] = [uniqueId('msg'), uniqueId('msg')];
  for (const id of [first, second]) {
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: `http://${host}/held` }, body: {}, orderingKey: key },
    });
    expect(sent.status).toBe(202);
  }
  const held = await herald.waitForState(first, 'paused');
  expect(held.hold?.reason).toBe('destination_paused');
  await expectServedAsQueried(first);
  const waiting = await herald.waitFor(second, (status) => status.ordering?.waiting === true);
  expect(waiting.ordering).toMatchObject({ key, predecessor: first, seq: 2 });
  await expectServedAsQueried(second);
  for (const id of [second, first]) {
    expect((await api.call('POST', `/v1/messages/${id}/cancel`, { json: {} })).status).toBe(202);
    await herald.waitForState(id, 'cancelled');
  }
  // A dead letter keeps the message's ordering fields.
  downstream.script('/gone-ordered', [{ status: 410 }]);
  const gone = uniqueId('msg');
  const sent = await api.call('POST', '/v1/messages', {
    json: {
      id: gone,
      destination: { url: downstream.url('/gone-ordered') },
      body: {},
      orderingKey: uniqueId('key'),
      orderingDeadLetter: 'block',
    },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(gone, 'dead_lettered');
  await expectDeadLetterServedAsStored(gone);
});

test('a message the workflow rejected is served whole', async () => {
  const id = uniqueId('msg');
  // Around the API, which would refuse it: the workflow validates its own input.
  await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
    workflowId: id,
    taskQueue: herald.taskQueue,
    args: [{ id, destination: { url: 42 } }],
  });
  await herald.waitForState(id, 'rejected');
  const rejected = await expectServedAsQueried(id);
  expect(rejected.rejection?.errors.length).toBeGreaterThan(0);
});

/**
 * Every field path a schema names (`attempts[].status`, `reply.headers`, …). Values the schema leaves
 * open (unknown JSON, records of strings) are leaves.
 */
function schemaPaths(schema: TSchema, prefix = ''): string[] {
  const branches = (schema.anyOf as TSchema[] | undefined)?.filter((branch) => branch.type !== 'null');
  if (branches) return [...new Set(branches.flatMap((branch) => schemaPaths(branch, prefix)))];
  if (schema.type === 'array') return schemaPaths(schema.items as TSchema, `${prefix}[]`);
  if (schema.type === 'object' && schema.properties) {
    return Object.entries(schema.properties as Record<string, TSchema>).flatMap(([key, property]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [path, ...schemaPaths(property, path)];
    });
  }
  return [];
}

/** Whether some value has something other than null or undefined at `path`. */
function filledAt(values: unknown[], path: string): boolean {
  const [head, ...rest] = path.split('.');
  const found = values.flatMap((value) => {
    if (value === null || typeof value !== 'object') return [];
    const many = head!.endsWith('[]');
    const field = (value as Record<string, unknown>)[many ? head!.slice(0, -2) : head!];
    if (field === null || field === undefined) return [];
    return many ? (Array.isArray(field) ? field : []) : [field];
  });
  return rest.length === 0 ? found.length > 0 : filledAt(found, rest.join('.'));
}

test('between them, the scenarios filled every field the status and dead-letter schemas name', () => {
  expect(seenStatuses.length).toBeGreaterThanOrEqual(7);
  const emptyStatusFields = schemaPaths(MessageStatusSchema).filter((path) => !filledAt(seenStatuses, path));
  expect(emptyStatusFields).toEqual([]);
  const emptyDeadLetterFields = schemaPaths(DeadLetterRecordSchema).filter((path) => !filledAt(seenDeadLetters, path));
  expect(emptyDeadLetterFields).toEqual([]);
});
