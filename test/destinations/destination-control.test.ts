/**
 * Destination control on the real dev server, through the API, against real downstreams on 127.0.0.1:
 * a paused destination receives nothing and its messages spend no attempt; a retry policy changed by a
 * PATCH reaches messages already waiting for a retry; the global switch holds retries; a circuit
 * breaker opens, stays quiet, probes, closes, and announces both changes with a signed webhook.
 * Each test has a downstream (so a destination) of its own. (Rate limits across worker processes:
 * test/multi-host/destination-limits.test.ts.)
 */
import { Webhook } from 'standardwebhooks';
import type { MessageStatus } from '../../src/contract/message-status';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

const OPS_SECRET = `whsec_${Buffer.from('herald-test-operations-secret-32').toString('base64')}`;

let fixture: HeraldFixture;
let ops: Downstream;
const downstreams: Downstream[] = [];

beforeAll(async () => {
  ops = await startDownstream();
  fixture = await startFixture({
    api: true,
    env: {
      HERALD_DESTINATION_REFRESH: '100ms',
      HERALD_OPERATIONS_WEBHOOK_URL: ops.url('/ops'),
      HERALD_OPERATIONS_WEBHOOK_SECRET: OPS_SECRET,
      HERALD_RETRY_DEADLINE: '2m',
      HERALD_RETRY_MAXIMUM_ATTEMPTS: '50',
    },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([ops?.close(), ...downstreams.map((each) => each.close())]);
});

async function newDestination(): Promise<{ downstream: Downstream; host: string }> {
  const downstream = await startDownstream();
  downstreams.push(downstream);
  return { downstream, host: `127.0.0.1:${downstream.port}` };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 400));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function send(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = uniqueId('msg');
  const sent = await fixture.api.call('POST', '/v1/messages', {
    json: { id, destination: { url }, body: {}, ...extra },
  });
  expect(sent.status).toBe(202);
  return id;
}

async function change(host: string, method: 'PATCH' | 'PUT', settings: unknown) {
  const response = await fixture.api.call(method, `/v1/destinations/${host}`, { json: settings });
  expect(response.status).toBe(200);
  return response;
}

const status = (id: string): Promise<MessageStatus> => fixture.herald.status(id);

test('a paused destination receives nothing; its messages wait as paused, spend no attempt, and all arrive after resume', async () => {
  const { downstream, host } = await newDestination();
  await change(host, 'PATCH', { paused: true });
  await settle();
  const ids = await Promise.all(Array.from({ length: 10 }, () => send(downstream.url('/paused'))));
  for (const id of ids) {
    const held = await fixture.herald.waitForState(id, 'paused');
    expect(held.hold).toMatchObject({ reason: 'destination_paused' });
    expect(held.attempts).toEqual([]);
  }
  // Held through several checks (1 s, then 2 s …): nothing reaches the destination meanwhile.
  await sleep(3_500);
  expect(downstream.requests()).toHaveLength(0);
  for (const id of ids) expect((await status(id)).attempts).toEqual([]);

  await change(host, 'PATCH', { paused: false });
  for (const id of ids) {
    const delivered = await fixture.herald.waitForState(id, 'delivered', 30_000);
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]).toMatchObject({ outcome: 'delivered', status: 200 });
    expect(delivered.hold ?? null).toBeNull();
  }
  expect(
    downstream
      .requests()
      .map((r) => r.headers['idempotency-key'])
      .sort(),
  ).toEqual([...ids].sort());

  // The event log says what the message went through, in order. Its last event is recorded from the
  // run's committed close (the close-out watcher), a moment after the status says delivered.
  const events = await eventually(() => fixture.herald.events.read({ afterId: 0, messageId: ids[0]! }), {
    until: (read) => read.at(-1)?.state === 'delivered',
    what: 'the delivered event',
  });
  expect(events.map((e) => e.state)).toEqual(['accepted', 'delivering', 'paused', 'delivering', 'delivered']);
  // And the destination's history says who changed what.
  const history = await fixture.api.call<{ items: { kind: string; actor: string; after: unknown }[] }>(
    'GET',
    `/v1/destinations/${host}/history`,
  );
  expect(history.status).toBe(200);
  expect(history.body.items.map((item) => [item.kind, item.actor])).toEqual([
    ['settings', 'tests'],
    ['settings', 'tests'],
  ]);
}, 90_000);

