/**
 * The worker process entry (`npm run worker`): runs Herald's workflows and activities on the task queue
 * against TEMPORAL_ADDRESS until SIGINT/SIGTERM, then drains (attempts in flight finish, for up to
 * HERALD_WORKER_SHUTDOWN_GRACE) and closes. Several workers scale out one queue. The worker itself is
 * assembled in runtime/herald-worker.ts.
 */
import { loadConfig } from './config/config';
import { createLogger } from './observability/logger';
import { openResources } from './runtime/resources';
import { runUntilStopped } from './runtime/run-until-stopped';

async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'herald-worker');
  try {
    return await runUntilStopped(await openResources(config, { logger, worker: true }));
  } catch (error) {
    logger.fatal({ err: error }, 'worker failed to start');
    return 1;
  }
}

// Exit explicitly: the SDK's native runtime keeps threads alive after everything is closed.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // An invalid configuration, before there is a logger.
    console.error(`[herald-worker] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
