/**
 * Callbacks to the sender: signed per Standard Webhooks (verified here with the `standardwebhooks`
 * package), sent on every outcome, registered up front or later, retried while the receiver is down,
 * and dead-lettered as a callback when they never succeed, from where an operator replays them.
 */
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import type { OutcomePayload } from '../../src/contract/callback';
import type { TestApi } from '../helpers/api';
import { closedPort, type Downstream } from '../helpers/downstream';
import { CALLBACK_SECRET, uniqueId, type TestHerald } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

/** Waits until `count` requests reached `path` on the receiver. */
function received(receiver: Downstream, path: string, count = 1) {
  return eventually(() => receiver.requests(path), {
    until: (requests) => requests.length >= count,
    what: `${count} callbacks at ${path}`,
  });
}

/** Verifies a callback's signature with the standardwebhooks package and returns its payload. */
function verified(request: { body: string; headers: Record<string, unknown> }): OutcomePayload {
  const headers = Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(request.headers[name])]),
  );
  return new Webhook(CALLBACK_SECRET).verify(request.body, headers) as OutcomePayload;
}

async function send(json: Record<string, unknown>): Promise<string> {
  const response = await api.call<{ id: string }>('POST', '/v1/messages', { json });
  expect(response.status).toBe(202);
  return response.body.id;
}

test('a delivered message calls its callback, signed, with the outcome', async () => {
  const id = await send({
    destination: { url: downstream.url('/cb-target') },
    body: { n: 1 },
    callback: { url: downstream.url('/cb-delivered') },
    metadata: { order: '42' },
  });
  const [callback] = await received(downstream, '/cb-delivered');
  const payload = verified(callback!);
  expect(payload).toMatchObject({
    type: 'message.delivered',
    data: { id, state: 'delivered', attempts: 1, lastAttempt: { status: 200 }, metadata: { order: '42' } },
  });
  expect(callback!.headers['webhook-id']).toBe(`${id}.callback-1`);
  await recordHistory(herald.client, id, 'delivered-with-callback');
  // A tampered body fails verification: the signature covers the bytes.
  expect(() => verified({ ...callback!, body: callback!.body.replace('delivered', 'replied') })).toThrow();
});

