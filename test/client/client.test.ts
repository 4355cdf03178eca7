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
import { API_KEY, REPLY_SECRET, type TestApi } from '../helpers/api';
import { closedPort, startDownstream, type Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
let client: HeraldClient;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ env: { HERALD_REDRIVE_RATE: '200' }, api: true }));
  client = new HeraldClient({ baseUrl: api.url, apiKey: API_KEY });
});
afterAll(async () => {
  await client?.close();
});

function waitForState(id: string, state: MessageStatus['state']): Promise<MessageStatus> {
  return eventually(() => client.message(id).status(), {
    until: (status) => status.state === state,
    what: `${id} to be ${state}`,
  });
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
  const webhookId = `${sent.id}#reply`;
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
  const result = sent.result({ timeout: '30s' });
  await expect(result).rejects.toBeInstanceOf(DeadLetteredError);
  await expect(result).rejects.toMatchObject({
    name: 'DeadLetteredError',
    messageId: sent.id,
    deadLetter: { reason: 'permanent_error', round: 1 },
    status: { state: 'dead_lettered', attempts: [expect.anything()] },
  });
});

test('cancel() makes result() reject with CancelledError; a second cancel is a 409 HeraldApiError', async () => {
  downstream.script('/client-cancel', [{ status: 503 }]);
  const sent = await client.send({
    destination: { url: downstream.url('/client-cancel') },
    body: {},
    retry: { initialInterval: '10s', maximumInterval: '10s' },
  });
  const outcome = sent.result({ timeout: '30s' });
  outcome.catch(() => undefined); // asserted below, once cancelled
  await waitForState(sent.id, 'delivering');
  expect(await sent.cancel('no longer needed')).toEqual({ id: sent.id, cancelRequested: true });

  await expect(outcome).rejects.toBeInstanceOf(CancelledError);
  await expect(outcome).rejects.toMatchObject({
    name: 'CancelledError',
    cancellation: { reason: 'no longer needed' },
  });

  const again = sent.cancel();
  await expect(again).rejects.toBeInstanceOf(HeraldApiError);
  await expect(again).rejects.toMatchObject({ status: 409, type: 'urn:herald:problem:message-ended' });
});

test('result() rejects with TimeoutError when the wait is over; the message goes on', async () => {
  const sent = await client.send({
    destination: { url: downstream.url('/client-slow-reply') },
    body: {},
    reply: { timeout: '1m' },
  });
  await waitForState(sent.id, 'awaiting_reply');
  const startedAt = Date.now();
  const result = sent.result({ timeout: 700 });
  await expect(result).rejects.toBeInstanceOf(TimeoutError);
  await expect(result).rejects.toMatchObject({
    name: 'TimeoutError',
    messageId: sent.id,
    timeoutMs: 700,
    lastStatus: { state: 'awaiting_reply' },
  });
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
  const result = client.message(id).result({ timeout: '30s' });
  await expect(result).rejects.toBeInstanceOf(RejectedError);
  await expect(result).rejects.toMatchObject({
    name: 'RejectedError',
    rejection: { errors: expect.arrayContaining([expect.objectContaining({ field: '/destination/method' })]) },
  });
  expect(downstream.requests('/never')).toHaveLength(0);
});

test('a refused destination is a 422 HeraldApiError with the problem body', async () => {
  const sent = client.send({ destination: { url: 'http://10.1.2.3/internal' }, body: {} });
  await expect(sent).rejects.toBeInstanceOf(HeraldApiError);
  await expect(sent).rejects.toMatchObject({
    name: 'HeraldApiError',
    status: 422,
    type: 'urn:herald:problem:destination-not-allowed',
    problem: { status: 422, errors: [{ field: '/destination/url' }] },
  });
});

test('an invalid message is a 400 HeraldApiError naming the field', async () => {
  const sent = client.send({ destination: { url: downstream.url('/x'), method: 'FETCH' as 'POST' }, body: {} });
  await expect(sent).rejects.toBeInstanceOf(HeraldApiError);
  await expect(sent).rejects.toMatchObject({
    status: 400,
    type: 'urn:herald:problem:validation-failed',
    problem: { errors: expect.arrayContaining([expect.objectContaining({ field: '/destination/method' })]) },
  });
});

test('a wrong API key is a 401, an unknown id a 404, and an unreachable API a HeraldUnreachableError', async () => {
  const stranger = new HeraldClient({ baseUrl: api.url, apiKey: 'not-a-key-at-all-xx' });
  await expect(stranger.send({ destination: { url: downstream.url('/x') } })).rejects.toMatchObject({
    name: 'HeraldApiError',
    status: 401,
    type: 'urn:herald:problem:unauthorized',
  });
  await expect(client.message(uniqueId('unknown')).result({ timeout: '10s' })).rejects.toMatchObject({
    name: 'HeraldApiError',
    status: 404,
  });
  const nowhere = new HeraldClient({ baseUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: API_KEY });
  const unreachable = nowhere.send({ destination: { url: downstream.url('/x') } });
  await expect(unreachable).rejects.toBeInstanceOf(HeraldUnreachableError);
  await expect(unreachable).rejects.toMatchObject({ name: 'HeraldUnreachableError', code: 'ECONNREFUSED' });
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
    await expect(sent.result({ timeout: '30s' })).rejects.toBeInstanceOf(DeadLetteredError);
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
    await expect(client.deadLetters.get(uniqueId('none'))).rejects.toMatchObject({ status: 404 });
    await expect(client.deadLetters.list({ reason: 'bored' as 'permanent_error' })).rejects.toMatchObject({
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
    await expect(client.deadLetters.redrive(one)).rejects.toMatchObject({
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
