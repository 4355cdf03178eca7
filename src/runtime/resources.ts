/**
 * Everything a Herald process opens, opened in one place: the Temporal client, the dead-letter store and
 * event log, and on request a worker and the HTTP API. `close()` closes them in reverse order (the API
 * stops taking requests, the worker drains, then the stores and connections close), logging each
 * failure and going on. Used by every entry point, the benchmark and the tests.
 */
import { heraldDataConverter } from '../encryption/payload-codec';
import { sealedDeadLetterStore } from '../store/sealed-dead-letter-store';
import { Client, Connection } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { apiDrainMs, buildApp, type HeraldApp } from '../api/app';
import type { ApiDependencies } from '../api/decorations';
import { temporalAddress, type HeraldConfig } from '../config/config';
import { createLogger } from '../observability/logger';
import { startMetricsListener } from '../observability/metrics-listener';
import { countingOutcomes } from '../observability/outcome-counter';
import { createWorkerMetrics, type WorkerMetrics } from '../observability/worker-metrics';
import { startTracing } from '../observability/tracing';
import type { BlobStore } from '../blobs/blob-store';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { DestinationStore } from '../store/destination-store';
import type { EventLog } from '../store/event-log';
import type { OrderingStore } from '../store/ordering-store';
import { openStores } from '../store/open-stores';
import { installRuntimeLogger } from '../temporal/runtime-logger';
import { tryEnsureSearchAttributes } from '../temporal/search-attributes-registration';
import { CloseStack } from './close-stack';
import { createCloseOutWatcher } from './close-out-watcher';
import { startEndedRunSweeper } from './ended-run-sweeper';
import { createHeraldWorker, type HeraldWorkerOptions } from './herald-worker';
import { isStoreUnavailable, retryStartup } from './startup-retry';
import { startRetention } from './retention';
import { sweepBlobs } from './blob-sweeper';
import { heapLimitForBudgetMiB, WORKER_MEMORY_COST } from '../config/workflow-cache';
import { getHeapStatistics } from 'node:v8';

/**
 * How long the API may take to close: its drain (event streams ended, requests in flight answered; see
 * api/app.ts) and a little more. A close that hangs beyond this is logged and left, so the worker still drains.
 */
export function apiCloseTimeoutMs(config: HeraldConfig): number {
  return apiDrainMs(config) + 3_000;
}

const heapLimitMiB = () => Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);

/**
 * The V8 heap limit against the cache: far above the budget, garbage grows past the budget (the collector
 * has no reason to hurry); below what the cache holds, the worker would run out of heap. Either is logged
 * with the limit to start the worker with (NODE_OPTIONS=--max-old-space-size=…).
 */
function warnOnHeapLimit(config: HeraldConfig, logger: Logger): void {
  const limit = heapLimitMiB();
  const { cachedWorkflows, cachedWorkflowsFrom, memoryBudgetBytes } = config.worker;
  const needed = Math.ceil(cachedWorkflows * WORKER_MEMORY_COST.perCachedWorkflowMiB + HEAP_HEADROOM_MIB);
  if (limit < needed) {
    logger.warn(
      { heapLimitMiB: limit, cachedWorkflows, neededHeapMiB: needed },
      `the V8 heap limit is too small for the workflow cache: start the worker with NODE_OPTIONS=--max-old-space-size=${needed}`,
    );
  } else if (cachedWorkflowsFrom === 'HERALD_WORKER_MEMORY_BUDGET') {
    const recommended = heapLimitForBudgetMiB(memoryBudgetBytes);
    // heap_size_limit is the old space plus the young generation (about 48 MiB more): a margin of 2x.
    if (limit > recommended * 2 + 64) {
      logger.warn(
        { heapLimitMiB: limit, recommendedMaxOldSpaceSizeMiB: recommended },
        `the V8 heap limit is far above HERALD_WORKER_MEMORY_BUDGET: start the worker with NODE_OPTIONS=--max-old-space-size=${recommended} to keep to the budget`,
      );
    }
  }
}

/** Heap a worker needs besides its cached workflows: the bundle, activities, the SDK's JS side. */
const HEAP_HEADROOM_MIB = 64;

/**
 * The worker's registry and, unless HERALD_METRICS_PORT=off, its listener. The SDK's Runtime takes its
 * logger (and its metrics exporter) only before its first use, the first native connection, so it is
 * installed here too; in a process that already has one (tests), its choice stands.
 */
