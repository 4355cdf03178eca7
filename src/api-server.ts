/**
 * The API process entry (`npm run api`): serves the HTTP API until SIGINT/SIGTERM, then closes it
 * (within a timeout) and its connections. Several API processes can serve one Temporal namespace;
 * `npm start` runs the API next to the worker. The app itself is built in api/app.ts.
 */
import { existsSync } from 'node:fs';
import { openResources } from './runtime/resources';
import { runProcess } from './runtime/run-until-stopped';

if (existsSync('.env')) process.loadEnvFile('.env');
runProcess('herald-api', async (config, logger) => {
  if (config.api.keys.length === 0) throw new Error('HERALD_API_KEYS is required (name:key,…)');
  return openResources(config, { logger, api: true });
});
