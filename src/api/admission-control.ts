/**
 * Admission control for new messages: whether this API host starts one more workflow now, or answers
 * 429 so the sender keeps the message and comes back later. Pure (samples and a clock in, a decision
 * out); src/api/admission.ts feeds it from Temporal and the start calls.
 *
 * Why these signals. Measured at 5× capacity with no admission control, starting every message at once
 * made new workflows' first workflow tasks crowd out the tasks that finish deliveries: accept p99 grew to
 * 10 s and deliveries fell to a tenth of capacity. Two things must stay bounded, and each has a signal a
 * fleet can share or a host can measure without shared state:
 *
 * - Work Temporal holds that no worker has taken: the backlog of Herald's workflow task queue (new
 *   messages' first tasks: sticky tasks of running workflows are not counted) and of its activity task
 *   queue, as Temporal reports them (`DescribeTaskQueue` with `reportStats`; every API host of a fleet
 *   reads the same numbers, so all of them shed together, and nothing lives on one host's disk). The
 *   server caches these stats for a few seconds, so they are the slow loop: they catch sustained
 *   overload whatever its source (other hosts, redrives, retries).
 * - Temporal answering slowly: the recent p95 of this host's own start calls, and how many are in flight.
 *   This is the fast loop: it reacts within one evaluation and keeps accept latency bounded.
 *
 * The shedding state changes only when evaluated (each backlog poll, and at most every 100 ms on a
 * request), so it flips at most a few times a second and each flip is logged once. Between the two,
 * starts in flight are capped per request by a limit that adapts to latency (AIMD, as TCP does): a
 * start slower than the latency bound halves it, a quick one raises it by one, up to
 * `maxStartsInFlight`; after a shedding episode it starts again from one. So the host comes back
 * gradually instead of letting the whole queue of senders through at once, which would make Temporal
 * slow again and the admitted messages' accept latency with it.
 */
import type { AdmissionSettings } from '../config/config';
import type { BacklogSample, QueueBacklog } from '../temporal/task-queue-backlog';

export type ShedReason = 'backlog' | 'start-latency' | 'starts-in-flight';

export type AdmissionDecision =
  | { admit: true }
  | {
      admit: false;
      reason: ShedReason;
      /** Whole seconds, at least 1: when trying again is worth it. */
      retryAfterSeconds: number;
      /** For the problem body: why, in words an operator and a sender understand. */
      detail: string;
      backlog?: { workflowTasks: QueueBacklog; activityTasks: QueueBacklog };
      startLatencyP95Ms?: number;
    };

/** A change of the shedding state, for the log line and counter. */
export interface AdmissionTransition {
  shedding: boolean;
  reason?: ShedReason;
  detail?: string;
}

/** How often a request may re-evaluate the state between backlog polls. */
const EVALUATE_INTERVAL_MS = 100;

/** The decision logic of one host; not thread-shared, not persisted. */
export class AdmissionController {
  private sample: BacklogSample | undefined;
  private latencies: { at: number; ms: number }[] = [];
  private inFlight = 0;
  /** Starts allowed in flight now (fractional after a halving; whole starts count). */
  private limit: number;
  private evaluatedAt = Number.NEGATIVE_INFINITY;
  private shed: Extract<AdmissionDecision, { admit: false }> | undefined;
  private readonly transitions: ((transition: AdmissionTransition) => void)[] = [];

  constructor(
    private readonly settings: AdmissionSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = settings.maxStartsInFlight;
  }

  /** Called once per change of the shedding state. */
  onTransition(listener: (transition: AdmissionTransition) => void): void {
    this.transitions.push(listener);
  }

  /** A new backlog reading; re-evaluates the state. */
  recordBacklog(sample: BacklogSample): void {
    this.sample = sample;
    this.evaluate();
  }

  /** Whether a new message may start now. An admitted caller must call `startEnded` when its start returns. */
  tryAdmit(): AdmissionDecision {
    if (!this.settings.enabled) return { admit: true };
    if (this.now() - this.evaluatedAt >= EVALUATE_INTERVAL_MS) this.evaluate();
    if (this.shed) return this.shed;
    if (this.inFlight >= Math.floor(this.limit)) {
      const { maxStartsInFlight, maxStartLatencyMs } = this.settings;
      if (this.limit < maxStartsInFlight) {
        return {
          admit: false,
          reason: 'start-latency',
          retryAfterSeconds: 1,
          detail: `Temporal is behind: starts take over ${maxStartLatencyMs} ms, so this host runs only ${this.inFlight} at once; retry after 1 s`,
        };
      }
      return {
        admit: false,
        reason: 'starts-in-flight',
        retryAfterSeconds: 1,
        detail: `Temporal is behind: ${this.inFlight} starts are already in flight on this host; retry after 1 s`,
      };
    }
    this.inFlight += 1;
    return { admit: true };
  }