async function listenForWorkerMetrics(
  config: HeraldConfig,
  logger: Logger,
  stack: CloseStack,
): Promise<{ metrics: WorkerMetrics; url?: string }> {
  const metrics = createWorkerMetrics({ maxDestinations: config.metrics.maxDestinations });
  if (config.metrics.port === null) {
    await installRuntimeLogger(logger);
    return { metrics };
  }
  const sdkMetricsUrl = await installRuntimeLogger(logger, { sdkMetrics: true });
  const listener = await startMetricsListener({
    host: config.metrics.host,
    port: config.metrics.port,
    token: config.metrics.token,
    registry: metrics.registry,
    sdkMetricsUrl,
    logger,
  });
  stack.push('metrics listener', () => listener.close());
  logger.info({ url: listener.url, sdkMetrics: sdkMetricsUrl !== undefined }, 'worker metrics listening');
  return { metrics, url: listener.url };
}

/** What to run besides the client and stores. */
export interface OpenResourcesOptions {
  /** Defaults to a logger at config.logLevel. */
  logger?: Logger;
  /** Run a worker on config.taskQueue (`true`, or the worker's own test dependencies). */
  worker?: boolean | Pick<HeraldWorkerOptions, 'workflowBundle' | 'dispatcher'>;
  /** Serve the HTTP API on config.api.host and config.api.port (`true`, or with its event hub swapped). */
  api?: boolean | Pick<ApiDependencies, 'createEventHub'>;
}

/** A worker that is polling. */
export interface RunningWorker {
  worker: Worker;
  /** Settles when the worker has stopped: after close() or a signal, or with its error if it failed. */
  stopped: Promise<void>;
  /** What it counts; `metricsUrl` is where they are served (absent with HERALD_METRICS_PORT=off). */
  metrics: WorkerMetrics;
  metricsUrl?: string;
}

/** The API, listening. */
export interface ListeningApi {
  app: HeraldApp;
  url: string;
}

/** What openResources opened, and the one way to close it. */
export interface BaseResources {
  config: HeraldConfig;
  logger: Logger;
  /** The client's connection to Temporal. */
  connection: Connection;
  client: Client;
  store: DeadLetterStore;
  events: EventLog;
  /** Destination settings and the state shared to enforce them (see store/destination-store.ts). */
  destinations: DestinationStore;
  /** The ordering sequencer (the API claims places of messages with an ordering key). */
  ordering: OrderingStore;
  /** Bodies and replies too large for a workflow's history (src/blobs). */
  blobs: BlobStore;
  /** Closes everything in reverse order of opening; every step runs even when one fails. */
  close(): Promise<void>;
}

// Asked for with a literal (`worker: true`, `api: true`), the worker and API are typed as present.
type WithWorker<O> = O extends { worker: true | object } ? { worker: RunningWorker } : { worker?: RunningWorker };
type WithApi<O> = O extends { api: true | object } ? { api: ListeningApi } : { api?: ListeningApi };
export type HeraldResources<O extends OpenResourcesOptions = OpenResourcesOptions> = BaseResources &
  WithWorker<O> &
  WithApi<O>;

/**
 * Opens what a Herald process needs, waiting for Temporal and the store file (HERALD_STARTUP_TIMEOUT);
 * on a failure half-way, closes what it had opened and rethrows.
 */
