/**
 * Messages whose workflow Temporal terminated or timed out: the workflow cannot say so, so the API reads
 * it from the execution. Status, the per-message event stream, the event log, the client and a parked
 * dead letter all agree.
 */
import { EventSource } from 'eventsource';
import { HeraldClient, TerminatedError } from '../../src/client';
import { DELIVER_MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import type { MessageStatus } from '../../src/contract/message-status';
import { HERALD_STATE } from '../../src/contract/search-attributes';
import { API_KEY, startTestApi, type TestApi } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { startTestHerald, uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  herald = await startTestHerald();
  api = await startTestApi(herald);
  downstream = await startDownstream();
});
afterAll(async () => {
  await api?.close();
  await herald?.stop();
  await downstream?.close();
});

async function until(predicate: () => boolean, timeoutMs = 20_000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** An EventSource on one message's stream with the test key; collects the states it is sent. */
function follow(id: string) {
  const states: { state: string; lastEventId: string }[] = [];
  let connections = 0;
  const source = new EventSource(`${api.url}/v1/messages/${id}/events`, {
    fetch: (input, init) => {
      connections += 1;
      return fetch(input, { ...init, headers: { ...(init?.headers as object), authorization: `Bearer ${API_KEY}` } });
    },
  });
  source.addEventListener('state', (event) => {
    states.push({ state: (JSON.parse(event.data) as { state: string }).state, lastEventId: event.lastEventId });
  });
  return { source, states, connections: () => connections };
}

async function sendAwaitingReply(path: string): Promise<string> {
  const response = await api.call<{ id: string }>('POST', '/v1/messages', {
    json: { destination: { url: downstream.url(path) }, body: {}, reply: { timeout: '5m' } },
  });
  expect(response.status).toBe(202);
  await herald.waitForState(response.body.id, 'awaiting_reply');
  return response.body.id;
}

test('a terminated message reads terminated everywhere the API answers, and its stream ends with it', async () => {
  const id = await sendAwaitingReply('/closed-terminated');
  const stream = follow(id);
  try {
    await until(() => stream.states.length === 1, 10_000, 'the current state');
    await herald.client.workflow.getHandle(id).terminate('operator pulled the plug');

    const status = await api.call<MessageStatus & { source: string }>('GET', `/v1/messages/${id}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id, state: 'terminated', nextAttemptAt: null, source: 'workflow' });
    expect(status.headers['retry-after']).toBeUndefined();
    // The workflow itself never learns it, and Temporal keeps a closed run's search attributes as they were.
    expect((await herald.client.workflow.getHandle(id).query<MessageStatus>('status')).state).toBe('awaiting_reply');
    const description = await herald.client.workflow.getHandle(id).describe();
    expect(description.typedSearchAttributes.get(HERALD_STATE)).toBe('awaiting_reply');

    await until(() => stream.states.some((s) => s.state === 'terminated'), 20_000, 'terminated on the stream');
    expect(stream.states.map((s) => s.state)).toEqual(['awaiting_reply', 'terminated']);
    // The server ended the stream; the reconnect after the final event is answered 204, which closes it.
    await until(() => stream.source.readyState === EventSource.CLOSED, 10_000, 'the stream to close');
    expect(stream.connections()).toBe(2);

    // The log has it once, numbered after the run's last event, with the message's sender.
    const logged = await herald.events.read({ afterId: 0, messageId: id });
    expect(logged.map((e) => [e.seq, e.state])).toEqual([
      [1, 'accepted'],
      [2, 'delivering'],
      [3, 'awaiting_reply'],
      [4, 'terminated'],
    ]);
    expect(logged[3]).toMatchObject({
      runId: description.runId,
      sender: 'tests',
      at: description.closeTime?.toISOString(),
    });
    // A stream opened now starts (and ends) there.
    const late = follow(id);
    try {
      await until(() => late.source.readyState === EventSource.CLOSED, 10_000, 'the late stream to close');
      expect(late.states.map((s) => s.state)).toEqual(['terminated']);
    } finally {
      late.source.close();
    }
    expect(await herald.events.read({ afterId: 0, messageId: id })).toHaveLength(4);
  } finally {
    stream.source.close();
  }

  const client = new HeraldClient({ baseUrl: api.url, apiKey: API_KEY });
  try {
    const error = await client
      .message(id)
      .result({ timeout: '10s' })
      .then(
        () => undefined,
        (failure: unknown) => failure,
      );
    expect(error).toBeInstanceOf(TerminatedError);
    expect(error).toMatchObject({ name: 'TerminatedError', state: 'terminated', messageId: id });
  } finally {
    await client.close();
  }
});

test('a message whose workflow ran past its execution timeout reads timed_out', async () => {
  const id = uniqueId('msg');
  await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
    workflowId: id,
    taskQueue: herald.taskQueue,
    args: [{ id, destination: { url: downstream.url('/closed-timeout') }, body: {}, reply: { timeout: '5m' } }],
    workflowExecutionTimeout: '3s',
  });
  await herald.waitForState(id, 'awaiting_reply');
  const deadline = Date.now() + 20_000;
  let status: MessageStatus | undefined;
  while (Date.now() < deadline) {
    status = (await api.call<MessageStatus>('GET', `/v1/messages/${id}`)).body;
    if (status.state !== 'awaiting_reply') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(status?.state).toBe('timed_out');

  // Opened after the end: the stream says it, and the log records it.
  const stream = follow(id);
  try {
    await until(() => stream.source.readyState === EventSource.CLOSED, 10_000, 'the stream to close');
    expect(stream.states.map((s) => s.state)).toEqual(['timed_out']);
  } finally {
    stream.source.close();
  }
  expect((await herald.events.latest(id))?.state).toBe('timed_out');
});

test('a parked dead letter whose workflow is terminated stays dead-lettered: its record can still be redriven', async () => {
  downstream.script('/closed-parked', [{ status: 400 }]);
  const response = await api.call<{ id: string }>('POST', '/v1/messages', {
    json: { destination: { url: downstream.url('/closed-parked') }, body: {} },
  });
  const { id } = response.body;
  await herald.waitForState(id, 'dead_lettered');
  await herald.client.workflow.getHandle(id).terminate();

  const status = await api.call<MessageStatus>('GET', `/v1/messages/${id}`);
  expect(status.body).toMatchObject({ state: 'dead_lettered', deadLetter: { reason: 'permanent_error' } });
  expect((await herald.events.latest(id))?.state).toBe('dead_lettered');
  expect((await api.call<{ state: string }>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('dead_lettered');

  downstream.script('/closed-parked', [{ status: 200 }]);
  const redrive = await api.call<{ mode: string }>('POST', `/v1/dead-letters/${id}/redrive`);
  expect(redrive.body).toMatchObject({ mode: 'restarted' });
  await herald.waitForState(id, 'delivered');
});
