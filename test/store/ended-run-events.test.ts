/** Closing out a run Temporal ended, over a real SQLite event log. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordEndedRun } from '../../src/store/ended-run-events';
import type { EventLog } from '../../src/store/event-log';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import type { EndedRun } from '../../src/contract/message-event';

let log: EventLog;

beforeEach(async () => {
  log = await openSqliteEventLog(join(mkdtempSync(join(tmpdir(), 'herald-ended-')), 'events.sqlite'));
});
afterEach(() => log.close());

const run = (overrides: Partial<EndedRun> = {}): EndedRun => ({
  messageId: 'msg-1',
  runId: 'run-1',
  state: 'terminated',
  closedAt: '2026-12-01T00:00:00.000Z',
  destination: 'api.example.com',
  sender: 'ci',
  ...overrides,
});

const event = (seq: number, state: string, runId = 'run-1') => ({
  messageId: 'msg-1',
  runId,
  seq,
  state,
  destination: 'api.example.com',
  sender: 'ci',
  at: '2026-12-01T00:00:00.000Z',
});

test('appends the end after the run’s last event, once however often it is asked', async () => {
  await log.append(event(1, 'accepted'));
  await log.append(event(2, 'delivering'));
  expect(await recordEndedRun(log, run())).toBe(true);
  expect(await recordEndedRun(log, run())).toBe(false);
  const events = await log.read({ afterId: 0, messageId: 'msg-1' });
  expect(events.map((e) => [e.seq, e.state])).toEqual([
    [1, 'accepted'],
    [2, 'delivering'],
    [3, 'terminated'],
  ]);
  expect(events.at(-1)).toMatchObject({ sender: 'ci', destination: 'api.example.com', at: run().closedAt });
});

test('a run that ended on its own is left as it is', async () => {
  await log.append(event(1, 'delivered'));
  expect(await recordEndedRun(log, run({ state: 'timed_out' }))).toBe(false);
  expect((await log.latest('msg-1'))?.state).toBe('delivered');
});

test('a new run of the message (a redrive after retention) numbers its end from 1', async () => {
  await log.append(event(1, 'accepted', 'run-0'));
  await log.append(event(2, 'dead_lettered', 'run-0'));
  expect(await recordEndedRun(log, run({ runId: 'run-1', state: 'timed_out' }))).toBe(true);
  expect(await log.latest('msg-1')).toMatchObject({ runId: 'run-1', seq: 1, state: 'timed_out' });
});

test('two processes closing out at once keep one event', async () => {
  await log.append(event(1, 'accepted'));
  await Promise.all([recordEndedRun(log, run()), recordEndedRun(log, run())]);
  const ends = (await log.read({ afterId: 0, messageId: 'msg-1' })).filter((e) => e.state === 'terminated');
  expect(ends).toHaveLength(1);
});

describe('the last event of a completed lean run (recorded from its close)', () => {
  test('comes after the events its delivery wrote', async () => {
    await log.append(event(1, 'accepted'));
    await log.append(event(2, 'delivering'));
    expect(await recordEndedRun(log, run({ state: 'delivered' }))).toBe(true);
    expect(await recordEndedRun(log, run({ state: 'delivered' }))).toBe(false);
    expect((await log.read({ afterId: 0, messageId: 'msg-1' })).map((e) => [e.seq, e.state])).toEqual([
      [1, 'accepted'],
      [2, 'delivering'],
      [3, 'delivered'],
    ]);
  });

  test('a discard after a dead letter is logged; a run that completed parked (retention ended) is not', async () => {
    await log.append(event(1, 'accepted'));
    await log.append(event(2, 'dead_lettered'));
    expect(await recordEndedRun(log, run({ state: 'dead_lettered' }))).toBe(false);
    expect(await recordEndedRun(log, run({ state: 'discarded' }))).toBe(true);
    expect((await log.latest('msg-1'))?.state).toBe('discarded');
  });

  test('a parked dead letter that Temporal ends keeps its outcome', async () => {
    await log.append(event(1, 'dead_lettered'));
    expect(await recordEndedRun(log, run({ state: 'terminated' }))).toBe(false);
    expect((await log.latest('msg-1'))?.state).toBe('dead_lettered');
  });
});
