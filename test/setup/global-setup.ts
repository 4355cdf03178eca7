/**
 * Starts one real Temporal dev server and one real PostgreSQL for the whole test run (free ports, never
 * a developer's 7233 or 5432), with Herald's search attributes, and bundles the workflows once for every
 * test worker.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HERALD_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';
import { findTemporalCli, temporalCliVersion } from '../../src/temporal/temporal-cli';
import { startPostgres, type RunningPostgres } from '../helpers/postgres';

export default async function globalSetup(): Promise<void> {
  // initdb takes seconds: it runs while the dev server starts.
  const postgres = startPostgres();
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

  const pg = await postgres;
  (globalThis as { __heraldPostgres?: RunningPostgres }).__heraldPostgres = pg;
  console.log(`[herald tests] PostgreSQL started at ${new URL(pg.url).host}`);

  const tmp = join(__dirname, '..', '.tmp');
  mkdirSync(tmp, { recursive: true });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: console.error,
    },
  });
  const codePath = join(tmp, 'workflow-bundle.js');
  writeFileSync(codePath, bundle.code);

  // Test files run in worker processes forked after this, so they inherit these.
  process.env.HERALD_TEST_TEMPORAL_ADDRESS = env.address;
  process.env.HERALD_TEST_NAMESPACE = env.namespace ?? 'default';
  process.env.HERALD_TEST_WORKFLOW_BUNDLE = codePath;
  process.env.HERALD_TEST_POSTGRES_URL = pg.url;
}
