/** HeraldClient against the real API, worker and dev server: send, outcomes, typed errors, dead letters. */
import { Webhook } from 'standardwebhooks';
import {
  CancelledError,
  DeadLetteredError,
  HeraldApiError,
  HeraldClient,
  HeraldUnreachableError,
  OutboxNotConfiguredError,
  RejectedError,
  TimeoutError,
  type MessageStatus,
} from '../../src/client';
import { DELIVER_MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import { API_KEY, REPLY_SECRET, startTestApi, type TestApi } from '../helpers/api';
import { closedPort, startDownstream, type Downstream } from '../helpers/downstream';
import { startTestHerald, uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
let client: HeraldClient;

beforeAll(async () => {
  herald = await startTestHerald();
  api = await startTestApi(herald, { HERALD_REDRIVE_RATE: '200' });
  downstream = await startDownstream();
  client = new HeraldClient({ baseUrl: api.url, apiKey: API_KEY });
});
afterAll(async () => {
  await client?.close();
  await api?.close();
  await herald?.stop();
  await downstream?.close();
});

/** Rejection of a promise, for asserting on typed errors. */
async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}

async function waitForState(id: string, state: MessageStatus['state']): Promise<MessageStatus> {
  for (let i = 0; i < 200; i++) {
    const status = await client.message(id).status();
    if (status.state === state) return status;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${id} never reached ${state}`);
}

test('send assigns a msg_ id, resolves on acceptance, and result() resolves delivered with the receipt', async () => {
  const message = { destination: { url: downstream.url('/client-send') }, body: { hello: 'client' } };
  const sent = await client.send(message);
  expect(sent.id).toMatch(/^msg_[0-9a-z]{26}$/);
  expect(sent.state).toBe('accepted');
  expect(sent.existing).toBe(false);

  const outcome = await sent.result({ timeout: '30s' });
  expect(outcome.state).toBe('delivered');
  if (outcome.state !== 'delivered') throw new Error('unreachable');
  expect(outcome.receipt).toMatchObject({ outcome: 'delivered', status: 200, attempt: 1, round: 1 });
  expect(outcome.status.id).toBe(sent.id);

  const requests = downstream.requests('/client-send');
  expect(requests).toHaveLength(1);
  expect(requests[0]?.headers['idempotency-key']).toBe(sent.id);
  expect(requests[0]?.body).toBe('{"hello":"client"}');

  // Sending the same message with its id again is a resend: the API answers with the existing message.
  const again = await client.send({ ...message, id: sent.id });
  expect(again).toMatchObject({ id: sent.id, existing: true, state: 'delivered' });
  expect(downstream.requests('/client-send')).toHaveLength(1);
});

test('result() follows retries and resolves once a later attempt delivers', async () => {
  downstream.script('/client-retry', [{ status: 503 }, { status: 200 }]);
  const sent = await client.send({ destination: { url: downstream.url('/client-retry') }, body: {} });
  const seen: string[] = [];
  const outcome = await sent.result({ timeout: '30s', onStatus: (status) => seen.push(status.state) });
  expect(outcome.state).toBe('delivered');
  if (outcome.state !== 'delivered') throw new Error('unreachable');
  expect(outcome.receipt).toMatchObject({ attempt: 2, status: 200 });
  expect(outcome.status.attempts.map((a) => a.status)).toEqual([503, 200]);
  expect(seen[seen.length - 1]).toBe('delivered');
});

test('a signed reply makes result() resolve replied with the reply', async () => {
  const sent = await client.send({
    destination: { url: downstream.url('/client-asks') },
    body: { question: 'six times seven' },
    reply: { timeout: '1m' },
  });
  const outcome = sent.result({ timeout: '30s' });
  await waitForState(sent.id, 'awaiting_reply');

  const raw = JSON.stringify({ body: { answer: 42 }, status: 200 });
  const webhookId = `${sent.id}:reply`;
  const now = new Date();
  const response = await api.call('POST', `/v1/messages/${sent.id}/reply`, {
    raw,
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(REPLY_SECRET).sign(webhookId, now, raw),
    },
  });
  expect(response.status).toBe(200);

  const result = await outcome;
  expect(result.state).toBe('replied');
  if (result.state !== 'replied') throw new Error('unreachable');
  expect(result.reply).toMatchObject({ body: { answer: 42 }, status: 200, via: 'update' });
});

test('a permanent error makes result() reject with DeadLetteredError carrying the dead-letter info', async () => {
  downstream.script('/client-dead', [{ status: 400, body: 'no such order' }]);
  const sent = await client.send({ destination: { url: downstream.url('/client-dead') }, body: {} });
  const error = await failure(sent.result({ timeout: '30s' }));
  expect(error).toBeInstanceOf(DeadLetteredError);
  expect(error.name).toBe('DeadLetteredError');
  const deadLettered = error as DeadLetteredError;
  expect(deadLettered.messageId).toBe(sent.id);
  expect(deadLettered.deadLetter).toMatchObject({ reason: 'permanent_error', round: 1 });
  expect(deadLettered.status.state).toBe('dead_lettered');
  expect(deadLettered.status.attempts).toHaveLength(1);
});

test('cancel() makes result() reject with CancelledError; a second cancel is a 409 HeraldApiError', async () => {
  downstream.script('/client-cancel', [{ status: 503 }]);
  const sent = await client.send({
    destination: { url: downstream.url('/client-cancel') },
    body: {},
    retry: { initialInterval: '10s', maximumInterval: '10s' },
  });
  const outcome = failure(sent.result({ timeout: '30s' }));
  await waitForState(sent.id, 'delivering');
  expect(await sent.cancel('no longer needed')).toEqual({ id: sent.id, cancelRequested: true });

  const error = await outcome;
  expect(error).toBeInstanceOf(CancelledError);
  expect(error.name).toBe('CancelledError');
  expect((error as CancelledError).cancellation).toMatchObject({ reason: 'no longer needed' });

  const again = await failure(sent.cancel());
  expect(again).toBeInstanceOf(HeraldApiError);
  expect(again).toMatchObject({ status: 409, type: 'urn:herald:problem:message-ended' });
});

test('result() rejects with TimeoutError when the wait is over; the message goes on', async () => {
  const sent = await client.send({
    destination: { url: downstream.url('/client-slow-reply') },
    body: {},
    reply: { timeout: '1m' },
  });
  await waitForState(sent.id, 'awaiting_reply');
  const startedAt = Date.now();
  const error = await failure(sent.result({ timeout: 700 }));
  expect(error).toBeInstanceOf(TimeoutError);
  expect(error.name).toBe('TimeoutError');
  expect(error).toMatchObject({ messageId: sent.id, timeoutMs: 700, lastStatus: { state: 'awaiting_reply' } });
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(650);
  expect((await sent.status()).state).toBe('awaiting_reply');
  await sent.cancel();
});

test('a message the workflow refused makes result() reject with RejectedError', async () => {
  // The API never starts an invalid message, so start one through Temporal as another client could.
  const id = uniqueId('client-rejected');
  await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
    workflowId: id,
    taskQueue: herald.taskQueue,
    args: [{ id, destination: { url: downstream.url('/never'), method: 'FETCH' } }],
  });
  const error = await failure(client.message(id).result({ timeout: '30s' }));
  expect(error).toBeInstanceOf(RejectedError);
  expect(error.name).toBe('RejectedError');
  expect((error as RejectedError).rejection?.errors.map((e) => e.field)).toContain('/destination/method');
  expect(downstream.requests('/never')).toHaveLength(0);
});

test('a refused destination is a 422 HeraldApiError with the problem body', async () => {
  const error = await failure(client.send({ destination: { url: 'http://10.1.2.3/internal' }, body: {} }));
  expect(error).toBeInstanceOf(HeraldApiError);
  expect(error.name).toBe('HeraldApiError');
  const apiError = error as HeraldApiError;
  expect(apiError.status).toBe(422);
  expect(apiError.type).toBe('urn:herald:problem:destination-not-allowed');
  expect(apiError.problem).toMatchObject({ status: 422, errors: [{ field: '/destination/url' }] });
});

test('an invalid message is a 400 HeraldApiError naming the field', async () => {
  const error = await failure(
    client.send({ destination: { url: downstream.url('/x'), method: 'FETCH' as 'POST' }, body: {} }),
  );
  expect(error).toBeInstanceOf(HeraldApiError);
  expect(error).toMatchObject({ status: 400, type: 'urn:herald:problem:validation-failed' });
  expect((error as HeraldApiError).problem.errors?.map((e) => e.field)).toContain('/destination/method');
});

test('a wrong API key is a 401, an unknown id a 404, and an unreachable API a HeraldUnreachableError', async () => {
  const stranger = new HeraldClient({ baseUrl: api.url, apiKey: 'not-a-key-at-all-xx' });
  expect(await failure(stranger.send({ destination: { url: downstream.url('/x') } }))).toMatchObject({
    name: 'HeraldApiError',
    status: 401,
    type: 'urn:herald:problem:unauthorized',
  });
  expect(await failure(client.message(uniqueId('unknown')).result({ timeout: '10s' }))).toMatchObject({
    name: 'HeraldApiError',
    status: 404,
  });
  const nowhere = new HeraldClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: API_KEY });
  const error = await failure(nowhere.send({ destination: { url: downstream.url('/x') } }));
  expect(error).toBeInstanceOf(HeraldUnreachableError);
  expect(error).toMatchObject({ name: 'HeraldUnreachableError', code: 'ECONNREFUSED' });
  expect(() => nowhere.outbox).toThrow(OutboxNotConfiguredError);
});

describe('dead letters', () => {
  const targets: Downstream[] = [];
  afterAll(() => Promise.all(targets.map((target) => target.close())));

  /** A downstream of its own, so the destination filter sees only this test's dead letters. */
  async function ownDownstream(): Promise<Downstream> {
    const target = await startDownstream();
    targets.push(target);
    return target;
  }

  async function deadLettered(target: Downstream, path: string): Promise<string> {
    target.script(path, [{ status: 400 }]);
    const sent = await client.send({ destination: { url: target.url(path) }, body: { path } });
    expect(await failure(sent.result({ timeout: '30s' }))).toBeInstanceOf(DeadLetteredError);
    return sent.id;
  }

  test('list with filters, page by page, and get one', async () => {
    const target = await ownDownstream();
    const ids = [
      await deadLettered(target, '/dl-a'),
      await deadLettered(target, '/dl-a'),
      await deadLettered(target, '/dl-a'),
    ];
    const destination = `127.0.0.1:${target.port}`;
    const first = await client.deadLetters.list({ destination, reason: 'permanent_error', limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await client.deadLetters.list({ destination, limit: 2, cursor: first.nextCursor! });
    expect(second.items.map((item) => item.id)).toEqual(ids.slice(2));
    const all: string[] = [];
    for await (const record of client.deadLetters.all({ destination, limit: 2 })) all.push(record.id);
    expect(all).toEqual(ids);

    const one = await client.deadLetters.get(ids[0]!);
    expect(one).toMatchObject({ id: ids[0], reason: 'permanent_error', state: 'dead_lettered', destination });
    expect(one.message.body).toEqual({ path: '/dl-a' });
    expect(await failure(client.deadLetters.get(uniqueId('none')))).toMatchObject({ status: 404 });
    expect(await failure(client.deadLetters.list({ reason: 'bored' as 'permanent_error' }))).toMatchObject({
      status: 400,
    });
  });

  test('redrive one, then every match; a second redrive is a 409', async () => {
    const target = await ownDownstream();
    const one = await deadLettered(target, '/dl-b');
    const others = [await deadLettered(target, '/dl-c'), await deadLettered(target, '/dl-c')];
    target.script('/dl-b', [{ status: 200 }]);
    target.script('/dl-c', [{ status: 200 }]);

    expect(await client.deadLetters.redrive(one)).toMatchObject({ id: one, mode: 'resumed' });
    expect((await client.message(one).result({ timeout: '30s' })).state).toBe('delivered');
    expect(await failure(client.deadLetters.redrive(one))).toMatchObject({
      status: 409,
      type: 'urn:herald:problem:redrive-not-allowed',
    });

    const bulk = await client.deadLetters.redriveMatching({ destination: `127.0.0.1:${target.port}` });
    expect(bulk).toEqual({ matched: 2, redriven: 2, failed: [] });
    for (const id of others) expect((await client.message(id).result({ timeout: '30s' })).state).toBe('delivered');
    expect((await client.deadLetters.get(others[0]!)).state).toBe('redriven');
    expect(target.requests('/dl-c')).toHaveLength(4);
  });
});
