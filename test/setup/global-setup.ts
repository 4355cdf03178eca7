/**
 * Starts one real Temporal dev server and one real PostgreSQL for the whole test run (free ports, never
 * a developer's 7233 or 5432), with Herald's search attributes, and bundles the workflows once for every
 * test worker.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { HERALD_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';
import { findTemporalCli, temporalCliVersion } from '../../src/temporal/temporal-cli';
import { startPostgres, type RunningPostgres } from '../helpers/postgres';
import { bundleWorkflowsForTests } from './workflow-bundle';

export default async function globalSetup(): Promise<void> {
  // initdb takes seconds: it runs while the dev server starts.
  const postgres = startPostgres();
  const env = await startDevServerForTests();
  const pg = await postgres;
  (globalThis as { __heraldPostgres?: RunningPostgres }).__heraldPostgres = pg;
  console.log(`[herald tests] PostgreSQL started at ${new URL(pg.url).host}`);
  const codePath = await bundleWorkflowsForTests();

  // Test files run in worker processes forked after this, so they inherit these.
  process.env.HERALD_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.HERALD_TEST_NAMESPACE = env.namespace ?? 'default';
  process.env.HERALD_TEST_WORKFLOW_BUNDLE = codePath;
  process.env.HERALD_TEST_POSTGRES_URL = pg.url;
}

/** The Temporal CLI's dev server (in memory) with Herald's search attributes; the teardown stops it. */
export async function startDevServerForTests(): Promise<TestWorkflowEnvironment> {
  const cli = findTemporalCli({ log: (line) => console.log(`\n${line}`) });
  console.log(`[herald tests] ${temporalCliVersion(cli.path)}`);
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli.path },
      ip: '127.0.0.1',
      searchAttributes: HERALD_SEARCH_ATTRIBUTES,
      log: { format: 'pretty', level: 'error' },
    },
  });
  (globalThis as { __heraldTemporal?: TestWorkflowEnvironment }).__heraldTemporal = env;
  console.log(`[herald tests] Temporal dev server started at ${env.address} (namespace ${env.namespace ?? 'default'})`);
  return env;
}