  /** An admitted start returned (either way) after `durationMs`. */
  startEnded(durationMs: number): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    this.latencies.push({ at: this.now(), ms: durationMs });
    const { maxStartsInFlight, maxStartLatencyMs } = this.settings;
    this.limit =
      durationMs > maxStartLatencyMs ? Math.max(1, this.limit / 2) : Math.min(maxStartsInFlight, this.limit + 1);
  }

  /** Starts this host lets be in flight now (whole). */
  get startLimit(): number {
    return Math.floor(this.limit);
  }

  /** Whether new messages are being refused (for health and tests). */
  get shedding(): boolean {
    return this.shed !== undefined;
  }

  /** The recent p95 of start calls, or undefined with too few in the window to tell. */
  startLatencyP95(): number | undefined {
    const cutoff = this.now() - this.settings.latencyWindowMs;
    while (this.latencies.length > 0 && this.latencies[0]!.at < cutoff) this.latencies.shift();
    // Below five samples a p95 is one slow call: not a trend worth refusing senders for.
    if (this.latencies.length < 5) return undefined;
    const sorted = this.latencies.map((l) => l.ms).sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)];
  }

  private evaluate(): void {
    this.evaluatedAt = this.now();
    const next = this.settings.enabled ? this.shedDecision() : undefined;
    const changed = (next === undefined) !== (this.shed === undefined) || (next && next.reason !== this.shed?.reason);
    // Out of an episode, senders come back gradually (see the top of this file).
    if (next === undefined && this.shed !== undefined) this.limit = 1;
    this.shed = next;
    if (!changed) return;
    const transition: AdmissionTransition = next
      ? { shedding: true, reason: next.reason, detail: next.detail }
      : { shedding: false };
    for (const listener of this.transitions) listener(transition);
  }

  private shedDecision(): Extract<AdmissionDecision, { admit: false }> | undefined {
    const { maxBacklogCount, maxBacklogAgeMs, maxStartLatencyMs, sampleMaxAgeMs } = this.settings;
    const sample = this.sample && this.now() - this.sample.at <= sampleMaxAgeMs ? this.sample : undefined;
    if (sample) {
      const { workflowTasks, activityTasks } = sample;
      const age = Math.max(workflowTasks.ageMs, activityTasks.ageMs);
      if (workflowTasks.count > maxBacklogCount || age > maxBacklogAgeMs) {
        const retryAfterSeconds = this.retryAfterForBacklog(sample);
        const what =
          workflowTasks.count > maxBacklogCount
            ? `${workflowTasks.count} workflow tasks wait for a worker (limit ${maxBacklogCount})`
            : `the ${workflowTasks.ageMs >= activityTasks.ageMs ? 'workflow' : 'activity'} task backlog is ${seconds(age)} s old (limit ${seconds(maxBacklogAgeMs)} s)`;
        return {
          admit: false,
          reason: 'backlog',
          retryAfterSeconds,
          detail: `Temporal is behind: ${what}; retry after ${retryAfterSeconds} s`,
          backlog: { workflowTasks, activityTasks },
        };
      }
    }
    const p95 = this.startLatencyP95();
    if (p95 !== undefined && p95 > maxStartLatencyMs) {
      return {
        admit: false,
        reason: 'start-latency',
        retryAfterSeconds: 1,
        detail: `Temporal is behind: starting a message took ${Math.round(p95)} ms at p95 (limit ${maxStartLatencyMs} ms); retry after 1 s`,
        startLatencyP95Ms: Math.round(p95),
      };
    }
    return undefined;
  }

  /**
   * How long the workflow task backlog takes to drain back under its limit at the rate Temporal is
   * dispatching it; the age limit's overshoot when the count is fine; bounded by maxRetryAfterMs.
   */
  private retryAfterForBacklog({ workflowTasks, activityTasks }: BacklogSample): number {
    const { maxBacklogCount, maxBacklogAgeMs, maxRetryAfterMs } = this.settings;
    const cap = Math.max(1, Math.floor(maxRetryAfterMs / 1000));
    const excess = workflowTasks.count - maxBacklogCount;
    let estimateSeconds: number;
    if (excess > 0) {
      estimateSeconds = workflowTasks.dispatchRate > 0 ? excess / workflowTasks.dispatchRate : cap;
    } else {
      estimateSeconds = (Math.max(workflowTasks.ageMs, activityTasks.ageMs) - maxBacklogAgeMs) / 1000;
    }
    return Math.min(cap, Math.max(1, Math.ceil(estimateSeconds)));
  }
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}
