/** The PostgreSQL dead-letter store: the contract on a real PostgreSQL, and what only PostgreSQL has. */
import type { DeadLetterStore } from '../../src/store/dead-letter-store';
import { createTestDatabase, emptyHeraldTables, openTestStores, sqlOn } from '../helpers/postgres';
import { describeDeadLetterStore } from './dead-letter-store.contract';

let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
});

/** The dead-letter store of one process's stores: its close() ends their pool. */
async function storeOnItsOwnPool(): Promise<DeadLetterStore> {
  const stores = await openTestStores(url);
  return { ...stores.store, close: () => stores.close() };
}

describeDeadLetterStore('PostgreSQL', {
  open: async () => {
    const store = await storeOnItsOwnPool();
    await emptyHeraldTables(url);
    return store;
  },
  openAnother: storeOnItsOwnPool,
});

describe('PostgreSQL only', () => {
  let store: DeadLetterStore;
  beforeEach(async () => {
    store = await storeOnItsOwnPool();
    await emptyHeraldTables(url);
  });
  afterEach(() => store.close());

  test('a message body with \\u0000 and astral characters is kept as written (json, not jsonb)', async () => {
    const body = { text: 'nul\u0000 here', emoji: '📬', nested: { n: 1.5, big: 9007199254740991 } };
    await store.put({
      id: 'odd',
      message: { id: 'odd', destination: { url: 'https://api.example.com/hook' }, body },
      reason: 'permanent_error',
      lastError: null,
      attempts: [],
      round: 1,
      destination: 'api.example.com',
      messageCreatedAt: '2026-11-24T10:00:00.000Z',
      deadLetteredAt: '2026-11-24T10:00:01.000Z',
    });
    expect((await store.get('odd'))?.message.body).toEqual(body);
  });

  test('times are timestamps in the table (an operator can query them), read back as ISO strings', async () => {
    await store.put({
      id: 't',
      message: { id: 't', destination: { url: 'https://api.example.com/hook' }, body: null },
      reason: 'permanent_error',
      lastError: null,
      attempts: [],
      round: 1,
      destination: 'api.example.com',
      messageCreatedAt: '2026-11-24T10:00:00.000Z',
      deadLetteredAt: '2026-11-24T10:00:01.250Z',
    });
    const rows = await sqlOn<{ type: string; epoch: string }>(
      url,
      `SELECT pg_typeof(dead_lettered_at)::text AS type, extract(epoch FROM dead_lettered_at)::text AS epoch
       FROM herald_dead_letters WHERE id = 't'`,
    );
    expect(rows).toEqual([{ type: 'timestamp with time zone', epoch: '1795514401.250000' }]);
    expect((await store.get('t'))?.deadLetteredAt).toBe('2026-11-24T10:00:01.250Z');
  });

  test('ping fails on a database that takes no writes', async () => {
    const readOnly = await openTestStores(url, {
      HERALD_DATABASE_URL: `${url}?options=${encodeURIComponent('-c default_transaction_read_only=on')}`,
    });
    try {
      await expect(readOnly.store.ping()).rejects.toThrow('the database is read-only');
    } finally {
      await readOnly.close();
    }
  });
});