test('a retry interval changed by a PATCH reaches 20 messages already waiting 30 s for their retry', async () => {
  const { downstream, host } = await newDestination();
  downstream.script('/slow-retry', [{ status: 503 }]);
  const retry = { initialInterval: '30s', maximumInterval: '30s', backoffCoefficient: 1, maximumAttempts: 10 };
  const ids = await Promise.all(Array.from({ length: 20 }, () => send(downstream.url('/slow-retry'), { retry })));
  for (const id of ids) await fixture.herald.waitFor(id, (s) => s.attempts.length === 1);
  const firstRequests = downstream.requests().length;
  expect(firstRequests).toBe(20);

  const changedAt = Date.now();
  await change(host, 'PATCH', { retry: { initialInterval: '1s', maximumInterval: '1s' } });
  // Every message makes its next attempt within about a second of the change, not 30 s after its first.
  // (Every message's, not 40 requests: a quick one may make its third before a slow one its second.)
  const requestsOf = (id: string) => downstream.requests().filter((r) => r.headers['idempotency-key'] === id);
  await eventually(async () => ids.every((id) => requestsOf(id).length >= 2), {
    until: (all) => all,
    timeoutMs: 10_000,
    what: 'a second attempt of every message',
  });
  const seconds = ids.map((id) => requestsOf(id)[1]!.at);
  for (const at of seconds) expect(at - changedAt).toBeLessThan(3_000);
  // And the ones after it follow the new interval.
  const id = ids[0]!;
  const after = await fixture.herald.waitFor(id, (s) => s.attempts.length >= 4, 15_000);
  const gaps = after.attempts.slice(1, 4).map((a) => a.nextDelayMs);
  for (const gap of gaps) expect(gap).toBeLessThanOrEqual(1_000);
  for (const each of ids) await fixture.api.call('POST', `/v1/messages/${each}/cancel`, { json: {} });
}, 90_000);

test('retries switched off hold every retry (first attempts still go) until they are on again', async () => {
  const { downstream, host } = await newDestination();
  downstream.script('/switch', [{ status: 503 }, { status: 200 }]);
  const off = await fixture.api.call('PUT', '/v1/settings/retries', { json: { retries: 'off' } });
  expect(off.status).toBe(200);
  try {
    await settle();
    const id = await send(downstream.url('/switch'));
    const held = await fixture.herald.waitForState(id, 'paused', 15_000);
    expect(held.hold).toMatchObject({ reason: 'retries_off' });
    expect(held.attempts).toHaveLength(1);
    await sleep(2_500);
    expect(downstream.requests('/switch')).toHaveLength(1);
  } finally {
    const on = await fixture.api.call('PUT', '/v1/settings/retries', { json: { retries: 'on' } });
    expect(on.status).toBe(200);
  }
  const delivered = await eventually(
    () => status(downstream.requests('/switch')[0]!.headers['idempotency-key'] as string),
    {
      until: (s) => s.state === 'delivered',
      timeoutMs: 20_000,
      what: 'the held message delivered after retries are on',
    },
  );
  expect(delivered.attempts.map((a) => a.outcome)).toEqual(['retryable', 'delivered']);
  expect(host).toContain('127.0.0.1');
}, 60_000);

