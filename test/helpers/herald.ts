/**
 * Runs a real Herald worker against the test run's dev server, on a task queue of its own, with a
 * real SQLite dead-letter store in a temp directory, and short retry settings so tests run fast.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getMessageStatus, startMessage } from '../../src/temporal/message-operations';
import { loadConfig, type HeraldConfig } from '../../src/config/config';
import { createLogger } from '../../src/observability/logger';
import { installRuntimeLogger } from '../../src/temporal/runtime-logger';
import type { MessageInput } from '../../src/contract/message';
import type { MessageState, MessageStatus } from '../../src/contract/message-status';
import type { DeadLetterStore } from '../../src/store/dead-letter-store';
import type { EventLog } from '../../src/store/event-log';
import { openSqliteEventLog } from '../../src/store/sqlite-event-log';
import { openSqliteDeadLetterStore } from '../../src/store/sqlite-dead-letter-store';
import { createHeraldWorker } from '../../src/worker';

/** The Standard Webhooks secret Herald signs callbacks with in tests (for every API key). */
export const CALLBACK_SECRET = `whsec_${Buffer.from('herald-test-callback-secret-32b!').toString('base64')}`;

/** Retry settings for tests: quick retries, short timeouts, no jitter unless a test asks for it. */
export const TEST_ENV: Record<string, string> = {
  HERALD_CALLBACK_SECRETS: JSON.stringify({ '*': CALLBACK_SECRET }),
  HERALD_CALLBACK_INITIAL_INTERVAL: '100ms',
  HERALD_CALLBACK_MAXIMUM_INTERVAL: '1s',
  HERALD_CALLBACK_MAXIMUM_ATTEMPTS: '5',
  HERALD_CALLBACK_ATTEMPT_TIMEOUT: '2s',
  HERALD_RETRY_INITIAL_INTERVAL: '50ms',
  HERALD_RETRY_BACKOFF_COEFFICIENT: '2',
  HERALD_RETRY_MAXIMUM_INTERVAL: '1s',
  HERALD_RETRY_MAXIMUM_ATTEMPTS: '3',
  HERALD_RETRY_JITTER: '0',
  HERALD_RETRY_ATTEMPT_TIMEOUT: '2s',
  HERALD_RETRY_DEADLINE: '30s',
  HERALD_DEAD_LETTER_RETENTION: '2m',
  // The suite's downstream servers live on loopback, which Herald refuses unless allowed.
  HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
  LOG_LEVEL: 'silent',
};

export interface TestHerald {
  client: Client;
  config: HeraldConfig;
  taskQueue: string;
  store: DeadLetterStore;
  events: EventLog;
  send(message: MessageInput): ReturnType<typeof startMessage>;
  status(id: string): Promise<MessageStatus>;
  /** Polls the status query until the predicate holds. */
  waitFor(id: string, predicate: (status: MessageStatus) => boolean, timeoutMs?: number): Promise<MessageStatus>;
  waitForState(id: string, state: MessageState, timeoutMs?: number): Promise<MessageStatus>;
  stop(): Promise<void>;
}

let counter = 0;

/** A unique id for a message or task queue in this test file. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export async function startTestHerald(env: Record<string, string> = {}): Promise<TestHerald> {
  const address = process.env.HERALD_TEST_TEMPORAL_ADDRESS;
  const codePath = process.env.HERALD_TEST_WORKFLOW_BUNDLE;
  if (!address || !codePath) throw new Error('the jest global setup did not start Temporal');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-test-'));
  const taskQueue = uniqueId('herald-test');
  const config = loadConfig({
    ...TEST_ENV,
    ...env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: process.env.HERALD_TEST_NAMESPACE ?? 'default',
    HERALD_TASK_QUEUE: taskQueue,
    HERALD_DATA_DIR: dataDir,
  });
  const logger = createLogger(config.logLevel);
  installRuntimeLogger(logger);
  const store = openSqliteDeadLetterStore(config.deadLetterDbPath);
  const events = openSqliteEventLog(config.deadLetterDbPath);
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const connection = await NativeConnection.connect({ address });
  const worker: Worker = await createHeraldWorker({
    config,
    connection,
    client,
    store,
    events,
    logger,
    workflowBundle: { codePath },
  });
  const running = worker.run();

  const status = (id: string) => getMessageStatus(client, id);
  const waitFor = async (id: string, predicate: (s: MessageStatus) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: MessageStatus | undefined;
    while (Date.now() < deadline) {
      try {
        last = await status(id);
        if (predicate(last)) return last;
      } catch {
        // The workflow may not have run its first task yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`timed out waiting on ${id}; last status: ${JSON.stringify(last, null, 2)}`);
  };
  return {
    client,
    config,
    taskQueue,
    store,
    events,
    send: (message) => startMessage(client, message, taskQueue),
    status,
    waitFor,
    waitForState: (id, state, timeoutMs) => waitFor(id, (s) => s.state === state, timeoutMs),
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await clientConnection.close();
      await events.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
