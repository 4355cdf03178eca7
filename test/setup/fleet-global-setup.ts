/**
 * The global setup of `npm run test:fleet` (jest.fleet.config.js): one PostgreSQL and one Temporal for
 * the run, as in production. By default Temporal is the real server on that PostgreSQL (built from the
 * Go module proxy on first use, ~8 minutes, then cached in .tools/), with its schemas created and
 * Herald's search attributes registered through the operator API (scripts/temporal-server/);
 * HERALD_FLEET_TEMPORAL=dev runs the same suite on the CLI's dev server instead. Either way test files
 * get the same variables as under `npm test` (HERALD_TEST_TEMPORAL_ADDRESS, …), so every helper works.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildTemporalServer,
  startTemporalServer,
  type RunningTemporalServer,
} from '../../scripts/temporal-server/temporal-server';
import { startPostgres, type RunningPostgres } from '../helpers/postgres';
import { startDevServerForTests } from './global-setup';
import { bundleWorkflowsForTests } from './workflow-bundle';

export default async function fleetGlobalSetup(): Promise<void> {
  const kind = process.env.HERALD_FLEET_TEMPORAL || 'postgres';
  if (kind !== 'postgres' && kind !== 'dev') throw new Error(`HERALD_FLEET_TEMPORAL: postgres or dev, not "${kind}"`);
  const started = Date.now();
  const postgres = startPostgres();
  // PostgreSQL starts while the server builds (or is found built) and the workflows are bundled.
  const bundle = bundleWorkflowsForTests();
  let address: string;
  let namespace: string;
  if (kind === 'dev') {
    const env = await startDevServerForTests();
    address = env.address;
    namespace = env.namespace ?? 'default';
  } else {
    const buildStarted = Date.now();
    const build = await buildTemporalServer({ log: (line) => console.log(`\n${line}`) });
    const buildMs = Date.now() - buildStarted;
    const pg = await postgres;
    const tmp = join(__dirname, '..', '.tmp');
    mkdirSync(tmp, { recursive: true });
    const logFile = join(tmp, 'temporal-server.log');
    const log = createWriteStream(logFile);
    const server: RunningTemporalServer = await startTemporalServer({
      build,
      postgresUrl: pg.url,
      log: (line) => log.write(`${line}\n`),
    }).catch(async (error: Error) => {
      // jest runs no teardown after a failed setup.
      await pg.stop();
      throw new Error(`${error.message}\n(its whole log: ${logFile})`, { cause: error });
    });
    (globalThis as { __heraldTemporalServer?: RunningTemporalServer }).__heraldTemporalServer = server;
    const { timings } = server;
    console.log(
      `\n[herald fleet tests] Temporal ${build.version} on PostgreSQL at ${server.address}: ` +
        `build ${(buildMs / 1000).toFixed(1)} s, schemas ${timings.schemaMs} ms, start ${timings.serveMs} ms, ` +
        `namespace and search attributes ${timings.registerMs} ms (log: ${logFile})`,
    );
    address = server.address;
    namespace = server.namespace;
  }
  const pg = await postgres;
  (globalThis as { __heraldPostgres?: RunningPostgres }).__heraldPostgres = pg;
  const codePath = await bundle;
  console.log(`[herald fleet tests] ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  process.env.HERALD_TEST_TEMPORAL_KIND = kind;
  process.env.HERALD_TEST_TEMPORAL_ADDRESS = address;
  process.env.HERALD_TEST_NAMESPACE = namespace;
  process.env.HERALD_TEST_WORKFLOW_BUNDLE = codePath;
  process.env.HERALD_TEST_POSTGRES_URL = pg.url;
}
