/** The SQLite event log on a real file: order, idempotent appends, a loud refusal of a second state under one number, and its in-process watch hint. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSeqConflictError, type EventLog, type NewMessageEvent } from '../../src/store/event-log';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';

let dir: string;
let log: EventLog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-event-log-'));
  log = openSqliteEventLog(join(dir, 'nested', 'events.sqlite'));
});
afterEach(async () => {
  await log.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

function event(seq: number, state: string, extra: Partial<NewMessageEvent> = {}): NewMessageEvent {
  return {
    messageId: 'msg-1',
    runId: 'run-1',
    seq,
    state,
    destination: 'api.example.com',
    sender: 'ci',
    at: `2030-01-01T00:00:0${seq}.000Z`,
    ...extra,
  };
}

const states = async (messageId = 'msg-1') =>
  (await log.read({ afterId: 0, messageId })).map((e) => [e.runId, e.seq, e.state]);

test('events are read back in the order they were appended, with their log positions', async () => {
  await log.append(event(1, 'accepted'));
  await log.append(event(2, 'delivering'));
  await log.append(event(1, 'accepted', { messageId: 'msg-2' }));
  const read = await log.read({ afterId: 0 });
  expect(read.map((e) => [e.messageId, e.seq, e.state])).toEqual([
    ['msg-1', 1, 'accepted'],
    ['msg-1', 2, 'delivering'],
    ['msg-2', 1, 'accepted'],
  ]);
  expect(read.map((e) => e.id)).toEqual([...read.map((e) => e.id)].sort((a, b) => a - b));
  expect(await log.lastId()).toBe(read[2]!.id);
  expect(await log.latest('msg-1')).toMatchObject({ seq: 2, state: 'delivering', sender: 'ci' });
  expect(await log.read({ afterId: read[0]!.id, messageId: 'msg-1' })).toHaveLength(1);
});

test('appending the same event again (an activity run twice) keeps it once', async () => {
  await log.append(event(1, 'accepted'));
  await log.append(event(2, 'delivering'));
  // A re-run publishes the same state under the same number, possibly stamped a little later.
  await log.append(event(2, 'delivering', { at: '2030-01-01T00:00:09.000Z' }));
  expect(await states()).toEqual([
    ['run-1', 1, 'accepted'],
    ['run-1', 2, 'delivering'],
  ]);
});

test('another state under a known number is refused loudly, and the log keeps the first', async () => {
  await log.append(event(1, 'accepted'));
  await log.append(event(2, 'delivering'));
  await log.append(event(3, 'awaiting_reply'));
  // The orphan: a retried workflow task went from delivering straight to replied, numbered 3 again.
  const refused = await log.append(event(3, 'replied')).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refused).toBeInstanceOf(EventSeqConflictError);
  expect(refused).toMatchObject({
    name: 'EventSeqConflictError',
    loggedState: 'awaiting_reply',
    event: { seq: 3, state: 'replied' },
    message: 'event 3 of message msg-1 (run run-1) is already logged as awaiting_reply; refusing replied',
  });
  expect(await states()).toEqual([
    ['run-1', 1, 'accepted'],
    ['run-1', 2, 'delivering'],
    ['run-1', 3, 'awaiting_reply'],
  ]);
  // The log still takes what comes next.
  await log.append(event(4, 'replied'));
  expect((await log.latest('msg-1'))?.state).toBe('replied');
});

test('numbers are per message and run: another run or message may use the same number', async () => {
  await log.append(event(1, 'accepted'));
  await log.append(event(1, 'delivering', { runId: 'run-2' }));
  await log.append(event(1, 'rejected', { messageId: 'msg-2' }));
  expect(await states()).toEqual([
    ['run-1', 1, 'accepted'],
    ['run-2', 1, 'delivering'],
  ]);
  expect(await states('msg-2')).toEqual([['run-1', 1, 'rejected']]);
});

test('a second connection to the same file sees the first one’s events and conflicts', async () => {
  const second = openSqliteEventLog(join(dir, 'nested', 'events.sqlite'));
  try {
    await log.append(event(1, 'accepted'));
    expect((await second.latest('msg-1'))?.state).toBe('accepted');
    await expect(second.append(event(1, 'cancelled'))).rejects.toBeInstanceOf(EventSeqConflictError);
    await second.append(event(1, 'accepted'));
    expect(await states()).toEqual([['run-1', 1, 'accepted']]);
  } finally {
    await second.close();
  }
});

test('watch: a hint soon after appends through this connection (one per tick), none after unsubscribe', async () => {
  let hints = 0;
  const unsubscribe = log.watch(() => (hints += 1));
  await log.append(event(1, 'accepted'));
  await log.append(event(2, 'delivering'));
  await new Promise((resolve) => setImmediate(resolve));
  expect(hints).toBe(1);
  await log.append(event(3, 'delivered'));
  await new Promise((resolve) => setImmediate(resolve));
  expect(hints).toBe(2);
  // Another connection's appends (another process's, in production) give this one no hint: readers poll.
  const second = openSqliteEventLog(join(dir, 'nested', 'events.sqlite'));
  try {
    await second.append(event(1, 'accepted', { messageId: 'msg-2' }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(hints).toBe(2);
  } finally {
    await second.close();
  }
  unsubscribe();
  await log.append(event(4, 'delivered', { runId: 'run-2' }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(hints).toBe(2);
});
