/**
 * The API process entry: builds the app and listens. `npm run api` runs it alone (several API processes
 * can serve one Temporal namespace); `npm start` runs it next to the worker.
 */
import { Client, Connection } from '@temporalio/client';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfig, temporalAddress, type HeraldConfig } from '../config/config';
import { createLogger } from '../observability/logger';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { EventLog } from '../store/event-log';
import { openSqliteDeadLetterStore } from '../store/sqlite-dead-letter-store';
import { openSqliteEventLog } from '../store/sqlite-event-log';
import { buildApp, type HeraldApp } from './app';

/** Builds the API and listens on the configured host and port; resolves with the app and its URL. */
export async function startApi(deps: {
  config: HeraldConfig;
  client: Client;
  store: DeadLetterStore;
  events: EventLog;
  logger: Logger;
}): Promise<{ app: HeraldApp; url: string }> {
  const app = await buildApp(deps);
  const url = await app.listen({ host: deps.config.api.host, port: deps.config.api.port });
  return { app, url };
}

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'herald-api');
  if (config.api.keys.length === 0) throw new Error('HERALD_API_KEYS is required (name:key,…)');
  const connection = await Connection.connect({ address: temporalAddress(config) });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const store = openSqliteDeadLetterStore(config.deadLetterDbPath);
  const events = openSqliteEventLog(config.deadLetterDbPath);
  const { app, url } = await startApi({ config, client, store, events, logger });
  logger.info({ url }, 'API listening');
  const stop = async () => {
    await app.close();
    await events.close();
    await store.close();
    await connection.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`[herald-api] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
