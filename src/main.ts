/**
 * `npm start`: Herald on its embedded default. Starts the Temporal dev server (SQLite under the data
 * directory, Web UI, Herald's search attributes) unless TEMPORAL_ADDRESS points at a cluster, then the
 * worker; prints the addresses; stops everything cleanly on Ctrl-C or SIGTERM.
 */
import { existsSync } from 'node:fs';
import { loadConfig, storeDescription, temporalAddress, type HeraldConfig } from './config/config';
import { applyDevCredentials, type DevCredentials } from './api/dev-credentials';
import { createLogger } from './observability/logger';
import { openResources } from './runtime/resources';
import { runUntilStopped } from './runtime/run-until-stopped';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { findTemporalCli } from './temporal/temporal-cli';

async function main(): Promise<number> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

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
      // localhost, as the printed UI address: the same site, so the browser sends the codec session cookie.
      ...(config.encryption.keyring && config.api.port !== 0
        ? { uiCodecEndpoint: `http://localhost:${config.api.port}/codec` }
        : {}),
      namespace: config.temporal.namespace,
      dataDir: config.dataDir,
      log: (line) => console.log(`[temporal] ${line}`),
    });
  }
  try {
    if (config.api.keys.length === 0)
      throw new Error('HERALD_API_KEYS is required when TEMPORAL_ADDRESS is set (name:key,…)');
    const resources = await openResources(config, { logger, worker: true, api: true });
    printAddresses(config, resources.api.url, resources.worker.metricsUrl, devServer, devCredentials);
    return await runUntilStopped(resources);
  } finally {
    // Last, and also on a failed start-up: never leave an orphaned dev server holding the ports.
    await devServer?.stop();
    console.log('[herald] stopped');
  }
}

function printAddresses(
  config: HeraldConfig,
  apiUrl: string,
  workerMetricsUrl: string | undefined,
  devServer: DevServer | undefined,
  devCredentials: DevCredentials,
): void {
  const lines = [
    '',
    'Herald is running.',
    `  API:              ${apiUrl}  (docs: ${apiUrl}/docs)`,
    `  Console:          ${apiUrl}/console  (sign in with an API key)`,
    `  Temporal:         ${temporalAddress(config)} (namespace ${config.temporal.namespace})`,
    `  Task queue:       ${config.taskQueue}`,
    `  Dead letters:     ${storeDescription(config)}`,
    `  Metrics:          ${apiUrl}/metrics (API)${workerMetricsUrl ? `, ${workerMetricsUrl} (worker)` : ''}`,
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
  if (devCredentials.deliverySecret) lines.push(`  Delivery secret (dev): ${devCredentials.deliverySecret}`);
  if (devCredentials.encryptionKey) {
    lines.push(`  Encryption key (dev): ${devCredentials.encryptionKey.id} in ${devCredentials.encryptionKey.file}`);
  }
  lines.push('Press Ctrl-C to stop.', '');
  console.log(lines.join('\n'));
}

// Exit explicitly: the SDK's native runtime keeps threads alive after everything is closed.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`[herald] ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
