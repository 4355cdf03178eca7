/**
 * `npm run dashboard:picture`: a picture of Herald's Grafana dashboard with real data, drawn from the
 * dashboard JSON's own queries against a real Prometheus (render.ts; Grafana itself is not used). It starts
 * PostgreSQL and a Temporal dev server (as the jest global setup does), Herald, four downstreams and
 * Prometheus (local-run.ts), sends about a minute of traffic (traffic.ts), writes
 * deploy/grafana/herald-dashboard.png, and stops everything it started, on failure, on Ctrl-C and after
 * DEADLINE_MS too.
 *
 *   npm run dashboard:picture [-- --out path.png] [-- --seconds 60]
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalPostgres, type RunningPostgres } from '../local-postgres';
import { startDevServerForTests } from '../../test/setup/global-setup';
import { startLocalRun, type LocalRun } from './local-run';
import { pictureOfRun } from './picture';
import { sendTraffic } from './traffic';

const ROOT = join(__dirname, '..', '..');
/** Start-up (a worker bundles its workflows), the traffic, the settle and the render, with room to spare. */
const DEADLINE_MS = 6 * 60_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(ROOT, 'deploy', 'grafana', 'herald-dashboard.png') },
      seconds: { type: 'string', default: '60' },
    },
  });
  const out = values.out;
  const seconds = Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds < 10 || seconds > 300) throw new Error('--seconds must be 10 to 300');

  let postgres: RunningPostgres | undefined;
  let temporal: TestWorkflowEnvironment | undefined;
  let run: LocalRun | undefined;
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      await run?.close().catch((error: Error) => console.error(`[dashboard] closing Herald: ${error.message}`));
      await temporal
        ?.teardown()
        .catch((error: Error) => console.error(`[dashboard] stopping Temporal: ${error.message}`));
      await postgres
        ?.stop()
        .catch((error: Error) => console.error(`[dashboard] stopping PostgreSQL: ${error.message}`));
    })());
  const abort = (why: string) => {
    console.error(`[dashboard] ${why}: stopping everything`);
    void stopAll().finally(() => process.exit(1));
  };
  process.once('SIGINT', () => abort('interrupted'));
  process.once('SIGTERM', () => abort('terminated'));
  const deadline = setTimeout(() => abort(`not done after ${DEADLINE_MS / 1000} s`), DEADLINE_MS);
  try {
    console.log('[dashboard] starting PostgreSQL and a Temporal dev server…');
    const postgresStarting = startLocalPostgres();
    temporal = await startDevServerForTests();
    postgres = await postgresStarting;
    // The test helpers read where Temporal and PostgreSQL are from these, as under jest.
    process.env.HERALD_TEST_TEMPORAL_ADDRESS = temporal.address;
    process.env.HERALD_TEST_NAMESPACE = temporal.namespace ?? 'default';
    process.env.HERALD_TEST_POSTGRES_URL = postgres.url;
    console.log('[dashboard] starting Herald (one worker, one API), four downstreams and Prometheus…');
    run = await startLocalRun();
    console.log(`[dashboard] Prometheus at ${run.prometheus.url}; sending traffic for ${seconds} s…`);
    const trafficStartedAt = Date.now();
    const counts = await sendTraffic(run, { durationMs: seconds * 1000, log: (line) => console.log(line) });
    console.log(`[dashboard] traffic done: ${JSON.stringify(counts)}`);
    const drawn = await pictureOfRun(run, {
      trafficStartedAt,
      out,
      subtitle: `Drawn by Herald's scripts/dashboard-picture (uPlot in Chromium), not Grafana: deploy/grafana/herald-dashboard.json's own queries against a real Prometheus, after ${seconds} s of local traffic (npm run dashboard:picture, ${new Date(trafficStartedAt).toISOString().slice(0, 16)}Z).`,
    });
    for (const panel of drawn)
      console.log(`[dashboard] ${panel.title}: ${panel.series} series, ${panel.points} points`);
    const empty = drawn.filter((panel) => panel.series === 0);
    if (empty.length > 0) throw new Error(`panels drew no data: ${empty.map((panel) => panel.title).join(', ')}`);
    console.log(`[dashboard] wrote ${relative(process.cwd(), out)}`);
  } finally {
    clearTimeout(deadline);
    await stopAll();
  }
}

main().then(
  // The Temporal SDK's native runtime keeps threads alive after everything is closed (as jest's forceExit says).
  () => process.exit(0),
  (error: Error) => {
    console.error(`[dashboard] ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
