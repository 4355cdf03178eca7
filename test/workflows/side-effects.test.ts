/** The side-effect queue as plain code: numbering, order, and when the workflow may end. */
import type { Message } from '../../src/contract/message';

// The rules are pure: loading the Temporal workflow API from them fails this file.
jest.mock('@temporalio/workflow', () => {
  throw new Error('this module must not load @temporalio/workflow');
});
import { SideEffectQueue } from '../../src/workflows/side-effects';

const message: Message = {
  id: 'msg-1',
  sender: 'ci',
  destination: { url: 'https://api.example.com/hook', headers: { authorization: 'Bearer secret' } },
  body: { secret: true },
};
const change = (state: string) => ({ state, destination: 'api.example.com', sender: 'ci', at: '2030-01-01T00:00:00Z' });

test('effects run in the order they were queued, one at a time; the queue is idle only when all have run', () => {
  const queue = new SideEffectQueue({ messageId: 'msg-1', runId: 'run-1', firstRound: 1, enabled: true });
  expect(queue.idle).toBe(true);
  queue.queueEvent(change('delivering'));
  queue.queueEvent(change('delivered'));
  queue.queueCallback('https://cb.example/a', message, { type: 'message.delivered' });
  expect(queue.hasWaiting).toBe(true);

  const first = queue.take();
  expect(first).toEqual({
    kind: 'event',
    event: { messageId: 'msg-1', runId: 'run-1', seq: 1, ...change('delivering') },
  });
  expect(queue.idle).toBe(false);
  queue.done();
  expect(queue.take()).toMatchObject({ kind: 'event', event: { seq: 2, state: 'delivered' } });
  queue.done();
  const callback = queue.take();
  expect(queue.hasWaiting).toBe(false);
  // Taken but still running: the workflow must not end yet.
  expect(queue.idle).toBe(false);
  queue.done();
  expect(queue.idle).toBe(true);
  expect(queue.take()).toBeUndefined();
  expect(callback).toEqual({
    kind: 'callback',
    input: {
      callbackId: 'msg-1.callback-1',
      messageId: 'msg-1',
      url: 'https://cb.example/a',
      sender: 'ci',
      payload: { type: 'message.delivered' },
      // Neither body nor headers (credentials) travel with a callback.
      message: { id: 'msg-1', destination: { url: 'https://api.example.com/hook' } },
      round: 1,
    },
  });
});

test('callback ids of a restarted run carry its first round', () => {
  const queue = new SideEffectQueue({ messageId: 'msg-1', runId: 'run-2', firstRound: 2, enabled: true });
  queue.queueCallback('https://cb.example/a', message, {});
  queue.queueCallback('https://cb.example/b', message, {});
  const ids = [queue.take(), queue.take()].map((e) => (e?.kind === 'callback' ? e.input.callbackId : undefined));
  expect(ids).toEqual(['msg-1.callback-r2-1', 'msg-1.callback-r2-2']);
});

test('a queue of a run from before events and callbacks takes nothing', () => {
  const queue = new SideEffectQueue({ messageId: 'msg-1', runId: 'run-1', firstRound: 1, enabled: false });
  queue.queueEvent(change('delivered'));
  queue.queueCallback('https://cb.example/a', message, {});
  expect(queue.hasWaiting).toBe(false);
  expect(queue.idle).toBe(true);
});

test('after commit, events go in batches of all that waits, callbacks one by one beside them', () => {
  const queue = new SideEffectQueue({ messageId: 'msg-1', runId: 'run-1', firstRound: 1, enabled: true });
  expect(queue.takeEvents()).toEqual([]);
  expect(queue.takeCallback()).toBeUndefined();
  expect(queue.idle).toBe(true);
  queue.queueEvent(change('accepted'));
  queue.queueEvent(change('delivering'));
  queue.queueEvent(change('delivered'));
  queue.queueCallback('https://cb.example/a', message, {});
  queue.queueCallback('https://cb.example/b', message, {});
  queue.queueEvent(change('discarded'));
  expect([queue.hasWaitingEvents, queue.hasWaitingCallbacks]).toEqual([true, true]);

  expect(queue.takeEvents().map((e) => [e.seq, e.state])).toEqual([
    [1, 'accepted'],
    [2, 'delivering'],
    [3, 'delivered'],
    [4, 'discarded'],
  ]);
  expect(queue.hasWaitingEvents).toBe(false);
  // A callback does not wait for the publish in flight.
  expect(queue.takeCallback()?.callbackId).toBe('msg-1.callback-1');
  // What is queued while a publish is in flight waits for the next one.
  queue.queueEvent(change('later'));
  queue.eventsDone();
  queue.callbackDone();
  expect(queue.idle).toBe(false);
  expect(queue.takeEvents().map((e) => [e.seq, e.state])).toEqual([[5, 'later']]);
  expect(queue.takeCallback()?.callbackId).toBe('msg-1.callback-2');
  expect(queue.hasWaiting).toBe(false);
  queue.eventsDone();
  // Still starting the second callback: the workflow must not end yet.
  expect(queue.idle).toBe(false);
  queue.callbackDone();
  expect(queue.idle).toBe(true);
});
