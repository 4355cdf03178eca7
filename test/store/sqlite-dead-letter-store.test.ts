/** The SQLite dead-letter store on a real file: idempotent writes, rounds, state changes, filters, pages. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetterStore, NewDeadLetter } from '../../src/store/dead-letter-store';
import { InvalidCursorError, openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';

let dir: string;
let store: DeadLetterStore;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  store = openSqliteDeadLetterStore(join(dir, 'nested', 'dead-letters.sqlite'));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function record(id: string, overrides: Partial<NewDeadLetter> = {}): NewDeadLetter {
  return {
    id,
    message: { id, destination: { url: 'https://api.example.com/hook' }, body: { n: 1 } },
    reason: 'permanent_error',
    lastError: { type: 'PermanentDeliveryError', message: 'destination answered HTTP 400' },
    attempts: [],
    round: 1,
    destination: 'api.example.com',
    messageCreatedAt: '2026-11-24T10:00:00.000Z',
    deadLetteredAt: '2026-11-24T10:00:01.000Z',
    ...overrides,
  };
}

test('a retried write of the same round changes nothing and makes no second record', async () => {
  expect(await store.put(record('a'))).toEqual({ created: true });
  expect(await store.put(record('a', { reason: 'reply_timeout' }))).toEqual({ created: false });
  const stored = await store.get('a');
  expect(stored).toMatchObject({
    id: 'a',
    reason: 'permanent_error',
    state: 'dead_lettered',
    round: 1,
    redriveCount: 0,
  });
  expect((await store.list()).records).toHaveLength(1);
});

test('a redriven message that fails again replaces its record with the new round', async () => {
  await store.put(record('a'));
  await store.markRedriven('a', 1, '2026-11-24T11:00:00.000Z');
  await store.markRedriven('a', 1, '2026-11-24T11:00:05.000Z');
  expect(await store.get('a')).toMatchObject({
    state: 'redriven',
    redriveCount: 1,
    redrivenAt: '2026-11-24T11:00:00.000Z',
  });
  expect(await store.put(record('a', { round: 2, reason: 'max_attempts_exhausted' }))).toEqual({ created: true });
  expect(await store.get('a')).toMatchObject({
    state: 'dead_lettered',
    round: 2,
    reason: 'max_attempts_exhausted',
    redriveCount: 1,
  });
  // A late retry of the old round's write does not bring it back.
  expect(await store.put(record('a', { round: 1 }))).toEqual({ created: false });
  expect((await store.get('a'))?.round).toBe(2);
});

test('discard marks only a dead-lettered record', async () => {
  await store.put(record('a'));
  await store.markDiscarded('a', '2026-11-24T12:00:00.000Z');
  expect((await store.get('a'))?.state).toBe('discarded');
  await store.markRedriven('a', 1, '2026-11-24T12:00:01.000Z');
  expect((await store.get('a'))?.state).toBe('discarded');
  expect(await store.get('missing')).toBeUndefined();
});

test('filters by reason, destination, state and time; pages walk every record exactly once', async () => {
  for (let i = 0; i < 25; i++) {
    await store.put(
      record(`m${String(i).padStart(2, '0')}`, {
        reason: i % 2 === 0 ? 'permanent_error' : 'reply_timeout',
        destination: i < 10 ? 'a.example.com' : 'b.example.com',
        deadLetteredAt: new Date(Date.UTC(2026, 10, 24, 10, 0, i)).toISOString(),
      }),
    );
  }
  await store.markRedriven('m00', 1, '2026-11-24T11:00:00.000Z');
  expect((await store.list({ reason: 'reply_timeout', limit: 500 })).records).toHaveLength(12);
  expect((await store.list({ destination: 'a.example.com', limit: 500 })).records).toHaveLength(10);
  expect((await store.list({ state: 'redriven' })).records.map((r) => r.id)).toEqual(['m00']);
  const window = await store.list({ since: '2026-11-24T10:00:05.000Z', until: '2026-11-24T10:00:10.000Z' });
  expect(window.records.map((r) => r.id)).toEqual(['m05', 'm06', 'm07', 'm08', 'm09']);

  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ limit: 7, cursor });
    seen.push(...page.records.map((r) => r.id));
    cursor = page.nextCursor ?? undefined;
    pages += 1;
  } while (cursor);
  expect(pages).toBe(4);
  expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `m${String(i).padStart(2, '0')}`));
});

test('a cursor that is not ours is refused', async () => {
  await expect(store.list({ cursor: 'garbage' })).rejects.toBeInstanceOf(InvalidCursorError);
  await expect(store.list({ cursor: Buffer.from('[1,2]').toString('base64url') })).rejects.toBeInstanceOf(
    InvalidCursorError,
  );
});

test('ping proves the file takes writes; records survive reopening', async () => {
  await expect(store.ping()).resolves.toBeUndefined();
  await store.put(record('kept'));
  await store.close();
  store = openSqliteDeadLetterStore(join(dir, 'nested', 'dead-letters.sqlite'));
  expect((await store.get('kept'))?.message).toEqual(record('kept').message);
});
