/**
 * Destinations at run time: the settings an operator changes without a deploy (pause, a retry policy
 * override, a rate limit, a concurrency limit, a circuit breaker) for one host, and the global switch.
 * TypeBox schemas, so the API validates and serves the same shapes the worker reads. Sandbox-safe.
 *
 * A destination is a host as in `HeraldDestination` (the URL's host, with its port when it has one).
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DurationSchema } from './message';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const DateTime = (description?: string) =>
  Type.String(description ? { format: 'date-time', description } : { format: 'date-time' });

/** The host key of the global switch in the store and its history (never a valid host name). */
export const GLOBAL_DESTINATION = '*';

/**
 * A retry policy override: any field given replaces the message's plan for that field, at the
 * message's next attempt (messages already waiting for a retry included). The deadline is the
 * sender's and is not overridden here.
 */
export const DestinationRetrySchema = Type.Object(
  {
    initialInterval: Type.Optional(DurationSchema),
    backoffCoefficient: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    maximumInterval: Type.Optional(DurationSchema),
    maximumAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    jitter: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    attemptTimeout: Type.Optional(DurationSchema),
  },
  { additionalProperties: false },
);
export type DestinationRetry = Static<typeof DestinationRetrySchema>;

/**
 * The circuit breaker of one destination. It opens when, over the last `window`, at least
 * `minimumAttempts` attempts were made and `failureRatio` of them failed, or after
 * `consecutiveFailures` failures in a row (when set); it stays open for `cooldown`, then lets
 * `probes` attempts through (half-open): one success closes it, a failure opens it again.
 */
export const CircuitBreakerSchema = Type.Object(
  {
    failureRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
    window: DurationSchema,
    minimumAttempts: Type.Integer({ minimum: 1, maximum: 100_000 }),
    consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    cooldown: DurationSchema,
    probes: Type.Integer({ minimum: 1, maximum: 100 }),
  },
  { additionalProperties: false },
);
export type CircuitBreakerConfig = Static<typeof CircuitBreakerSchema>;

/** What an operator sets on a destination (PUT replaces all of it; PATCH merges, `null` clears a field). */
export const DestinationSettingsSchema = Type.Object(
  {
    paused: Type.Optional(Type.Boolean({ description: 'no attempt is made while true' })),
    retry: Type.Optional(Nullable(DestinationRetrySchema)),
    rateLimit: Type.Optional(
      Nullable(Type.Number({ exclusiveMinimum: 0, maximum: 100_000, description: 'attempts per second' })),
    ),
    maxConcurrency: Type.Optional(
      Nullable(Type.Integer({ minimum: 1, maximum: 100_000, description: 'attempts in flight' })),
    ),
    circuitBreaker: Type.Optional(Nullable(CircuitBreakerSchema)),
  },
  { additionalProperties: false },
);
export type DestinationSettings = Static<typeof DestinationSettingsSchema>;

/** The global switch: retries on (the default) or off for every destination. */
export const GlobalSettingsSchema = Type.Object(
  {
    retries: Type.Union([Type.Literal('on'), Type.Literal('off')], {
      description: 'off: an attempt that failed is not retried until retries are on again (first attempts still go)',
    }),
  },
  { additionalProperties: false },
);
export type GlobalSettings = Static<typeof GlobalSettingsSchema>;
export const DEFAULT_GLOBAL_SETTINGS: GlobalSettings = { retries: 'on' };

export const CircuitStateSchema = Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half_open')]);
export type CircuitState = Static<typeof CircuitStateSchema>;

/** One destination as stored: its settings and who changed them last. */
export const DestinationRecordSchema = Type.Object({
  host: Type.String(),
  settings: DestinationSettingsSchema,
  /** Increases with every change (an ETag). */
  version: Type.Integer(),
  updatedAt: DateTime(),
  updatedBy: Type.String(),
});
export type DestinationRecord = Static<typeof DestinationRecordSchema>;

export const DestinationChangeKindSchema = Type.Union([
  Type.Literal('settings'),
  Type.Literal('circuit_opened'),
  Type.Literal('circuit_half_open'),
  Type.Literal('circuit_closed'),
]);
export type DestinationChangeKind = Static<typeof DestinationChangeKindSchema>;

/** One entry of a destination's history: a settings change (who, when, what) or a breaker transition. */
export const DestinationChangeSchema = Type.Object({
  id: Type.Integer(),
  host: Type.String({ description: `the destination, or "${GLOBAL_DESTINATION}" for the global switch` }),
  kind: DestinationChangeKindSchema,
  at: DateTime(),
  /** The API key's name, or `herald` for the breaker. */
  actor: Type.String(),
  before: Nullable(Type.Unknown()),
  after: Nullable(Type.Unknown()),
  note: Nullable(Type.String()),
});
export type DestinationChange = Static<typeof DestinationChangeSchema>;

// --- What the stores answer when limits and breakers are asked (shared by the store and its rules) ---

/** Rate-limit pacing: a send slot reserved now (wait then send), or none within the wait allowed. */
export type SlotAnswer = { reserved: true; waitMs: number } | { reserved: false; retryInMs: number };

/** Whether the breaker lets an attempt through; a half-open breaker admits `probes` attempts at a time. */
export type BreakerAdmission =
  { admitted: true; probe: boolean; state: CircuitState } | { admitted: false; retryInMs: number; state: CircuitState };

/** A breaker state change caused by an admission or an outcome (the caller publishes it). */
export interface BreakerTransition {
  host: string;
  from: CircuitState;
  to: CircuitState;
  at: Date;
  /** The window's numbers when it happened (attempts, failures, consecutive failures). */
  window: { attempts: number; failures: number; consecutiveFailures: number };
  /** The history entry it was recorded as. */
  change: DestinationChange;
}

/** What the store knows about a destination's breaker right now. */
export interface BreakerSnapshot {
  state: CircuitState;
  openedAt: string | null;
  window: { attempts: number; failures: number; consecutiveFailures: number };
  probesInFlight: number;
}
