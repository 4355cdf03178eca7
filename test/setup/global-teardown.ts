/**
 * Stops what the global setup started (the dev server or, under `npm run test:fleet`, the Temporal
 * server on PostgreSQL; then PostgreSQL); jest runs this even when tests fail.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningTemporalServer } from '../../scripts/temporal-server/temporal-server';
import type { RunningPostgres } from '../helpers/postgres';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export default async function globalTeardown(): Promise<void> {
  const env = (globalThis as { __heraldTemporal?: TestWorkflowEnvironment }).__heraldTemporal;
  if (env) {
    await env.teardown();
    console.log('[herald tests] Temporal dev server stopped');
  }
  const server = (globalThis as { __heraldTemporalServer?: RunningTemporalServer }).__heraldTemporalServer;
  if (server) {
    await server.stop();
    console.log('[herald tests] Temporal server stopped');
  }
  const postgres = (globalThis as { __heraldPostgres?: RunningPostgres }).__heraldPostgres;
  if (postgres) {
    await postgres.stop();
    console.log('[herald tests] PostgreSQL stopped');
  }
  // The summary reporter's line, again, so that it closes the output.
  const summary = join(__dirname, '..', '.tmp', 'summary.txt');
  if (existsSync(summary)) {
    console.log(`\n${readFileSync(summary, 'utf8')}`);
    rmSync(summary);
  }
}
