/**
 * Live event streams consumed by a real EventSource client: every state in order, the stream ending at
 * the outcome, Last-Event-ID resuming without gaps, per-key visibility, and a second API process (its
 * own connection to the event log) seeing the same events.
 */
import { EventSource } from 'eventsource';
import { API_KEY, OTHER_API_KEY, type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import type { TestHerald } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';

let fixture: HeraldFixture;
let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  fixture = await startFixture({ api: true });
  ({ herald, api, downstream } = fixture);
});

interface Received {
  id: string;
  lastEventId: string;
  data: { id: string; state: string; seq: number; at: string; destination: string };
}

/** Opens an EventSource with an API key (and, for the first connection only, a Last-Event-ID). */
function open(url: string, key = API_KEY, firstLastEventId?: string) {
  const events: Received[] = [];
  let first = true;
  const source = new EventSource(url, {
    fetch: (input, init) => {
      const headers: Record<string, string> = {
        ...(init?.headers as Record<string, string>),
        authorization: `Bearer ${key}`,
      };
      if (first && firstLastEventId !== undefined) headers['last-event-id'] = firstLastEventId;
      first = false;
      return fetch(input, { ...init, headers });
    },
  });
  source.addEventListener('state', (event) => {
    events.push({ id: '', lastEventId: event.lastEventId, data: JSON.parse(event.data) as Received['data'] });
  });
  return { source, events };
}

async function send(json: Record<string, unknown>, key = API_KEY): Promise<string> {
  const response = await api.call<{ id: string }>('POST', '/v1/messages', {
    json,
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.status).toBe(202);
  return response.body.id;
}

test('GET /v1/messages/{id}/events: every state in order, then the stream ends', async () => {
  const id = await send({ destination: { url: downstream.url('/ev-1') }, body: {}, reply: { timeout: '1m' } });
  // Last-Event-ID 0: replay this message's events from the very beginning.
  const { source, events } = open(`${api.url}/v1/messages/${id}/events`, API_KEY, '0');
  try {
    await eventually(() => events.some((e) => e.data.state === 'awaiting_reply'), { what: 'awaiting_reply' });
    await herald.client.workflow.getHandle(id).signal('reply', { body: 'ok' });
    await eventually(() => events.some((e) => e.data.state === 'replied'), { what: 'replied' });
    expect(events.map((e) => e.data.state)).toEqual(['accepted', 'delivering', 'awaiting_reply', 'replied']);
    expect(events.map((e) => e.data.seq)).toEqual([1, 2, 3, 4]);
    expect(new Set(events.map((e) => e.data.id))).toEqual(new Set([id]));
    const ids = events.map((e) => Number(e.lastEventId));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    // The server ends the stream; the reconnect (with the terminal event's id) is answered 204, which closes it.
    await eventually(() => source.readyState === EventSource.CLOSED, {
      timeoutMs: 10_000,
      what: 'the stream to close',
    });
    expect(events).toHaveLength(4);
  } finally {
    source.close();
  }
});

test('without Last-Event-ID the stream starts with the current state', async () => {
  const id = await send({ destination: { url: downstream.url('/ev-2') }, body: {}, reply: { timeout: '1m' } });
  await herald.waitForState(id, 'awaiting_reply');
  const { source, events } = open(`${api.url}/v1/messages/${id}/events`);
  try {
    await eventually(() => events.length >= 1, { timeoutMs: 10_000, what: 'the first event' });
    expect(events[0]?.data.state).toBe('awaiting_reply');
    await api.call('POST', `/v1/messages/${id}/cancel`);
    await eventually(() => events.some((e) => e.data.state === 'cancelled'), { timeoutMs: 10_000, what: 'cancelled' });
    expect(events.map((e) => e.data.state)).toEqual(['awaiting_reply', 'cancelled']);
  } finally {
    source.close();
  }
});

test('GET /v1/events: only this key’s messages; Last-Event-ID resumes without gaps or repeats', async () => {
  const first = open(`${api.url}/v1/events`);
  let lastId = '';
  let firstId = '';
  try {
    await eventually(() => first.source.readyState === EventSource.OPEN, {
      timeoutMs: 10_000,
      what: 'the stream to open',
    });
    firstId = await send({ destination: { url: downstream.url('/ev-3') }, body: {} });
    await eventually(() => first.events.some((e) => e.data.id === firstId && e.data.state === 'delivered'), {
      what: 'first delivered',
    });
    lastId = first.events[first.events.length - 1]!.lastEventId;
  } finally {
    first.source.close();
  }
  // While nobody listens: one message of ours, one of another key.
  const missed = await send({ destination: { url: downstream.url('/ev-4') }, body: {} });
  const theirs = await send({ destination: { url: downstream.url('/ev-5') }, body: {} }, OTHER_API_KEY);
  await herald.waitForState(missed, 'delivered');
  await herald.waitForState(theirs, 'delivered');

  const resumed = open(`${api.url}/v1/events`, API_KEY, lastId);
  try {
    await eventually(() => resumed.events.some((e) => e.data.id === missed && e.data.state === 'delivered'), {
      what: 'missed events',
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(resumed.events.map((e) => [e.data.id, e.data.state])).toEqual([
      [missed, 'accepted'],
      [missed, 'delivering'],
      [missed, 'delivered'],
    ]);
    expect(resumed.events.every((e) => Number(e.lastEventId) > Number(lastId))).toBe(true);
  } finally {
    resumed.source.close();
  }
  const other = open(`${api.url}/v1/events`, OTHER_API_KEY, '0');
  try {
    await eventually(() => other.events.some((e) => e.data.id === theirs && e.data.state === 'delivered'), {
      what: 'their events',
    });
    expect(other.events.some((e) => e.data.id === missed || e.data.id === firstId)).toBe(false);
  } finally {
    other.source.close();
  }
});

test('a second API process with its own connection to the event log sees the same events', async () => {
  const second = await fixture.startApi();
  try {
    const id = await send({ destination: { url: downstream.url('/ev-6') }, body: {} });
    const { source, events: seen } = open(`${second.url}/v1/messages/${id}/events`, API_KEY, '0');
    try {
      await eventually(() => seen.some((e) => e.data.state === 'delivered'), {
        what: 'delivered via the second process',
      });
      expect(seen.map((e) => e.data.state)).toEqual(['accepted', 'delivering', 'delivered']);
    } finally {
      source.close();
    }
  } finally {
    await second.close();
  }
});

test('an unknown message is 404 and streams need an API key', async () => {
  expect((await api.call('GET', '/v1/messages/msg_unknown/events')).status).toBe(404);
  expect((await api.call('GET', '/v1/events', { headers: { authorization: null } })).status).toBe(401);
});
