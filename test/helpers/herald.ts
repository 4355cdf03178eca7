/**
 * What tests know about a Herald: the test settings (short retries, loopback allowed), unique ids, and
 * a running Herald's client and stores with status helpers. test/helpers/fixture.ts starts one.
 */
import type { Client } from '@temporalio/client';
import type { HeraldConfig } from '../../src/config/config';
import type { MessageInput } from '../../src/contract/message';
import type { MessageState, MessageStatus } from '../../src/contract/message-status';
import type { HeraldResources } from '../../src/runtime/resources';
import type { DeadLetterStore } from '../../src/store/dead-letter-store';
import type { DestinationStore } from '../../src/store/destination-store';
import type { EventLog } from '../../src/store/event-log';
import { getMessageStatus, startMessage } from '../../src/temporal/message-operations';
import { eventually } from './eventually';

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
  // Teardown need not wait for attempts in flight (test/runtime/worker-drain.test.ts sets its own).
  HERALD_WORKER_SHUTDOWN_GRACE: '0',
  // The suite's downstream servers live on loopback, which Herald refuses unless allowed.
  HERALD_DESTINATION_ALLOWLIST: '127.0.0.1',
  LOG_LEVEL: 'silent',
  // Admission control refuses new messages on a slow start or a backlog, which a loaded test machine and
  // a test sending a burst with no worker both produce: the tests that are about it turn it on
  // (test/api/admission.test.ts); the others must not see a 429 they did not ask for.
  HERALD_ADMISSION: 'off',
  // Many workers run at once in the suite: none binds the default metrics port (test/observability turns it on).
  HERALD_METRICS_PORT: 'off',
};

/** A Herald's client and stores, and its messages' status. */
export interface TestHerald {
  client: Client;
  config: HeraldConfig;
  taskQueue: string;
  store: DeadLetterStore;
  events: EventLog;
  destinations: DestinationStore;
  send(message: MessageInput): ReturnType<typeof startMessage>;
  status(id: string): Promise<MessageStatus>;
  /** Polls the status query until the predicate holds. */
  waitFor(id: string, predicate: (status: MessageStatus) => boolean, timeoutMs?: number): Promise<MessageStatus>;
  waitForState(id: string, state: MessageState, timeoutMs?: number): Promise<MessageStatus>;
}

let counter = 0;

/** A unique id for a message or task queue in this test file. */
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

/** The test view of opened resources: messages go to their task queue, status is read by query. */
export function testHerald(resources: HeraldResources): TestHerald {
  const { client, config, store, events, destinations } = resources;
  const status = (id: string) => getMessageStatus(client, id);
  // A query fails until the workflow has run its first task: eventually() retries it.
  const waitFor = (id: string, predicate: (s: MessageStatus) => boolean, timeoutMs = 20_000) =>
    eventually(() => status(id), { until: predicate, timeoutMs, what: `the status of ${id}` });
  return {
    client,
    config,
    taskQueue: config.taskQueue,
    store,
    events,
    destinations,
    // As the API sends it: with its delivery settings.
    send: (message) => startMessage(client, message, config.taskQueue, config.delivery),
    status,
    waitFor,
    waitForState: (id, state, timeoutMs) => waitFor(id, (s) => s.state === state, timeoutMs),
  };
}
