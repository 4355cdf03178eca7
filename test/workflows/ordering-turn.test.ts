/** The ordered-delivery rules of one message run: when it waits, and when it hands its turn on. */
import { MessageRun } from '../../src/workflows/message-run';
import { isOrderingStart, releasesTurn, type OrderingStart } from '../../src/workflows/ordering-turn';

const ID = 'msg-ordered';

function orderedRun(ordering: Partial<OrderingStart> = {}) {
  const released: string[] = [];
  const run = new MessageRun({
    id: ID,
    runId: 'run-1',
    publishing: true,
    lean: true,
    discardedState: true,
    now: () => '2030-01-01T00:00:00.000Z',
    ordering: { key: 'k', predecessor: 'msg-before', seq: 2, onDeadLetter: 'skip', ...ordering },
    releaseSuccessors: (ids) => released.push(...ids),
  });
  expect(run.validate({ id: ID, destination: { url: 'https://api.example.com/x' }, orderingKey: 'k' }).ok).toBe(true);
  return { run, released };
}

test('a message with a predecessor waits until that predecessor releases it; others are ignored', () => {
  const { run } = orderedRun();
  expect(run.status.ordering).toEqual({
    key: 'k',
    predecessor: 'msg-before',
    seq: 2,
    waiting: true,
    onDeadLetter: 'skip',
  });
  run.predecessorReleased('msg-someone-else');
  expect(run.waitingForPredecessor).toBe(true);
  run.predecessorReleased('msg-before');
  expect(run.waitingForPredecessor).toBe(false);
  expect(orderedRun({ predecessor: null }).run.waitingForPredecessor).toBe(false);
});

test('skip: a dead letter hands the turn on; a successor registering later is released at once', () => {
  const { run, released } = orderedRun();
  run.successorWaiting('msg-after');
  run.setState('delivering');
  expect(released).toEqual([]);
  run.parked('permanent_error', '2030-01-01T00:00:00.000Z', 1, 1000);
  expect(released).toEqual(['msg-after']);
  run.successorWaiting('msg-late');
  expect(released).toEqual(['msg-after', 'msg-late']);
  expect(run.releasesInFlight).toBe(2);
  run.orderingReleaseEnded();
  run.orderingReleaseEnded();
  expect(run.releasesInFlight).toBe(0);
});

test('block: a dead letter holds the successor until the discard (or the end of the run)', () => {
  const { run, released } = orderedRun({ onDeadLetter: 'block' });
  run.successorWaiting('msg-after');
  run.setState('delivering');
  run.parked('permanent_error', '2030-01-01T00:00:00.000Z', 1, 1000);
  expect(released).toEqual([]);
  run.discard('2030-01-01T00:00:01.000Z');
  expect(released).toEqual(['msg-after']);
  run.runEnding();
  expect(released).toEqual(['msg-after']);

  const retained = orderedRun({ onDeadLetter: 'block' });
  retained.run.successorWaiting('msg-after');
  retained.run.runEnding();
  expect(retained.released).toEqual(['msg-after']);
});

test('a run without a key releases whoever registers at once; the rules by state', () => {
  const released: string[] = [];
  const run = new MessageRun({
    id: ID,
    runId: 'r',
    publishing: true,
    releaseSuccessors: (ids) => released.push(...ids),
  });
  expect(run.status.ordering).toBeNull();
  run.successorWaiting('msg-after');
  expect(released).toEqual(['msg-after']);
  expect(releasesTurn('delivered', 'block')).toBe(true);
  expect(releasesTurn('dead_lettered', 'block')).toBe(false);
  expect(releasesTurn('dead_lettered', 'skip')).toBe(true);
  expect(releasesTurn('delivering', 'skip')).toBe(false);
  expect(isOrderingStart({ key: 'k', predecessor: null, seq: 1, onDeadLetter: 'skip' })).toBe(true);
  expect(isOrderingStart({ key: 'k', predecessor: null, seq: 1, onDeadLetter: 'drop' })).toBe(false);
});