test('a callback registered later reports the reply', async () => {
  const id = await send({ destination: { url: downstream.url('/cb-ask') }, body: {}, reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  const subscribed = await api.call('POST', `/v1/messages/${id}/subscriptions`, {
    json: { url: downstream.url('/cb-later') },
  });
  expect(subscribed.status).toBe(201);
  expect(subscribed.body).toEqual({ id, url: downstream.url('/cb-later'), notifiedNow: false });
  await herald.client.workflow.getHandle(id).signal('reply', { body: { answer: 'yes' } });
  const payload = verified((await received(downstream, '/cb-later'))[0]!);
  expect(payload).toMatchObject({ type: 'message.replied', data: { id, reply: { body: { answer: 'yes' } } } });
  await recordHistory(herald.client, id, 'subscribed-later-replied');
});

test('dead-lettered and cancelled messages report their outcome too', async () => {
  downstream.script('/cb-fails', [{ status: 404 }]);
  const dead = await send({
    destination: { url: downstream.url('/cb-fails') },
    body: {},
    callback: { url: downstream.url('/cb-dead') },
  });
  expect(verified((await received(downstream, '/cb-dead'))[0]!)).toMatchObject({
    type: 'message.dead_lettered',
    data: { id: dead, deadLetter: { reason: 'permanent_error' } },
  });
  const cancelled = await send({
    destination: { url: downstream.url('/cb-wait') },
    body: {},
    reply: { timeout: '1m' },
    callback: { url: downstream.url('/cb-cancelled') },
  });
  await herald.waitForState(cancelled, 'awaiting_reply');
  await api.call('POST', `/v1/messages/${cancelled}/cancel`, { json: { reason: 'changed plans' } });
  expect(verified((await received(downstream, '/cb-cancelled'))[0]!)).toMatchObject({
    type: 'message.cancelled',
    data: { id: cancelled, cancellation: { reason: 'changed plans' } },
  });
});

test('subscribing to a finished message reports its outcome at once', async () => {
  const id = await send({ destination: { url: downstream.url('/cb-done') }, body: {} });
  await herald.client.workflow.getHandle(id).result();
  const subscribed = await api.call('POST', `/v1/messages/${id}/subscriptions`, {
    json: { url: downstream.url('/cb-late') },
  });
  expect(subscribed.status).toBe(201);
  expect(subscribed.body).toMatchObject({ notifiedNow: true });
  expect(verified((await received(downstream, '/cb-late'))[0]!)).toMatchObject({
    type: 'message.delivered',
    data: { id },
  });
});

test('a receiver that is down for a while still gets its callback', async () => {
  const port = await closedPort();
  const id = await send({
    destination: { url: downstream.url('/cb-x') },
    body: {},
    callback: { url: `http://127.0.0.1:${port}/hook` },
  });
  await herald.waitForState(id, 'delivered');
  // Down for the first attempts; then it comes up on the same port.
  await new Promise((resolve) => setTimeout(resolve, 400));
  const bodies: string[] = [];
  const receiver: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      bodies.push(body);
      res.end('thanks');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  try {
    await eventually(() => bodies.length > 0, { what: 'the callback' });
    expect(bodies).toHaveLength(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ type: 'message.delivered', data: { id } });
  } finally {
    receiver.close();
  }
});

test('a callback that never succeeds is dead-lettered as a callback, and replayed by redrive', async () => {
  downstream.script('/cb-broken', [{ status: 500 }]);
  const id = await send({
    destination: { url: downstream.url('/cb-y') },
    body: {},
    callback: { url: downstream.url('/cb-broken') },
  });
  const callbackId = `${id}.callback-1`;
  const record = await eventually(
    () =>
      api.call<{ kind: string; reason: string; callback: { messageId: string; url: string } }>(
        'GET',
        `/v1/dead-letters/${callbackId}`,
      ),
    { until: (response) => response.status === 200 && response.body.kind === 'callback', what: 'the dead letter' },
  );
  expect(record.body).toMatchObject({
    kind: 'callback',
    reason: 'callback_failed',
    callback: { messageId: id, url: downstream.url('/cb-broken') },
  });
  expect(downstream.requests('/cb-broken')).toHaveLength(5);
  await recordHistory(herald.client, callbackId, 'callback-dead-lettered');
  const listed = await api.call<{ items: { id: string }[] }>(
    'GET',
    '/v1/dead-letters?kind=callback&reason=callback_failed',
  );
  expect(listed.body.items.map((item) => item.id)).toContain(callbackId);

  downstream.script('/cb-broken', [{ status: 204 }]);
  const redrive = await api.call('POST', `/v1/dead-letters/${callbackId}/redrive`);
  expect(redrive.status).toBe(200);
  expect(redrive.body).toMatchObject({ id: callbackId, mode: 'restarted' });
  const all = await received(downstream, '/cb-broken', 6);
  expect(verified(all[5]!)).toMatchObject({ type: 'message.delivered', data: { id } });
  expect(all[5]!.headers['webhook-id']).toBe(callbackId);
  expect((await api.call<{ state: string }>('GET', `/v1/dead-letters/${callbackId}`)).body.state).toBe('redriven');
});

test('subscriptions are checked: refused destinations 422, unknown messages 404, bad bodies 400', async () => {
  const id = await send({ destination: { url: downstream.url('/cb-z') }, body: {}, reply: { timeout: '1m' } });
  const refused = await api.call('POST', `/v1/messages/${id}/subscriptions`, { json: { url: 'http://10.0.0.1/cb' } });
  expect(refused.status).toBe(422);
  expect(refused.body).toMatchObject({
    type: 'urn:herald:problem:destination-not-allowed',
    errors: [{ field: '/url' }],
  });
  expect(
    (await api.call('POST', `/v1/messages/${uniqueId('none')}/subscriptions`, { json: { url: downstream.url('/x') } }))
      .status,
  ).toBe(404);
  expect((await api.call('POST', `/v1/messages/${id}/subscriptions`, { json: {} })).status).toBe(400);
  // A callback URL that is not a URL, or hides a line break, is a bad request like a destination's.
  for (const url of ['not a url', 'http://example.com/cb\r\nX-Injected: 1']) {
    const malformed = await api.call('POST', `/v1/messages/${id}/subscriptions`, { json: { url } });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ type: 'urn:herald:problem:validation-failed', errors: [{ field: '/url' }] });
  }
  await api.call('POST', `/v1/messages/${id}/cancel`);
});
