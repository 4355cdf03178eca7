/**
 * The Herald worker: runs deliverMessage workflows and their activities on a task queue. Activities are
 * assembled here from their factories, so tests build the same worker with their own dependencies.
 *
 * Run standalone with `npm run worker` against TEMPORAL_ADDRESS (several workers scale out one queue).
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import { guardedLookup, parseAllowlist } from './destinations/destination-policy';
import {
  createDeadLetterActivities,
  createDeliveryActivities,
  createEventActivities,
  createNotifyActivities,
  createSettingsActivities,
} from './activities';
import { createTokenCache } from './activities/token-provider';
import { loadConfig, temporalAddress, type HeraldConfig } from './config/config';
import { attemptRecordedSignal } from './contract/definitions';
import { createLogger } from './observability/logger';
import { installRuntimeLogger } from './temporal/runtime-logger';
import { tryEnsureSearchAttributes } from './temporal/search-attributes-registration';
import type { DeadLetterStore } from './store/dead-letter-store';
import type { EventLog } from './store/event-log';
import { openSqliteEventLog } from './store/sqlite-event-log';
import { openSqliteDeadLetterStore } from './store/sqlite-dead-letter-store';

export interface HeraldWorkerOptions {
  config: HeraldConfig;
  connection: NativeConnection;
  /** Used by the delivery activity to report attempts to the workflow as they happen. */
  client: Client;
  store: DeadLetterStore;
  /** Where workflows publish state changes for the API's event streams. */
  events: EventLog;
  logger: Logger;
  /** A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** undici dispatcher for deliveries; the global one when absent. */
  dispatcher?: Dispatcher;
}

/** Creates a worker for config.taskQueue; call `run()` on it. */
export async function createHeraldWorker(options: HeraldWorkerOptions): Promise<Worker> {
  const { config, client, logger } = options;
  const destinationPolicy = parseAllowlist(config.destinationAllowlist);
  // Every delivery connection resolves through the policy, so it holds for the address actually called.
  const dispatcher = options.dispatcher ?? new Agent({ connect: { lookup: guardedLookup(destinationPolicy) } });
  const activities = {
    ...createDeliveryActivities({
      tokens: createTokenCache(config.tokenProviders, { dispatcher: options.dispatcher }),
      destinationPolicy,
      logger,
      dispatcher,
      reportAttempt: (messageId, attempt) =>
        client.workflow.getHandle(messageId).signal(attemptRecordedSignal, attempt),
    }),
    ...createDeadLetterActivities({ store: options.store, logger }),
    ...createSettingsActivities(config.delivery),
    ...createNotifyActivities({ secrets: config.callbackSecrets, destinationPolicy, dispatcher, logger }),
    ...createEventActivities({ events: options.events, logger }),
  };
  return Worker.create({
    connection: options.connection,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    activities,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows(logger)),
  });
}

/** Bundles the workflows, keeping webpack's multi-line build report out of the info log. */
async function bundleWorkflows(logger: Logger): Promise<{ code: string }> {
  const quiet = (level: 'debug' | 'warn' | 'error') => (message: string, meta?: object) =>
    logger[level](meta ?? {}, message);
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: {
      log: () => undefined,
      trace: quiet('debug'),
      debug: quiet('debug'),
      info: quiet('debug'),
      warn: quiet('warn'),
      error: quiet('error'),
    },
  });
  return { code };
}

/** Connects to Temporal, runs a worker until SIGINT/SIGTERM, then closes everything it opened. */
export async function runWorker(config: HeraldConfig, logger: Logger): Promise<void> {
  const address = temporalAddress(config);
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const store = openSqliteDeadLetterStore(config.deadLetterDbPath);
  const events = openSqliteEventLog(config.deadLetterDbPath);
  try {
    await tryEnsureSearchAttributes(clientConnection, config.temporal.namespace, logger);
    const worker = await createHeraldWorker({ config, connection, client, store, events, logger });
    logger.info({ address, namespace: config.temporal.namespace, taskQueue: config.taskQueue }, 'worker started');
    // The SDK's Runtime shuts workers down on SIGINT/SIGTERM; run() resolves once in-flight tasks finish.
    await worker.run();
  } finally {
    await events.close();
    await store.close();
    await clientConnection.close();
    await connection.close();
  }
}

if (require.main === module) {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, 'herald-worker');
  installRuntimeLogger(logger);
  runWorker(config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, 'worker failed');
    process.exit(1);
  });
}
