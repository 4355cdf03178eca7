/**
 * The API process entry (`npm run api`): serves the HTTP API until SIGINT/SIGTERM, then closes it
 * (within a timeout) and its connections. Several API processes can serve one Temporal namespace;
 * `npm start` runs the API next to the worker. The app itself is built in app.ts.
 */
import { existsSync } from 'node:fs';
import { loadConfig } from '../config/config';
import { createLogger } from '../observability/logger';
import { openResources } from '../runtime/resources';
import { runUntilStopped } from '../runtime/run-until-stopped';

async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'herald-api');
  try {
    if (config.api.keys.length === 0) throw new Error('HERALD_API_KEYS is required (name:key,…)');
    return await runUntilStopped(await openResources(config, { logger, api: true }));
  } catch (error) {
    logger.fatal({ err: error }, 'API failed to start');
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // An invalid configuration, before there is a logger.
    console.error(`[herald-api] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
