/**
 * What Herald adds to Fastify: its dependencies, decorated once on the instance (fastify/demo's way:
 * routes read `app.temporal`, `app.config`, … instead of importing a context type from app.ts), and the
 * per-request and per-route fields the app's hooks use.
 */
import type { Tracer } from '@opentelemetry/api';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { HeraldConfig } from '../config/config';
import type { ApiRole } from '../contract/api-roles';
import type { Caller } from './auth';
import { parseAllowlist, type DestinationPolicy } from '../destinations/destination-policy';
import type { BlobStore } from '../blobs/blob-store';
import type { DeadLetterStore } from '../store/dead-letter-store';
import type { DestinationStore } from '../store/destination-store';
import type { EventLog } from '../store/event-log';
import type { OrderingStore } from '../store/ordering-store';
import { createApiMetrics, type ApiMetrics } from '../observability/api-metrics';
import { countingOutcomes } from '../observability/outcome-counter';
import { createAdmission, type Admission } from './admission';
import { createInFlightLimit, type InFlightLimit } from './key-limits';
import { createEventHub, type EventHub, type EventHubOptions } from './event-hub';
import { createHeraldTemporal, type HeraldTemporal } from '../temporal/herald-temporal';

/** What the API is built from (`buildApp(deps)`). */
export interface ApiDependencies {
  config: HeraldConfig;
  client: Client;
  store: DeadLetterStore;
  events: EventLog;
  /**
   * The destination store (`stores.destinations`); with it the API serves /v1/destinations and
   * /v1/settings/retries.
   */
  destinations?: DestinationStore;
  /** Where messages with an ordering key claim their place. */
  ordering: OrderingStore;
  /** Where bodies and replies above HERALD_INLINE_BODY_BYTES are kept. */
  blobs: BlobStore;
  logger: Logger;
  /** With tracing on (config.tracing), every request but probes and docs gets a server span. */
  tracer?: Tracer;
  /** Builds the event hub the streams subscribe to (the benchmark's per-stream baseline swaps it). */
  createEventHub?: (options: EventHubOptions) => EventHub;
}

declare module 'fastify' {
  interface FastifyInstance {
    config: HeraldConfig;
    /** Every Temporal operation the API performs. */
    temporal: HeraldTemporal;
    deadLetterStore: DeadLetterStore;
    eventLog: EventLog;
    /** The ordering sequencer: a message with an ordering key claims its place here before it starts. */
    orderingStore: OrderingStore;
    /** Bodies and replies too large for a workflow's history (src/blobs). */
    blobs: BlobStore;
    /** The one reader of the event log that every open stream subscribes to; closed first on close. */
    eventHub: EventHub;
    /** Whether a new message may start now (admission control); its backlog poll stops on close. */
    admission: Admission;
    /** HERALD_MAX_IN_FLIGHT_PER_KEY, when set: how many unsettled messages a key may have. */
    inFlightLimit: InFlightLimit | undefined;
    /** Which destinations messages and callbacks may target, parsed from config once. */
    destinationPolicy: DestinationPolicy;
    /** What the API counts, served on GET /metrics (src/observability/api-metrics.ts). */
    metrics: ApiMetrics;
    /** Every route registered (method and URL), for the documentation check. */
    registeredRoutes: { method: string; url: string; hidden: boolean }[];
  }
  interface FastifyContextConfig {
    /** No API key needed (health, documentation). */
    public?: boolean;
    /** A public route that also takes a key: a valid one makes the request the key's (counted, role-checked). */
    keyOptional?: boolean;
    /** The roles that may call the route (an unscoped key may call every route); absent: any key. */
    roles?: readonly ApiRole[];
  }
  interface FastifyRequest {
    /** The exact request body, for signature checks. */
    rawBody?: string;
    /** The key that authenticated the request, with its roles. */
    caller?: Caller;
  }
}

/** The values decorated on the instance, built from the dependencies once (see buildApp). */
export function dependencyDecorations(deps: ApiDependencies) {
  const metrics = createApiMetrics({ store: deps.store, maxDestinations: deps.config.metrics.maxDestinations });
  return {
    config: deps.config,
    temporal: createHeraldTemporal({
      client: deps.client,
      store: deps.store,
      // The ends of closed runs this process records on a status read are counted here.
      events: countingOutcomes(deps.events, metrics.eventAppended),
      config: deps.config,
    }),
    deadLetterStore: deps.store,
    eventLog: deps.events,
    orderingStore: deps.ordering,
    blobs: deps.blobs,
    eventHub: (deps.createEventHub ?? createEventHub)({
      events: deps.events,
      pollIntervalMs: deps.config.api.eventPollIntervalMs,
      logger: deps.logger,
    }),
    destinationPolicy: parseAllowlist(deps.config.destinationAllowlist),
    admission: createAdmission({ config: deps.config, client: deps.client, logger: deps.logger }),
    inFlightLimit:
      deps.config.api.maxInFlightPerKey === null
        ? undefined
        : createInFlightLimit({
            client: deps.client,
            namespace: deps.config.temporal.namespace,
            max: deps.config.api.maxInFlightPerKey,
          }),
    metrics,
  } satisfies Partial<FastifyInstance>;
}