export async function openResources<const O extends OpenResourcesOptions>(
  config: HeraldConfig,
  options: O,
): Promise<HeraldResources<O>> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const stack = new CloseStack(logger);
  const address = temporalAddress(config);
  const retry = { logger, timeoutMs: config.startup.timeoutMs };
  const whenUnavailable = { ...retry, isRetryable: isStoreUnavailable };
  try {
    // A worker's metrics listener binds first: a busy HERALD_METRICS_PORT fails the start at once, before
    // Temporal is waited for and long before anything polls. Opened first, it closes last: a draining
    // worker is still scraped.
    const workerMetrics = options.worker ? await listenForWorkerMetrics(config, logger, stack) : undefined;
    // A worker needs Temporal before it can poll, so it waits for it here. An API alone listens at
    // once on a lazy connection (gRPC connects, and reconnects, on demand): /readyz answers 503 naming
    // Temporal until it answers.
    const connection = options.worker
      ? await retryStartup('Temporal', () => Connection.connect({ address }), retry)
      : Connection.lazy({ address });
    stack.push('temporal client connection', () => connection.close());
    // With tracing on (an OTLP endpoint set), each role exports as its own service; off, nothing is added.
    const workerTracing = options.worker ? startTracing(config.tracing, 'worker') : undefined;
    if (workerTracing) stack.push('worker tracing', () => workerTracing.shutdown());
    const apiTracing = options.api ? startTracing(config.tracing, 'api') : undefined;
    if (apiTracing) stack.push('api tracing', () => apiTracing.shutdown());
    // The client starts workflows for the API and signals attempts for the worker: its spans carry the trace on.
    const clientTracer = (apiTracing ?? workerTracing)?.tracer;
    const dataConverter = heraldDataConverter(config.encryption.keyring);
    const client = new Client({
      connection,
      namespace: config.temporal.namespace,
      ...(dataConverter ? { dataConverter } : {}),
      interceptors: clientTracer
        ? { workflow: [new OpenTelemetryWorkflowClientInterceptor({ tracer: clientTracer })] }
        : {},
    });
    const stores = await retryStartup(
      'dead-letter store and event log',
      () => openStores(config, { logger }),
      whenUnavailable,
    );
    stack.push('dead-letter store and event log', () => stores.close());
    const { events, destinations, ordering, blobs } = stores;
    // Dead letters hold whole messages (bodies, credentials): at rest they are sealed with the payload keys.
    const { keyring } = config.encryption;
    const store = keyring ? sealedDeadLetterStore(stores.store, keyring) : stores.store;
    const resources: BaseResources & { worker?: RunningWorker; api?: ListeningApi } = {
      config,
      logger,
      connection,
      client,
      store,
      events,
      destinations,
      ordering,
      blobs,
      close: () => stack.close(),
    };

    if (options.worker) {
      const { metrics } = workerMetrics!;
      // Every append of the worker's (activities, close-out, sweeper) counts the outcomes it records first.
      const workerEvents = countingOutcomes(events, metrics.eventAppended);
      await tryEnsureSearchAttributes(connection, config.temporal.namespace, logger);
      const nativeConnection = await retryStartup(
        'Temporal (worker connection)',
        () => NativeConnection.connect({ address }),
        retry,
      );
      stack.push('temporal worker connection', () => nativeConnection.close());
      // Before the worker, so it stops after it: the runs the worker closes while draining are recorded too.
      const closeOut = createCloseOutWatcher({ client, events: workerEvents, logger });
      stack.push('close-out watcher', () => closeOut.stop());
      const worker = await createHeraldWorker({
        closeOut,
        config,
        connection: nativeConnection,
        client,
        store,
        destinations,
        events: workerEvents,
        blobs,
        logger,
        metrics,
        tracing: workerTracing,
        ...(options.worker === true ? {} : options.worker),
      });
      const stopped = worker.run();
      // Awaited by close() and by the process; this only keeps an early failure from going unhandled.
      stopped.catch(() => undefined);
      stack.push('worker', async () => {
        // The SDK's Runtime may have begun the shutdown already, on the same signal.
        if (worker.getState() === 'RUNNING') worker.shutdown();
        if (worker.getState() !== 'STOPPED' && worker.getState() !== 'FAILED') {
          logger.info({ graceMs: config.worker.shutdownGraceMs }, 'worker draining: attempts in flight finish');
        }
        await stopped;
      });
      resources.worker = { worker, stopped, metrics, metricsUrl: workerMetrics!.url };
      // Pushed after the worker, so it stops first: no sweep runs against stores that are closing.
      const sweeper = startEndedRunSweeper({ client, taskQueue: config.taskQueue, events: workerEvents, logger });
      stack.push('ended-run sweeper', () => sweeper.stop());
      // Workers, not APIs, clean up: every fleet has one, and the passes of several are safe together.
      const sweep = { blobs, client, store, retentionMs: config.blobs.retentionMs };
      const retention = startRetention({
        store,
        events,
        retention: config.retention,
        sweepBlobs: (stopped) => sweepBlobs(sweep, stopped),
        logger,
      });
      stack.push('retention', () => retention.stop());
      logger.info(
        {
          address,
          namespace: config.temporal.namespace,
          taskQueue: config.taskQueue,
          cachedWorkflows: config.worker.cachedWorkflows,
          cachedWorkflowsFrom: config.worker.cachedWorkflowsFrom,
          memoryBudgetMiB: Math.round(config.worker.memoryBudgetBytes / 2 ** 20),
          heapLimitMiB: heapLimitMiB(),
        },
        'worker started',
      );
      warnOnHeapLimit(config, logger);
    }

    if (options.api) {
      // An API host may be upgraded before any worker: a start with a search attribute the namespace
      // lacks (HeraldSender, say) would fail, so it registers them too (a no-op once they exist). In the
      // background: an API listens at once, whether Temporal answers yet or not (a failure is a warning).
      if (!options.worker) void tryEnsureSearchAttributes(connection, config.temporal.namespace, logger);
      const app = await buildApp({
        config,
        client,
        store,
        events,
        destinations,
        ordering,
        blobs,
        logger,
        tracer: apiTracing?.tracer,
        ...(options.api === true ? {} : options.api),
      });
      stack.push('api', () => app.close(), { timeoutMs: apiCloseTimeoutMs(config) });
      const url = await app.listen({ host: config.api.host, port: config.api.port });
      resources.api = { app, url };
      logger.info({ url }, 'API listening');
    }
    return resources as HeraldResources<O>;
  } catch (error) {
    await stack.close().catch(() => undefined); // each failure is logged; the start-up error is the news
    throw error;
  }
}
