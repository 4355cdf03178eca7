/**
 * The worker's side of destination control: before each delivery attempt it asks whether the
 * attempt may go (paused, retries off, circuit breaker, concurrency and rate limits, in that order),
 * and after it, tells the breaker the outcome.
 *
 * Settings are read from the shared store and kept here for `refreshMs` (one query a second per
 * worker, whatever the traffic), so a destination without limits or breaker costs an attempt nothing
 * more. Limits and breakers are shared state: each asks the store, in one short transaction per
 * attempt, only for destinations that have them.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { DEFAULT_GLOBAL_SETTINGS, type DestinationSettings, type GlobalSettings } from '../contract/destination';
import type { HoldReason } from '../contract/message-status';
import type { BreakerTransition, DestinationStore } from '../store/destination-store';

/** Why an attempt is held: the reasons a message shows as `paused`, and the limits it waits on unseen. */
export type AttemptHoldReason = HoldReason | 'rate_limited' | 'concurrency_limited' | 'control_unavailable';

/** Holds a message shows (state `paused`); limits are waits of a second or so and stay `delivering`. */
export const VISIBLE_HOLDS: ReadonlySet<AttemptHoldReason> = new Set<AttemptHoldReason>([
  'destination_paused',
  'circuit_open',
  'retries_off',
]);

/** The answer before an attempt. */
export type Admission =
  | { go: true; waitMs: number; ticket: AttemptTicket }
  | {
      go: false;
      reason: AttemptHoldReason;
      retryInMs: number;
      detail: string;
      /** A rate-limit slot reserved for this message (epoch ms): its next attempt brings it back (`slotAt`). */
      slotAt?: number;
    };

/** What an admitted attempt holds until it ends: a concurrency lease, a breaker probe. */
export interface AttemptTicket {
  readonly host: string;
  readonly leaseId: string | null;
  readonly probe: boolean;
  readonly breaker: boolean;
}

export interface DestinationControlOptions {
  store: DestinationStore;
  logger: Logger;
  /** How long settings read from the store are used before they are read again. */
  refreshMs: number;
  /** Told of every breaker transition this worker caused (metrics, the operational webhook). */
  onTransition?: (transition: BreakerTransition) => void;
  now?: () => Date;
  random?: () => number;
}

/** How long an attempt may wait in the activity for its rate-limit slot before it is held instead. */
export const MAX_SLOT_WAIT_MS = 1_000;
/**
 * How far ahead a slot may be reserved. A message whose slot is further than MAX_SLOT_WAIT_MS away is
 * held until just before it (SLOT_LEAD_MS) and brings the slot back: one hold per waiting message,
 * in the order the slots were taken, where asking again and again would cost a retry every second.
 */
export const SLOT_HORIZON_MS = 60 * 60_000;
export const SLOT_LEAD_MS = 750;
/**
 * A slot brought back later than this is given up (sent late, it would crowd the next one). With slots
 * RATE_MARGIN wider than 1/rate, a request up to W × RATE_MARGIN late still keeps every window of W at
 * the receiver within the limit (100 ms for 2 s windows); 50 leaves the rest for the connection. Tighter
 * costs slots under load: at 25 ms a busy 2-core worker gave up enough to reach 79 % of a 50/s limit.
 */
export const SLOT_LATE_MS = 50;
/**
 * A hold checks again no later than this before the message's deadline, so a destination resumed in
 * the deadline's last seconds still gets the message, and one that stays closed dead-letters it (as
 * deadline_exceeded) this close to the deadline, not a whole check interval early.
 */
export const HOLD_DEADLINE_MARGIN_MS = 250;
/**
 * Slots are this much further apart than 1/rate, so that the jitter of timers and connections between
 * a slot and the request's arrival cannot put more than `rate` requests into any window at the receiver.
 * At 3 % the busiest 2-second window of a 50/s limit on a loaded 2-core machine held 103 requests; 5 %
 * costs at most 5 % of the limit and leaves 100 ms of jitter per 2-second window.
 */
export const RATE_MARGIN = 0.05;
/** The checks of a paused message back off from the first to the last, with jitter. */
export const HOLD_CHECK_FIRST_MS = 1_000;
export const HOLD_CHECK_MAX_MS = 15_000;
/** A concurrency lease outlives its attempt by this much, in case the worker dies holding it. */
const LEASE_MARGIN_MS = 5_000;

/** The delay before a held message checks again: its `streak`-th hold in a row, backed off, jittered ±20 %. */
export function holdCheckDelay(streak: number, random: number): number {
  const base = Math.min(HOLD_CHECK_MAX_MS, HOLD_CHECK_FIRST_MS * Math.pow(2, Math.max(0, streak - 1)));
  return Math.round(base * (0.8 + 0.4 * random));
}

