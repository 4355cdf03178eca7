/**
 * scripts/temporal-server/ itself, on the server built here and the run's PostgreSQL (only under
 * `npm run test:fleet` on PostgreSQL: jest.fleet.config.js leaves this folder out on the dev server).
 * Each test uses databases of its own, so the run's Temporal is never touched.
 */
import { Connection } from '@temporalio/client';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { HERALD_SEARCH_ATTRIBUTES } from '../../../src/contract/search-attributes';
import {
  buildTemporalServer,
  setupTemporalSchemas,
  startTemporalServer,
  type TemporalDatabases,
  type TemporalServerBuild,
} from '../../../scripts/temporal-server/temporal-server';

const postgresUrl = process.env.HERALD_TEST_POSTGRES_URL!;
let build: TemporalServerBuild;
let databaseCount = 0;

beforeAll(async () => {
  build = await buildTemporalServer(); // built by the global setup: this only finds it
});

/** Names no other test uses. */
function freshDatabases(): TemporalDatabases {
  const suffix = `${process.pid}_${Date.now().toString(36)}_${++databaseCount}`;
  return { default: `t_${suffix}`, visibility: `t_vis_${suffix}` };
}

/** The newest version under schema/postgresql/v12/<store>/versioned (v1.0 … v1.18). */
function newestSchemaVersion(store: 'temporal' | 'visibility'): string {
  return readdirSync(join(build.schemaDir, 'postgresql', 'v12', store, 'versioned'))
    .map((dir) => dir.replace(/^v/, ''))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .at(-1)!;
}

async function schemaVersion(database: string): Promise<string> {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query<{ curr_version: string }>(
      'SELECT curr_version FROM schema_version WHERE version_partition = 0 AND db_name = $1',
      [database],
    );
    return rows[0]!.curr_version;
  } finally {
    await client.end();
  }
}

test('the schema setup creates both databases at the newest version, and a second run changes nothing', async () => {
  const databases = freshDatabases();
  await setupTemporalSchemas(build, postgresUrl, databases);
  const first = [await schemaVersion(databases.default), await schemaVersion(databases.visibility)];
  expect(first).toEqual([newestSchemaVersion('temporal'), newestSchemaVersion('visibility')]);
  await setupTemporalSchemas(build, postgresUrl, databases);
  expect([await schemaVersion(databases.default), await schemaVersion(databases.visibility)]).toEqual(first);
}, 120_000);

test('a server started again on the same databases finds its namespace and search attributes', async () => {
  const databases = freshDatabases();
  const namespace = 'herald-restart';
  const first = await startTemporalServer({ build, postgresUrl, databases, namespace });
  await first.stop();
  const second = await startTemporalServer({ build, postgresUrl, databases, namespace });
  try {
    const connection = await Connection.connect({ address: second.address });
    try {
      const described = await connection.workflowService.describeNamespace({ namespace });
      expect(described.namespaceInfo?.name).toBe(namespace);
      expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(7 * 24 * 3600);
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      expect(Object.keys(customAttributes ?? {}).sort()).toEqual(HERALD_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
    } finally {
      await connection.close();
    }
  } finally {
    await second.stop();
  }
  expect(second.process.exitCode ?? second.process.signalCode).not.toBeNull();
}, 180_000);

test('a PostgreSQL that refuses the credentials fails the start with the database’s own words', async () => {
  const url = new URL(postgresUrl);
  url.password = 'not-the-password';
  await expect(
    startTemporalServer({ build, postgresUrl: url.toString(), databases: freshDatabases() }),
  ).rejects.toThrow(/password authentication failed/);
}, 60_000);
