/**
 * A store that cannot be reached is a 503 with Retry-After, never a 500: PostgreSQL refusing every
 * connection (the database closed to connections, its sessions ended) while the API takes an ordered
 * message, lists dead letters and reads a destination; and the same requests work once it is back.
 * The classifier (store/store-errors.ts) is checked on real failures of each kind too.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { isStoreUnavailable } from '../../src/store/store-errors';
import type { TestApi } from '../helpers/api';
import { startFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';
import { createTestDatabase, sqlOn } from '../helpers/postgres';

/** What a failing call threw. */
async function failure(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('the call did not fail');
}

describe('with PostgreSQL refusing connections', () => {
  let api: TestApi;
  let url: string;
  let name: string;
  const admin = () => process.env.HERALD_TEST_POSTGRES_URL!;
  const closeDatabase = async () => {
    await sqlOn(admin(), `ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
    await sqlOn(admin(), 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name]);
  };
  const openDatabase = () => sqlOn(admin(), `ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);

  beforeAll(async () => {
    url = await createTestDatabase('herald_store_down');
    name = new URL(url).pathname.slice(1);
    ({ api } = await startFixture({ api: true, worker: false, env: { HERALD_DATABASE_URL: url } }));
  }, 60_000);
  afterAll(async () => {
    await openDatabase();
  });

  test('an ordered message, the dead-letter list and a destination answer 503 store-unavailable, then work', async () => {
    const send = (id: string) =>
      api.call('POST', '/v1/messages', {
        json: { id, destination: { url: 'http://127.0.0.1:9/ordered' }, body: {}, orderingKey: 'k' },
      });
    await closeDatabase();
    try {
      for (const response of [
        await send(uniqueId('down')),
        await api.call('GET', '/v1/dead-letters'),
        await api.call('GET', '/v1/destinations/down.example.com'),
      ]) {
        expect(response.status).toBe(503);
        expect(response.body).toMatchObject({ type: 'urn:herald:problem:store-unavailable', status: 503 });
        expect(response.headers['retry-after']).toBe('2');
      }
    } finally {
      await openDatabase();
    }
    expect((await send(uniqueId('up'))).status).toBe(202);
    expect((await api.call('GET', '/v1/dead-letters')).status).toBe(200);
  }, 60_000);

  test('the classifier: refused connections and a database closed to connections pass; a bad query does not', async () => {
    const refused = new Pool({
      connectionString: 'postgres://herald@127.0.0.1:1/none',
      connectionTimeoutMillis: 2_000,
    });
    try {
      expect(isStoreUnavailable(await failure(() => refused.query('SELECT 1')))).toBe(true);
    } finally {
      await refused.end();
    }
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      expect(isStoreUnavailable(await failure(() => pool.query('SELECT no_such_column FROM pg_class')))).toBe(false);
      await closeDatabase();
      try {
        expect(isStoreUnavailable(await failure(() => pool.query('SELECT 1')))).toBe(true);
      } finally {
        await openDatabase();
      }
    } finally {
      await pool.end();
    }
  });
});

test('the classifier: SQLite locked past its busy timeout passes; a constraint does not', () => {
  const dir = mkdtempSync(join(tmpdir(), 'herald-store-busy-'));
  const path = join(dir, 'busy.sqlite');
  const holder = new Database(path);
  const other = new Database(path, { timeout: 0 });
  try {
    holder.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    holder.exec('BEGIN IMMEDIATE');
    holder.exec('INSERT INTO t VALUES (1)');
    let busy: unknown;
    try {
      other.exec('INSERT INTO t VALUES (2)');
    } catch (error) {
      busy = error;
    }
    expect(isStoreUnavailable(busy)).toBe(true);
    holder.exec('COMMIT');
    let constraint: unknown;
    try {
      other.exec('INSERT INTO t VALUES (1)');
    } catch (error) {
      constraint = error;
    }
    // (A code, not instanceof: better-sqlite3's errors may come from another realm under jest.)
    expect((constraint as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    expect(isStoreUnavailable(constraint)).toBe(false);
  } finally {
    holder.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the classifier on error shapes: which SQLSTATEs and socket codes pass, and a wrapped cause', () => {
  const pg = (code: string, message = 'x') => Object.assign(new Error(message), { code });
  for (const code of ['08006', '53300', '57P01', '57P03', '57014', '40001', '40P01'])
    expect([code, isStoreUnavailable(pg(code))]).toEqual([code, true]);
  // A dropped database, a full disk, a constraint: an operator's problem or a bug, not "try again".
  for (const code of ['57P04', '53100', '23505', '42P01', '55000'])
    expect([code, isStoreUnavailable(pg(code))]).toEqual([code, false]);
  expect(isStoreUnavailable(pg('55000', 'database "x" is not currently accepting connections'))).toBe(true);
  for (const code of ['EAI_AGAIN', 'ENETUNREACH', 'ECONNABORTED']) expect(isStoreUnavailable(pg(code))).toBe(true);
  expect(isStoreUnavailable(new Error('query failed', { cause: pg('ECONNRESET') }))).toBe(true);
  expect(isStoreUnavailable(new Error('Cannot use a pool after calling end on the pool'))).toBe(true);
  expect(isStoreUnavailable(new Error('something else'))).toBe(false);
  expect(isStoreUnavailable('a string')).toBe(false);
});