test('a circuit breaker opens on failures, sends nothing while open, probes after the cool-down, closes when the destination heals, and says so signed', async () => {
  const { downstream, host } = await newDestination();
  let healthy = false;
  downstream.handle('/breaker', () => (healthy ? { status: 200 } : { status: 503 }));
  await change(host, 'PUT', {
    circuitBreaker: { failureRatio: 0.5, window: '30s', minimumAttempts: 4, cooldown: '4s', probes: 1 },
  });
  await settle();
  const retry = { initialInterval: '200ms', maximumInterval: '200ms', backoffCoefficient: 1, maximumAttempts: 40 };
  const ids = await Promise.all(Array.from({ length: 5 }, () => send(downstream.url('/breaker'), { retry })));

  const opened = await eventually(async () => ops.requests('/ops'), {
    until: (requests) => requests.length >= 1,
    timeoutMs: 20_000,
    what: 'the circuit_opened webhook',
  });
  const webhook = new Webhook(OPS_SECRET);
  const first = opened[0]!;
  const payload = webhook.verify(first.body, {
    'webhook-id': first.headers['webhook-id'] as string,
    'webhook-timestamp': first.headers['webhook-timestamp'] as string,
    'webhook-signature': first.headers['webhook-signature'] as string,
  }) as { type: string; data: { destination: string; to: string; at: string } };
  expect(payload).toMatchObject({ type: 'destination.circuit_opened', data: { destination: host, to: 'open' } });

  // Open: messages show why they wait, and the destination hears nothing until the cool-down ends.
  const paused = await fixture.herald.waitFor(ids[0]!, (s) => s.state === 'paused');
  expect(paused.hold?.reason).toBe('circuit_open');
  // When it opened, as the breaker recorded it (attempts already in flight may land just after).
  const openedAt = Date.parse(payload.data.at);
  const quietFrom = openedAt + 300;
  const quietUntil = openedAt + 3_500;
  await sleep(Math.max(0, quietUntil - Date.now()));
  // Nothing is sent while open. A request that lands in the quiet window anyway must belong to an attempt
  // admitted before the breaker opened (on a loaded machine one can land late); none started while open.
  const late = downstream.requests('/breaker').filter((r) => r.at > quietFrom && r.at <= quietUntil);
  for (const request of late) {
    const attempts = (await status(String(request.headers['idempotency-key']))).attempts;
    expect(attempts.some((attempt) => Date.parse(attempt.startedAt) <= openedAt + 100)).toBe(true);
  }
  for (const id of ids) {
    const startedWhileOpen = (await status(id)).attempts.filter(
      (attempt) => Date.parse(attempt.startedAt) > openedAt + 100 && Date.parse(attempt.startedAt) < quietUntil,
    );
    expect(startedWhileOpen).toEqual([]);
  }
  // After the cool-down (4 s), one probe; it fails, so the breaker opens again and waits another cool-down.
  const probes = () => downstream.requests('/breaker').filter((r) => r.at > quietUntil);
  await eventually(async () => probes(), {
    until: (found) => found.length >= 1,
    timeoutMs: 10_000,
    what: 'a probe after the cool-down',
  });
  expect(probes()[0]!.at - openedAt).toBeGreaterThanOrEqual(3_900);
  await sleep(1_500);
  expect(probes()).toHaveLength(1);

  healthy = true;
  for (const id of ids) await fixture.herald.waitForState(id, 'delivered', 30_000);
  const closed = await eventually(async () => ops.requests('/ops'), {
    until: (requests) => requests.some((r) => r.body.includes('destination.circuit_closed')),
    timeoutMs: 15_000,
    what: 'the circuit_closed webhook',
  });
  const last = closed.find((r) => r.body.includes('destination.circuit_closed'))!;
  expect(
    webhook.verify(last.body, {
      'webhook-id': last.headers['webhook-id'] as string,
      'webhook-timestamp': last.headers['webhook-timestamp'] as string,
      'webhook-signature': last.headers['webhook-signature'] as string,
    }),
  ).toMatchObject({ type: 'destination.circuit_closed', data: { destination: host, to: 'closed' } });

  const history = await fixture.api.call<{ items: { kind: string }[] }>('GET', `/v1/destinations/${host}/history`);
  const kinds = history.body.items.map((item) => item.kind).reverse();
  expect(kinds[0]).toBe('settings');
  expect(kinds).toContain('circuit_opened');
  expect(kinds).toContain('circuit_half_open');
  expect(kinds[kinds.length - 1]).toBe('circuit_closed');
  // No message was dead-lettered for the breaker: each spent only the attempts that reached the destination.
  for (const id of ids) {
    const final = await status(id);
    const sent = downstream.requests('/breaker').filter((r) => r.headers['idempotency-key'] === id).length;
    expect(final.attempts).toHaveLength(sent);
  }
}, 120_000);

test('maxConcurrency 2: ten messages to a slow destination never have more than two attempts in flight, and each spends one attempt', async () => {
  const { downstream, host } = await newDestination();
  await change(host, 'PUT', { maxConcurrency: 2 });
  await settle();
  const SLOW_MS = 400;
  downstream.handle('/slow', () => ({ status: 200, delayMs: SLOW_MS }));
  const ids = await Promise.all(Array.from({ length: 10 }, () => send(downstream.url('/slow'))));
  for (const id of ids) {
    const delivered = await fixture.herald.waitForState(id, 'delivered', 60_000);
    expect(delivered.attempts).toHaveLength(1);
  }
  // A lease ends only after the response (SLOW_MS after the request arrived): so no request may arrive
  // while two others that arrived less than SLOW_MS before it are still being answered.
  const arrivals = downstream
    .requests('/slow')
    .map((r) => r.at)
    .sort((a, b) => a - b);
  expect(arrivals).toHaveLength(10);
  const inFlightAt = arrivals.map(
    (at) => arrivals.filter((other) => other <= at && other > at - (SLOW_MS - 20)).length,
  );
  expect(Math.max(...inFlightAt)).toBeLessThanOrEqual(2);
  // And two at a time, not one: the limit is a limit, not a queue of one.
  expect(Math.max(...inFlightAt)).toBe(2);
}, 90_000);

test('a message held by a pause past its deadline is dead-lettered deadline_exceeded at the deadline, having made no attempt', async () => {
  const { downstream, host } = await newDestination();
  await change(host, 'PATCH', { paused: true });
  await settle();
  const sentAt = Date.now();
  const id = await send(downstream.url('/held-too-long'), { retry: { deadline: '4s' } });
  await fixture.herald.waitForState(id, 'paused');
  const dead = await fixture.herald.waitForState(id, 'dead_lettered', 30_000);
  // Its last check came just before the deadline (checks every 1 s, 2 s, 4 s … would have ended it at 3 s).
  expect(Date.now() - sentAt).toBeGreaterThanOrEqual(3_500);
  expect(dead.deadLetter).toMatchObject({ reason: 'deadline_exceeded' });
  expect(dead.attempts).toEqual([]);
  expect(downstream.requests()).toHaveLength(0);
  const letter = await fixture.api.call<{ reason: string }>('GET', `/v1/dead-letters/${id}`);
  expect(letter.body).toMatchObject({ reason: 'deadline_exceeded' });
}, 60_000);
