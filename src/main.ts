/**
 * `npm start`: Herald on its embedded default. Starts the Temporal dev server (SQLite under the data
 * directory, Web UI, Herald's search attributes) unless TEMPORAL_ADDRESS points at a cluster, then the
 * worker; prints the addresses; stops everything cleanly on Ctrl-C or SIGTERM.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { loadConfig, temporalAddress, type HeraldConfig } from './config/config';
import { applyDevCredentials, type DevCredentials } from './api/dev-credentials';
import { startApi } from './api/server';
import { createLogger } from './observability/logger';
import { installRuntimeLogger } from './temporal/runtime-logger';
import { openSqliteDeadLetterStore } from './store/sqlite-dead-letter-store';
import { openSqliteEventLog } from './store/sqlite-event-log';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { tryEnsureSearchAttributes } from './temporal/search-attributes-registration';
import { findTemporalCli } from './temporal/temporal-cli';
import { createHeraldWorker } from './worker';

async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  installRuntimeLogger(logger);

  let devServer: DevServer | undefined;
  let devCredentials: DevCredentials = {};
  if (!config.temporal.address) {
    devCredentials = applyDevCredentials(config);
    const cli = findTemporalCli({ log: (line) => console.log(line) });
    console.log(`[herald] starting the Temporal dev server on 127.0.0.1:${config.temporal.devServerPort}…`);
    devServer = await startDevServer({
      cliPath: cli.path,
      port: config.temporal.devServerPort,
      uiPort: config.temporal.uiPort,
      namespace: config.temporal.namespace,
      dataDir: config.dataDir,
      log: (line) => console.log(`[temporal] ${line}`),
    });
  }
  try {
    if (config.api.keys.length === 0)
      throw new Error('HERALD_API_KEYS is required when TEMPORAL_ADDRESS is set (name:key,…)');
    await runHerald(config, logger, devServer, devCredentials);
  } finally {
    // Also on a failed start-up: never leave an orphaned dev server holding the ports.
    await devServer?.stop();
    console.log('[herald] stopped');
  }
}

async function runHerald(
  config: HeraldConfig,
  logger: Logger,
  devServer: DevServer | undefined,
  devCredentials: DevCredentials,
): Promise<void> {
  const address = temporalAddress(config);
  const clientConnection = await Connection.connect({ address });
  const connection = await NativeConnection.connect({ address });
  const store = openSqliteDeadLetterStore(config.deadLetterDbPath);
  const events = openSqliteEventLog(config.deadLetterDbPath);
  try {
    await tryEnsureSearchAttributes(clientConnection, config.temporal.namespace, logger);
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const worker = await createHeraldWorker({ config, connection, client, store, events, logger });
    const api = await startApi({ config, client, store, events, logger });
    printAddresses(config, api.url, devServer, devCredentials);
    // The SDK's Runtime catches SIGINT/SIGTERM and shuts the worker down; run() resolves when it is done.
    try {
      await worker.run();
    } finally {
      console.log('[herald] stopping…');
      await api.app.close();
    }
  } finally {
    await events.close();
    await store.close();
    await clientConnection.close();
    await connection.close();
  }
}

function printAddresses(
  config: HeraldConfig,
  apiUrl: string,
  devServer: DevServer | undefined,
  devCredentials: DevCredentials,
): void {
  const lines = [
    '',
    'Herald is running.',
    `  API:              ${apiUrl}  (docs: ${apiUrl}/docs)`,
    `  Temporal:         ${temporalAddress(config)} (namespace ${config.temporal.namespace})`,
    `  Task queue:       ${config.taskQueue}`,
    `  Dead letters:     ${config.deadLetterDbPath}`,
  ];
  if (devServer) {
    lines.push(
      `  Web UI:           ${devServer.uiUrl}/namespaces/${config.temporal.namespace}/workflows`,
      `  Temporal data:    ${devServer.dbFile}`,
    );
  }
  if (devCredentials.apiKey) lines.push(`  API key (dev):    ${devCredentials.apiKey}`);
  if (devCredentials.replySecret) lines.push(`  Reply secret (dev): ${devCredentials.replySecret}`);
  if (devCredentials.callbackSecret) lines.push(`  Callback secret (dev): ${devCredentials.callbackSecret}`);
  lines.push('Press Ctrl-C to stop.', '');
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(`[herald] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
