/**
 * What a delivered message costs Temporal, counted in its history (not timed): the success path has the
 * bare one-activity workflow's two workflow tasks and its 11 events, plus two of Herald's own (the state
 * upserts: delivering, delivered; no patch marker, no local activity, no event-publishing activity). The events before the delivery ride with it and the
 * last one is recorded from the close, so the log still has all three states, in order.
 */
import { replySignal } from '../../src/contract/definitions';
import type { TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

/** The event types of a workflow's history, without the EVENT_TYPE_ prefix. */
async function historyOf(id: string): Promise<string[]> {
  const history = await herald.client.workflow.getHandle(id).fetchHistory();
  return (history.events ?? []).map((event) => {
    const name = Object.keys(event).find((key) => key.endsWith('EventAttributes'));
    return (name ?? 'unknown').replace(/EventAttributes$/, '');
  });
}

test('a message sent through the API and delivered at the first attempt: 2 workflow tasks, 13 events', async () => {
  const id = uniqueId('shape');
  downstream.script('/shape', [{ status: 200 }]);
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/shape') }, body: { n: 1 } },
  });
  expect(sent.status).toBe(202);
  const result = await herald.client.workflow.getHandle(id).result();
  expect(result).toMatchObject({ state: 'delivered' });

  expect(await historyOf(id)).toEqual([
    'workflowExecutionStarted',
    'workflowTaskScheduled',
    'workflowTaskStarted',
    'workflowTaskCompleted',
    'upsertWorkflowSearchAttributes', // delivering
    'activityTaskScheduled', // deliver
    'activityTaskStarted',
    'activityTaskCompleted',
    'workflowTaskScheduled',
    'workflowTaskStarted',
    'workflowTaskCompleted',
    'upsertWorkflowSearchAttributes', // delivered
    'workflowExecutionCompleted',
  ]);

  const logged = await eventually(() => herald.events.read({ afterId: 0, messageId: id }), {
    until: (events) => events.length >= 3,
    what: 'the delivered event, recorded from the close',
  });
  expect(logged.map((event) => [event.seq, event.state])).toEqual([
    [1, 'accepted'],
    [2, 'delivering'],
    [3, 'delivered'],
  ]);
});

test('a message that expects a reply adds only what waiting for it needs: the awaiting_reply event and upsert, the signal', async () => {
  const id = uniqueId('shape-reply');
  downstream.script('/shape-reply', [{ status: 202 }]);
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/shape-reply') }, body: {}, reply: { timeout: '30s' } },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'awaiting_reply');
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: { ok: true } });
  await herald.client.workflow.getHandle(id).result();
  const logged = await eventually(() => herald.events.read({ afterId: 0, messageId: id }), {
    until: (events) => events.length >= 4,
  });
  expect(logged.map((event) => event.state)).toEqual(['accepted', 'delivering', 'awaiting_reply', 'replied']);
  const history = await historyOf(id);
  expect(history.filter((type) => type === 'markerRecorded')).toHaveLength(0);
  expect(history.filter((type) => type === 'activityTaskScheduled')).toHaveLength(2); // deliver, publishEvents
});
