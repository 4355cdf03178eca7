/** The SQLite dead-letter store: the contract on a real file, and what only a file has. */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeadLetterStore, NewDeadLetter } from '../../src/store/dead-letter-store';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';
import { describeDeadLetterStore } from './dead-letter-store.contract';

let dir: string | undefined;
let path: string;

function freshPath(): string {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = mkdtempSync(join(tmpdir(), 'herald-store-'));
  path = join(dir, 'nested', 'deeper', 'dead-letters.sqlite');
  return path;
}
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeDeadLetterStore('SQLite', {
  open: async () => openSqliteDeadLetterStore(freshPath()),
  openAnother: async () => openSqliteDeadLetterStore(path),
});

function record(id: string): NewDeadLetter {
  return {
    id,
    message: { id, destination: { url: 'https://api.example.com/hook' }, body: { n: 1 } },
    reason: 'permanent_error',
    lastError: null,
    attempts: [],
    round: 1,
    destination: 'api.example.com',
    messageCreatedAt: '2026-11-24T10:00:00.000Z',
    deadLetteredAt: '2026-11-24T10:00:01.000Z',
  };
}

describe('the file', () => {
  let store: DeadLetterStore;
  const opened: DeadLetterStore[] = [];
  const open = () => {
    const each = openSqliteDeadLetterStore(path);
    opened.push(each);
    return each;
  };
  beforeEach(() => {
    freshPath();
    store = open();
  });
  afterEach(async () => {
    for (const each of opened.splice(0)) await each.close().catch(() => undefined);
  });

  test('is created with its missing directories', async () => {
    expect(existsSync(path)).toBe(true);
  });

  test('ping resolves, writes nothing, and leaves the file writable by others', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
    await expect(store.ping()).resolves.toBeUndefined();
    expect((await store.list()).records).toEqual([]);
    // ping took and released the write lock: another connection can write straight away.
    const other = open();
    expect(await other.put(record('after-ping'))).toEqual({ created: true });
    expect((await store.get('after-ping'))?.id).toBe('after-ping');
  });

  test('a file from before retention gets its decision times from what it has, and is pruned by them', async () => {
    store.close();
    opened.splice(0);
    rmSync(path);
    const old = new Database(path);
    // The first release's table, with the columns added since then but not decided_at.
    old.exec(`CREATE TABLE dead_letters (
      id TEXT PRIMARY KEY, round INTEGER NOT NULL, reason TEXT NOT NULL, destination TEXT NOT NULL,
      state TEXT NOT NULL, message TEXT NOT NULL, last_error TEXT, attempts TEXT NOT NULL,
      message_created_at TEXT NOT NULL, dead_lettered_at TEXT NOT NULL, redriven_at TEXT,
      redrive_count INTEGER NOT NULL DEFAULT 0, kind TEXT NOT NULL DEFAULT 'message', callback TEXT)`);
    const insert = old.prepare(`INSERT INTO dead_letters (id, round, reason, destination, state, message, attempts,
      message_created_at, dead_lettered_at, redriven_at) VALUES (?, 1, 'permanent_error', 'h', ?, '{}', '[]', ?, ?, ?)`);
    insert.run(
      'redriven',
      'redriven',
      '2026-01-01T00:00:00.000Z',
      '2026-01-01T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
    );
    insert.run('discarded', 'discarded', '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', null);
    insert.run('waiting', 'dead_lettered', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', null);
    old.close();

    store = open();
    // The discard kept no time: its dead-letter time stands in. The redrive counts from its own.
    expect(await store.prune('2026-01-03T00:00:00.000Z', 100)).toBe(1);
    expect(await store.get('discarded')).toBeUndefined();
    expect(await store.prune('2026-01-06T00:00:00.000Z', 100)).toBe(1);
    expect((await store.list()).records.map((r) => r.id)).toEqual(['waiting']);
  });

  test('an in-memory store works too', async () => {
    const memory = openSqliteDeadLetterStore(':memory:');
    opened.push(memory);
    expect(await memory.put(record('a'))).toEqual({ created: true });
    expect((await memory.get('a'))?.id).toBe('a');
    await expect(memory.ping()).resolves.toBeUndefined();
  });
});
