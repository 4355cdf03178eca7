/**
 * The worker process entry (`npm run worker`): runs Herald's workflows and activities on the task queue
 * against TEMPORAL_ADDRESS until SIGINT/SIGTERM, then drains (attempts in flight finish, for up to
 * HERALD_WORKER_SHUTDOWN_GRACE) and closes. Several workers scale out one queue. The worker itself is
 * assembled in runtime/herald-worker.ts.
 */
import { openResources } from './runtime/resources';
import { runProcess } from './runtime/run-until-stopped';

runProcess('herald-worker', (config, logger) => openResources(config, { logger, worker: true }));
