/**
 * `npm run encryption:key-usage -- <key id>`: what still needs an encryption key before it is retired
 * (README: Encryption). Reads Herald's configuration from the environment (and .env) like the other
 * processes; exits 0 when no running workflow and no dead-letter record needs the key, 2 when some do.
 */
import { Client, Connection } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { loadConfig, temporalAddress } from '../src/config/config';
import { createLogger } from '../src/observability/logger';
import { encryptionKeyUsage } from '../src/runtime/encryption-key-usage';
import { openStores } from '../src/store/open-stores';

async function main(): Promise<number> {
  const keyId = process.argv[2];
  if (!keyId) {
    console.error('usage: npm run encryption:key-usage -- <key id>');
    return 64;
  }
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const connection = await Connection.connect({ address: temporalAddress(config) });
  const stores = await openStores(config, { logger: createLogger('warn') });
  try {
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const usage = await encryptionKeyUsage(
      { client, taskQueue: config.taskQueue, deadLetters: stores.store, blobs: stores.blobs },
      keyId,
    );
    const list = (ids: string[], count: number) => (count > ids.length ? `${ids.join(', ')}, …` : ids.join(', '));
    console.log(`key ${keyId}:`);
    console.log(
      `  running workflows with payloads under it: ${usage.runningWorkflows.count} of ${usage.runningChecked}` +
        (usage.runningWorkflows.count > 0
          ? ` (${list(usage.runningWorkflows.ids, usage.runningWorkflows.count)})`
          : ''),
    );
    console.log(
      `  dead-letter records sealed with it: ${usage.deadLetters.count}` +
        (usage.deadLetters.count > 0 ? ` (${list(usage.deadLetters.ids, usage.deadLetters.count)})` : ''),
    );
    console.log(
      `  blobs (large bodies, replies) sealed with it: ${usage.blobs.count}` +
        (usage.blobs.count > 0 ? ` (${list(usage.blobs.ids, usage.blobs.count)})` : ''),
    );
    console.log(
      `  closed runs Temporal still keeps: ${usage.closedRunsKept} (readable only with the keys they were written with, until the namespace's retention removes them)`,
    );
    const needed = usage.runningWorkflows.count + usage.deadLetters.count + usage.blobs.count > 0;
    console.log(
      needed ? `  → still needed: keep ${keyId}` : `  → nothing running, dead-lettered or stored needs ${keyId}`,
    );
    return needed ? 2 : 0;
  } finally {
    await stores.close();
    await connection.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
