/**
 * The embedded Temporal as `npm start` runs it: its SQLite file is in WAL mode (the tuning took), and a
 * workflow started before a stop is still there, running, after a start on the same data directory;
 * the legacy flags keep SQLite's rollback journal.
 */
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../scripts/free-port';
import {
  devServerTuningFlags,
  startDevServer,
  type DevServer,
  type DevServerOptions,
} from '../../src/temporal/dev-server';
import { findTemporalCli } from '../../src/temporal/temporal-cli';
import { uniqueId } from '../helpers/herald';

let dataDir: string;
let server: DevServer | undefined;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'herald-dev-server-'));
});

afterEach(async () => {
  await server?.stop();
  server = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(options: Partial<DevServerOptions> = {}): Promise<DevServer> {
  server = await startDevServer({
    cliPath: findTemporalCli({ log: () => undefined }).path,
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
    dataDir,
    log: () => undefined,
    ...options,
  });
  return server;
}

function journalMode(dbFile: string): string {
  const db = new Database(dbFile, { readonly: true });
  try {
    return String(db.pragma('journal_mode', { simple: true }));
  } finally {
    db.close();
  }
}

async function withClient<T>(address: string, use: (client: Client) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new Client({ connection }));
  } finally {
    await connection.close();
  }
}

test('the tuned file is in WAL mode, and a restart on it still finds a running workflow', async () => {
  const first = await start();
  const workflowId = uniqueId('dev-server-restart');
  // No worker polls this queue: the workflow stays running, as a message waiting for a retry would.
  await withClient(first.address, (client) =>
    client.workflow.start('deliverMessage', { taskQueue: uniqueId('nobody-polls'), workflowId, args: [{}] }),
  );
  await first.stop();
  expect(journalMode(first.dbFile)).toBe('wal');

  const second = await start();
  expect(second.dbFile).toBe(first.dbFile);
  const description = await withClient(second.address, (client) => client.workflow.getHandle(workflowId).describe());
  expect(description.status.name).toBe('RUNNING');
});

test('the legacy flags keep the rollback journal; the tuning flags name each pragma once', async () => {
  const legacy = await start({ tuning: 'legacy' });
  await legacy.stop();
  expect(journalMode(legacy.dbFile)).toBe('delete');
  expect(devServerTuningFlags({ inMemory: false })).toEqual(
    expect.arrayContaining(['--sqlite-pragma', 'journal_mode=wal', 'synchronous=NORMAL']),
  );
  expect(devServerTuningFlags({ inMemory: true })).not.toContain('--sqlite-pragma');
});
