/**
 * The Herald worker: runs deliverMessage workflows and their activities on a task queue. Activities are
 * assembled here from their factories, so tests build the same worker with their own dependencies.
 */
import { heraldDataConverter } from '../encryption/payload-codec';
import type { Client } from '@temporalio/client';
import { makeWorkflowExporter, OpenTelemetryActivityInboundInterceptor } from '@temporalio/interceptors-opentelemetry';
import { type InjectedSinks, type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { Agent, type Dispatcher } from 'undici';
import {
  createDeadLetterActivities,
  createDeliveryActivities,
  createEventActivities,
  createNotifyActivities,
  createOrderingActivities,
  createSettingsActivities,
} from '../activities';
import { createTokenCache } from '../activities/token-provider';
import type { HeraldConfig } from '../config/config';
import { concurrentWorkflowTasks } from '../config/workflow-cache';
import { attemptRecordedSignal, deliveryHeldSignal } from '../contract/definitions';
import { DestinationControl } from '../activities/destination-control';
import { OPERATIONS_SENDER, transitionAnnouncer } from '../temporal/operations-webhook';
import type { DestinationStore } from '../store/destination-store';
import { guardedLookup, parseAllowlist } from '../destinations/destination-policy';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/worker-metrics';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { EventLog } from '../store/event-log';
import type { CloseOutSinks } from '../workflows/close-out';
import { createCloseOutWatcher, type CloseOutWatcher } from './close-out-watcher';
import type { Tracing } from '../observability/tracing';
import type { BlobStore } from '../blobs/blob-store';
import { bundleHeraldWorkflows, TRACING_WORKFLOW_INTERCEPTOR_MODULES } from './workflow-bundle';

export interface HeraldWorkerOptions {
  config: HeraldConfig;
  connection: NativeConnection;
  /** Used by the delivery activity to report attempts to the workflow as they happen. */
  client: Client;
  store: DeadLetterStore;
  /**
   * Run-time destination settings and the limits shared with other workers (pause, retry override,
   * rate and concurrency limits, circuit breaker, the global switch). Absent only in tests of other things.
   */
  destinations?: DestinationStore;
  /** Where workflows publish state changes for the API's event streams. */
  events: EventLog;
  /** Where bodies by reference are read from (absent only in tests of other things). */
  blobs?: BlobStore;
  logger: Logger;
  /**
   * A prebuilt workflow bundle (tests build one once); otherwise the workflows are bundled at start.
   * With `tracing`, it must have been bundled with TRACING_WORKFLOW_INTERCEPTOR_MODULES, or the trace
   * stops at the workflow (its activities start traces of their own).
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** What the worker's activities count; served by the metrics listener (a fresh registry when absent). */
  metrics?: WorkerMetrics;
  /** Traces workflows and activities (config.tracing on); absent, the worker has no tracing interceptor. */
  tracing?: Tracing;
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
  const { operationsWebhook } = config.destinationControl;
  const announce = operationsWebhook
    ? transitionAnnouncer({
        client,
        taskQueue: config.taskQueue,
        url: operationsWebhook.url,
        logger,
        counted: (outcome) => metrics.operationsWebhook(outcome),
      })
    : undefined;
  const control =
    options.destinations && config.destinationControl.enabled
      ? new DestinationControl({
          store: options.destinations,
          logger,
          refreshMs: config.destinationControl.refreshMs,
          onTransition: (transition) => {
            metrics.circuitTransition(transition.host, transition.to);
            logger.warn(
              { destination: transition.host, from: transition.from, to: transition.to, window: transition.window },
              'circuit breaker changed state',
            );
            announce?.(transition);
          },
        })
      : undefined;
  // Operational webhooks are callbacks signed with their own secret (see operations-webhook.ts).
  const callbackSecrets = operationsWebhook
    ? { ...config.callbackSecrets, [OPERATIONS_SENDER]: operationsWebhook.secrets }
    : config.callbackSecrets;
  const activities = {
    ...createDeliveryActivities({
      tokens: createTokenCache(config.tokenProviders, { dispatcher: options.dispatcher }),
      destinationPolicy,
      logger,
      dispatcher,
      tracer: options.tracing?.tracer,
      reportAttempt: (messageId, attempt) =>
        client.workflow.getHandle(messageId).signal(attemptRecordedSignal, attempt),
      reportHold: (messageId, hold) => client.workflow.getHandle(messageId).signal(deliveryHeldSignal, hold),
      control,
      events: options.events,
      blobs: options.blobs,
      signingSecrets: config.deliverySecrets,
      metrics,
    }),
    ...createDeadLetterActivities({ store: options.store, logger, metrics }),
    ...createSettingsActivities(config.delivery),
    ...createNotifyActivities({
      secrets: callbackSecrets,
      destinationPolicy,
      dispatcher,
      logger,
      metrics,
      replyPointers: { publicUrl: config.api.publicUrl, ttlMs: config.blobs.pointerTtlMs },
    }),
    ...createEventActivities({ events: options.events, logger }),
    ...createOrderingActivities(client),
  };
  const closeOut = options.closeOut ?? createCloseOutWatcher({ client, events: options.events, logger });
  const sinks: InjectedSinks<CloseOutSinks> = {
    closeOut: {
      runEnding: {
        fn: (info, end) => closeOut.watch(info.workflowId, info.runId, end),
        callDuringReplay: false,
      },
    },
  };
  const { tracing } = options;
  const dataConverter = heraldDataConverter(config.encryption.keyring);
  return Worker.create({
    connection: options.connection,
    ...(dataConverter ? { dataConverter } : {}),
    ...(tracing ? tracedWorkerOptions(tracing, sinks) : { sinks }),
    namespace: config.temporal.namespace,
    taskQueue: config.taskQueue,
    activities,
    workflowBundle: options.workflowBundle ?? (await bundleWorkflows(logger, tracing !== undefined)),
    // On shutdown (SIGTERM) an attempt in flight finishes and reports its result, instead of being
    // cancelled and repeated by the next worker; only after this long are activities cancelled.
    shutdownGraceTime: config.worker.shutdownGraceMs,
    // Parked messages live in this cache while they wait: its size bounds the worker's memory. An evicted
    // message replays its history when its reply or timeout comes (README, "Memory of parked messages").
    maxCachedWorkflows: config.worker.cachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: concurrentWorkflowTasks(config.worker.cachedWorkflows),
  });
}

/**
 * What tracing adds to a worker: the activity interceptor (a span per attempt, the active context of the
 * delivery request) and the sink through which the workflow interceptors' spans leave the sandbox.
 */
export function tracedWorkerOptions<S extends object>(
  tracing: Tracing,
  sinks: S,
): Pick<WorkerOptions, 'sinks' | 'interceptors'> {
  return {
    sinks: { ...sinks, exporter: makeWorkflowExporter(tracing.processor, tracing.resource) },
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer: tracing.tracer }) })],
    },
  };
}

/** Bundles the workflows, keeping webpack's multi-line build report out of the info log. */
async function bundleWorkflows(logger: Logger, traced: boolean): Promise<{ code: string }> {
  const quiet = (level: 'debug' | 'warn' | 'error') => (message: string, meta?: object) =>
    logger[level](meta ?? {}, message);
  return bundleHeraldWorkflows(
    {
      log: () => undefined,
      trace: quiet('debug'),
      debug: quiet('debug'),
      info: quiet('debug'),
      warn: quiet('warn'),
      error: quiet('error'),
    },
    traced ? { workflowInterceptorModules: [...TRACING_WORKFLOW_INTERCEPTOR_MODULES] } : {},
  );
}
