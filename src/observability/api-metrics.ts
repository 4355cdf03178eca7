/**
 * What an API process counts, served on its `GET /metrics`: sends by outcome and their latency,
 * redrives and discards, and the dead-letter queue as the store holds it. The queue's figures are read
 * from the store at each scrape (one grouped count), so every API host of a fleet reports the same
 * global numbers: alert on max() over hosts, never sum().
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DeadLetterStore, WaitingDeadLetters } from '../store/dead-letter-store';
import { boundedDestinations, statusClass } from './metric-labels';
import { createOutcomeCounter, type OutcomeCounter } from './outcome-counter';

/** Accept latency, seconds: a quick start to a slow Temporal. */
const ACCEPT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type SendOutcome = 'accepted' | 'existing' | 'rejected';

export interface ApiMetrics {
  readonly registry: Registry;
  /** One answered `POST /v1/messages`. */
  sent(statusCode: number, seconds: number): void;
  /** Dead letters redriven: one by id (`single`), or `count` of a bulk redrive. */
  redriven(mode: 'single' | 'bulk', count?: number): void;
  discarded(): void;
  /** Counts the outcomes this API process records in the event log (see outcome-counter.ts). */
  eventAppended: OutcomeCounter;
}

/** A send's outcome from its answer: 202 started, 200 an existing message, anything else refused. */
export function sendOutcome(statusCode: number): SendOutcome {
  if (statusCode === 202) return 'accepted';
  if (statusCode === 200) return 'existing';
  return 'rejected';
}

export function createApiMetrics(options: { store: DeadLetterStore; maxDestinations: number }): ApiMetrics {
  const registry = new Registry();
  const destination = boundedDestinations(options.maxDestinations);
  const accepted = new Counter({
    name: 'herald_messages_accepted_total',
    help: 'POST /v1/messages answers by outcome (accepted, existing, rejected) and HTTP status class.',
    labelNames: ['outcome', 'status_class'] as const,
    registers: [registry],
  });
  const acceptDuration = new Histogram({
    name: 'herald_accept_duration_seconds',
    help: 'Time to answer POST /v1/messages, by outcome.',
    labelNames: ['outcome'] as const,
    buckets: ACCEPT_BUCKETS,
    registers: [registry],
  });
  const redrives = new Counter({
    name: 'herald_redrives_total',
    help: 'Dead letters redriven, by mode (single or bulk).',
    labelNames: ['mode'] as const,
    registers: [registry],
  });
  const discards = new Counter({
    name: 'herald_discards_total',
    help: 'Dead letters discarded by an operator.',
    registers: [registry],
  });
  // The gauges come from one read of the store per scrape: whichever collects first reads, the others
  // reuse it. A store that cannot answer leaves the queue's gauges out (a scrape never fails for it) and
  // says so in herald_dead_letter_store_up.
  let reading: Promise<WaitingDeadLetters | null> | undefined;
  const readWaiting = () => {
    reading ??= options.store
      .waiting()
      .catch(() => null)
      .finally(() => setImmediate(() => (reading = undefined)));
    return reading;
  };
  new Gauge({
    name: 'herald_dead_letter_store_up',
    help: 'Whether the dead-letter store answered the last scrape (1) or not (0).',
    registers: [registry],
    async collect() {
      this.set((await readWaiting()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'herald_dead_letters_waiting',
    help: 'Dead letters waiting for an operator (state dead_lettered), by reason and destination host; read from the store at scrape time.',
    labelNames: ['reason', 'destination'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const groups = (await readWaiting())?.groups ?? [];
      const counts = new Map<string, { reason: string; destination: string; count: number }>();
      for (const group of groups) {
        const labels = { reason: group.reason, destination: destination(group.destination) };
        const key = `${labels.reason}\n${labels.destination}`;
        const entry = counts.get(key) ?? { ...labels, count: 0 };
        entry.count += group.count;
        counts.set(key, entry);
      }
      for (const { reason, destination: host, count } of counts.values())
        this.set({ reason, destination: host }, count);
    },
  });
  new Gauge({
    name: 'herald_dead_letter_oldest_waiting_age_seconds',
    help: 'Age of the oldest waiting dead letter, seconds (0 when none waits).',
    registers: [registry],
    async collect() {
      this.reset();
      const waiting = await readWaiting();
      if (!waiting) return;
      const { oldestDeadLetteredAt } = waiting;
      this.set(oldestDeadLetteredAt ? Math.max(0, (Date.now() - Date.parse(oldestDeadLetteredAt)) / 1000) : 0);
    },
  });
  return {
    registry,
    sent(statusCode, seconds) {
      const outcome = sendOutcome(statusCode);
      accepted.inc({ outcome, status_class: statusClass(statusCode) });
      acceptDuration.observe({ outcome }, seconds);
    },
    redriven(mode, count = 1) {
      if (count > 0) redrives.inc({ mode }, count);
    },
    discarded() {
      discards.inc();
    },
    eventAppended: createOutcomeCounter(registry, destination),
  };
}
