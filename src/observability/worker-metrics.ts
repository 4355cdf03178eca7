/**
 * What a worker counts (served on HERALD_METRICS_PORT by metrics-listener.ts): delivery attempts and
 * their durations by destination, messages reaching an outcome, dead letters created, callback
 * attempts. One registry per worker, so several workers in one process (the tests) never share series.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import type { AttemptRecord } from '../contract/message-status';
import type { NewMessageEvent } from '../store/event-log';
import { attemptOutcome, boundedDestinations, statusClass } from './metric-labels';
import { createOutcomeCounter } from './outcome-counter';

/** Attempt durations, seconds: a fast local receiver to an attempt timeout's worth. */
const ATTEMPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface WorkerMetrics {
  readonly registry: Registry;
  /** One delivery attempt, as the activity recorded it. */
  attempt(destination: string, record: Pick<AttemptRecord, 'outcome' | 'status' | 'cause' | 'durationMs'>): void;
  /** A dead letter the store took as new (`created: true`). */
  deadLetterCreated(reason: string, kind: 'message' | 'callback'): void;
  /** One callback attempt: sent (the receiver took it) or failed. */
  callback(outcome: 'sent' | 'failed'): void;
  /** An event the log took as new; outcome states are counted. */
  eventAppended(event: Pick<NewMessageEvent, 'state' | 'destination'>): void;
  /** An activity attempt held by destination control before any request, by reason. */
  held(destination: string, reason: string): void;
  /** A circuit breaker transition this worker made (`to`: open, half_open, closed). */
  circuitTransition(destination: string, to: string): void;
  /** An operational webhook (destination.circuit_opened, …) started as a callback, or failed to start. */
  operationsWebhook(outcome: 'started' | 'failed'): void;
}

export function createWorkerMetrics(options: { maxDestinations: number }): WorkerMetrics {
  const registry = new Registry();
  const destination = boundedDestinations(options.maxDestinations);
  const attempts = new Counter({
    name: 'herald_delivery_attempts_total',
    help: 'Delivery attempts by destination host, outcome (delivered, retryable, permanent, timeout, network) and HTTP status class.',
    labelNames: ['destination', 'outcome', 'status_class'] as const,
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'herald_delivery_attempt_duration_seconds',
    help: 'Duration of delivery attempts by destination host.',
    labelNames: ['destination'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers: [registry],
  });
  const outcome = createOutcomeCounter(registry, destination);
  const deadLetters = new Counter({
    name: 'herald_dead_letters_created_total',
    help: 'Dead letters written to the store, by reason and kind (message or callback).',
    labelNames: ['reason', 'kind'] as const,
    registers: [registry],
  });
  const callbacks = new Counter({
    name: 'herald_callbacks_total',
    help: 'Callback attempts to senders, by outcome (sent or failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const holds = new Counter({
    name: 'herald_delivery_holds_total',
    help: 'Delivery attempts held before any request by destination control, by destination host and reason (destination_paused, circuit_open, retries_off, rate_limited, concurrency_limited, retry_wait, control_unavailable).',
    labelNames: ['destination', 'reason'] as const,
    registers: [registry],
  });
  const circuit = new Counter({
    name: 'herald_circuit_transitions_total',
    help: 'Circuit breaker transitions made by this worker, by destination host and the state entered.',
    labelNames: ['destination', 'to'] as const,
    registers: [registry],
  });
  const webhooks = new Counter({
    name: 'herald_operations_webhooks_total',
    help: 'Operational webhooks (circuit opened or closed) by outcome: started as a signed callback (whose sends count in herald_callbacks_total), or failed to start.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    registry,
    held(host, reason) {
      holds.inc({ destination: destination(host), reason });
    },
    circuitTransition(host, to) {
      circuit.inc({ destination: destination(host), to });
    },
    operationsWebhook(outcome) {
      webhooks.inc({ outcome });
    },
    attempt(host, record) {
      const labels = { destination: destination(host) };
      attempts.inc({ ...labels, outcome: attemptOutcome(record), status_class: statusClass(record.status) });
      attemptDuration.observe(labels, record.durationMs / 1000);
    },
    deadLetterCreated(reason, kind) {
      deadLetters.inc({ reason, kind });
    },
    callback(outcome) {
      callbacks.inc({ outcome });
    },
    eventAppended: outcome,
  };
}
