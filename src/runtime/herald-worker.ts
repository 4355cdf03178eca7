/**
 * The Herald worker: runs deliverMessage workflows and their activities on a task queue. Activities are
 * assembled here from their factories, so tests build the same worker with their own dependencies.
 */
import type { Client } from '@temporalio/client';
import { type InjectedSinks, type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import {
  createDeadLetterActivities,
  createDeliveryActivities,
  createEventActivities,
  createNotifyActivities,
  createSettingsActivities,
} from '../activities';
import { createTokenCache } from '../activities/token-provider';
import type { HeraldConfig } from '../config/config';
import { concurrentWorkflowTasks } from '../config/workflow-cache';
import { attemptRecordedSignal } from '../contract/definitions';
import { guardedLookup, parseAllowlist } from '../destinations/destination-policy';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/worker-metrics';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { EventLog } from '../store/event-log';
import type { CloseOutSinks } from '../workflows/close-out';
import { createCloseOutWatcher, type CloseOutWatcher } from './close-out-watcher';
import { bundleHeraldWorkflows } from './workflow-bundle';

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
  /** What the worker's activities count; served by the metrics listener (a fresh registry when absent). */
  metrics?: WorkerMetrics;
  /** undici dispatcher for deliveries; the global one when absent. */
  dispatcher?: Dispatcher;
  /**
   * Records the last event of the runs this worker closes; the caller stops it after the worker. When
   * absent, the worker makes its own, whose waits end by themselves (CLOSE_WAIT_MS).
   */
  closeOut?: CloseOutWatcher;
}

/** Creates a worker for config.taskQueue; call `run()` on it. */
export async function createHeraldWorker(options: HeraldWorkerOptions): Promise<Worker> {
  const { config, client, logger } = options;
  const destinationPolicy = parseAllowlist(config.destinationAllowlist);
  const metrics = options.metrics ?? createWorkerMetrics({ maxDestinations: config.metrics.maxDestinations });
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
      events: options.events,
      metrics,
    }),
    ...createDeadLetterActivities({ store: options.store, logger, metrics }),
    ...createSettingsActivities(config.delivery),
    ...createNotifyActivities({ secrets: config.callbackSecrets, destinationPolicy, dispatcher, logger, metrics }),
    ...createEventActivities({ events: options.events, logger }),
  };
  const closeOut = options.closeOut ?? createCloseOutWatcher({ client, events: options.events, logger });
  const sinks: InjectedSinks<CloseOutSinks> = {
    closeOut: {
      runEnding: { fn: (info, sender) => closeOut.watch(info.workflowId, info.runId, sender), callDuringReplay: false },
    },
  };
  return Worker.create({
    connection: options.connection,
    sinks,
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    activities,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows(logger)),
    // On shutdown (SIGTERM) an attempt in flight finishes and reports its result, instead of being
    // cancelled and repeated by the next worker; only after this long are activities cancelled.
    shutdownGraceTime: config.worker.shutdownGraceMs,
    // Parked messages live in this cache while they wait: its size bounds the worker's memory. An evicted
    // message replays its history when its reply or timeout comes (README, "Memory of parked messages").
    maxCachedWorkflows: config.worker.cachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: concurrentWorkflowTasks(config.worker.cachedWorkflows),
  });
}

/** Bundles the workflows, keeping webpack's multi-line build report out of the info log. */
async function bundleWorkflows(logger: Logger): Promise<{ code: string }> {
  const quiet = (level: 'debug' | 'warn' | 'error') => (message: string, meta?: object) =>
    logger[level](meta ?? {}, message);
  return bundleHeraldWorkflows({
    log: () => undefined,
    trace: quiet('debug'),
    debug: quiet('debug'),
    info: quiet('debug'),
    warn: quiet('warn'),
    error: quiet('error'),
  });
}