export class DestinationControl {
  private destinations = new Map<string, DestinationSettings>();
  private globalSettings: GlobalSettings = DEFAULT_GLOBAL_SETTINGS;
  private loadedAt = -Infinity;
  private loading: Promise<void> | undefined;
  private loadedOnce = false;
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly options: DestinationControlOptions) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  /** The settings of `host` as this worker knows them (read again when older than refreshMs). */
  async settingsFor(host: string): Promise<{ destination: DestinationSettings; global: GlobalSettings }> {
    await this.refreshIfStale();
    return { destination: this.destinations.get(host) ?? {}, global: this.globalSettings };
  }

  /** Whether this worker could read the settings at least once (a hold says so when it could not). */
  get ready(): boolean {
    return this.loadedOnce;
  }

  private async refreshIfStale(): Promise<void> {
    if (this.now().getTime() - this.loadedAt < this.options.refreshMs) return;
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    await this.loading;
  }

  private async load(): Promise<void> {
    try {
      const [records, global] = await Promise.all([this.options.store.list(), this.options.store.global()]);
      this.destinations = new Map(records.map((record) => [record.host, record.settings]));
      this.globalSettings = global;
      this.loadedOnce = true;
    } catch (error) {
      // The last settings read stay in force; a worker that never read them holds its attempts (admit).
      this.options.logger.warn({ err: error }, 'could not read destination settings; keeping the last ones read');
    } finally {
      this.loadedAt = this.now().getTime();
    }
  }

  /**
   * Whether an attempt to `host` may go now. `isRetry`: the message already made an attempt this round
   * (the global switch holds retries only). `holdStreak`: holds in a row before this one (backs off checks).
   */
  async admit(
    host: string,
    attempt: { isRetry: boolean; attemptTimeoutMs: number; holdStreak: number; slotAt?: number },
  ): Promise<Admission> {
    const { destination, global } = await this.settingsFor(host);
    const check = holdCheckDelay(attempt.holdStreak + 1, this.random());
    if (!this.loadedOnce) {
      return { go: false, reason: 'control_unavailable', retryInMs: check, detail: 'destination settings unreadable' };
    }
    if (destination.paused) {
      return { go: false, reason: 'destination_paused', retryInMs: check, detail: `destination ${host} is paused` };
    }
    if (attempt.isRetry && global.retries === 'off') {
      return {
        go: false,
        reason: 'retries_off',
        retryInMs: check,
        detail: 'retries are switched off for every destination',
      };
    }
    try {
      return await this.admitLimited(host, destination, attempt.attemptTimeoutMs, attempt.slotAt);
    } catch (error) {
      this.options.logger.warn({ err: error, destination: host }, 'destination limits unavailable; attempt held');
      return { go: false, reason: 'control_unavailable', retryInMs: check, detail: 'destination limits unavailable' };
    }
  }

  /**
   * Limits, then the breaker: a lease and a rate slot can be given back or left unused (a limit is an
   * upper bound), a half-open breaker's probe cannot, so it is asked for last, when nothing else can hold.
   */
  private async admitLimited(
    host: string,
    settings: DestinationSettings,
    attemptTimeoutMs: number,
    slotAt: number | undefined,
  ): Promise<Admission> {
    const { store } = this.options;
    let leaseId: string | null = null;
    if (settings.maxConcurrency != null) {
      const now = this.now();
      leaseId = randomUUID();
      const expiresAt = new Date(now.getTime() + attemptTimeoutMs + LEASE_MARGIN_MS);
      if (!(await store.acquireLease(host, leaseId, settings.maxConcurrency, now, expiresAt))) {
        return {
          go: false,
          reason: 'concurrency_limited',
          retryInMs: 200 + Math.round(this.random() * 800),
          detail: `${settings.maxConcurrency} attempts to ${host} are in flight`,
        };
      }
    }
    const release = async () => {
      if (leaseId) await store.releaseLease(host, leaseId);
    };
    let waitMs = 0;
    if (settings.rateLimit != null) {
      const now = this.now().getTime();
      const detail = `${host} is limited to ${settings.rateLimit} attempts per second`;
      if (slotAt !== undefined && now <= slotAt + SLOT_LATE_MS) {
        // The slot this message reserved earlier: no second reservation.
        waitMs = Math.max(0, slotAt - now);
      } else {
        const rate = settings.rateLimit / (1 + RATE_MARGIN);
        const slot = await store.reserveSlot(host, rate, new Date(now), SLOT_HORIZON_MS);
        if (!slot.reserved) {
          await release();
          return { go: false, reason: 'rate_limited', retryInMs: slot.retryInMs, detail };
        }
        if (slot.waitMs > MAX_SLOT_WAIT_MS) {
          await release();
          return {
            go: false,
            reason: 'rate_limited',
            retryInMs: slot.waitMs - SLOT_LEAD_MS,
            detail,
            slotAt: now + slot.waitMs,
          };
        }
        waitMs = slot.waitMs;
      }
    }
    const breaker = settings.circuitBreaker ?? null;
    let probe = false;
    if (breaker) {
      const { admission, transition } = await store.breakerAdmit(host, breaker, this.now());
      if (transition) this.options.onTransition?.(transition);
      if (!admission.admitted) {
        await release();
        return {
          go: false,
          reason: 'circuit_open',
          retryInMs: admission.retryInMs + Math.round(this.random() * 1_000),
          detail: `the circuit breaker of ${host} is ${admission.state.replace('_', '-')}`,
        };
      }
      probe = admission.probe;
    }
    return { go: true, waitMs, ticket: { host, leaseId, probe, breaker: breaker !== null } };
  }

  /**
   * Ends an admitted attempt: frees its lease and tells the breaker. `failure`: the destination failed
   * the attempt (a 5xx, 429, timeout or network error); a 4xx it answered is not the destination down.
   */
  async settle(ticket: AttemptTicket, outcome: { failure: boolean } | { sent: false }): Promise<void> {
    const { store } = this.options;
    try {
      if (ticket.leaseId) await store.releaseLease(ticket.host, ticket.leaseId);
      if (!ticket.breaker || !('failure' in outcome)) return;
      const { destination } = await this.settingsFor(ticket.host);
      const config = destination.circuitBreaker;
      if (!config) return;
      const transition = await store.breakerRecord(
        ticket.host,
        config,
        { success: !outcome.failure, probe: ticket.probe },
        this.now(),
      );
      if (transition) this.options.onTransition?.(transition);
    } catch (error) {
      // A lease expires by itself and a missed outcome only delays the breaker: the delivery goes on.
      this.options.logger.warn({ err: error, destination: ticket.host }, 'could not settle the attempt with the store');
    }
  }
}
