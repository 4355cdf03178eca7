/**
 * The destination store: run-time settings of destinations and the state every worker host shares
 * to enforce them (rate-limit pacing, concurrency leases, circuit breakers), plus each destination's
 * history. Two implementations, as for dead letters: SQLite (the embedded default, one host) and
 * PostgreSQL (HERALD_DATABASE_URL, a fleet). test/store/destination-store.contract.ts is their common
 * behaviour.
 *
 * Why the store and not an entity workflow per destination: a limit across workers is a decision per
 * attempt, and a row lock in the database every host already shares costs one short transaction,
 * where a workflow would cost an update (a workflow task and history events) per attempt.
 */
import type {
  CircuitBreakerConfig,
  DestinationChange,
  DestinationChangeKind,
  DestinationRecord,
  DestinationSettings,
  GlobalSettings,
} from '../contract/destination';
import type { BreakerAdmission, BreakerSnapshot, BreakerTransition, SlotAnswer } from '../contract/destination';

export type { BreakerAdmission, BreakerSnapshot, BreakerTransition, SlotAnswer } from '../contract/destination';

/** A settings change as the API asks for it. */
export interface DestinationUpdate {
  /** `replace`: the settings become exactly these (PUT); `merge`: given fields change, `null` clears (PATCH). */
  mode: 'replace' | 'merge';
  settings: DestinationSettings;
  actor: string;
  at: Date;
  note?: string;
  /** When set, the update is refused (VersionConflictError) unless the record is at this version. */
  expectVersion?: number;
}

/** The update lost a race: the record is no longer at the version the caller read. */
export class VersionConflictError extends Error {
  constructor(
    readonly host: string,
    readonly currentVersion: number,
  ) {
    super(`destination ${host} is at version ${currentVersion}`);
    this.name = 'VersionConflictError';
  }
}

export interface DestinationStore {
  /** Every destination with settings (the global switch is separate: `global`). */
  list(): Promise<DestinationRecord[]>;
  get(host: string): Promise<DestinationRecord | undefined>;
  /** Changes a destination's settings and records the change in its history, in one transaction. */
  update(host: string, update: DestinationUpdate): Promise<DestinationRecord>;
  global(): Promise<GlobalSettings>;
  setGlobal(settings: GlobalSettings, actor: string, at: Date, note?: string): Promise<GlobalSettings>;
  /** Newest first; `beforeId` pages back. Host `*` is the global switch's history. */
  history(host: string, options?: { limit?: number; beforeId?: number }): Promise<DestinationChange[]>;

  /**
   * Rate limit (GCRA without burst: one slot every 1/rate seconds, shared by every host): reserves the
   * next slot when it is at most `maxWaitMs` away, else answers when to ask again.
   */
  reserveSlot(host: string, ratePerSecond: number, now: Date, maxWaitMs: number): Promise<SlotAnswer>;
  /** Concurrency: takes one of `max` leases (expiring at `expiresAt`, so a crashed worker frees its own). */
  acquireLease(host: string, leaseId: string, max: number, now: Date, expiresAt: Date): Promise<boolean>;
  releaseLease(host: string, leaseId: string): Promise<void>;
  /** Leases held and not expired. */
  leasesInFlight(host: string, now: Date): Promise<number>;

  /** Asks the breaker before an attempt; may move open → half_open when the cool-down is over. */
  breakerAdmit(
    host: string,
    config: CircuitBreakerConfig,
    now: Date,
  ): Promise<{ admission: BreakerAdmission; transition: BreakerTransition | null }>;
  /** Tells the breaker an attempt's outcome; answers the transition it caused, if any. */
  breakerRecord(
    host: string,
    config: CircuitBreakerConfig,
    outcome: { success: boolean; probe: boolean },
    now: Date,
  ): Promise<BreakerTransition | null>;
  breakerSnapshot(host: string, config: CircuitBreakerConfig, now: Date): Promise<BreakerSnapshot>;

  close(): Promise<void>;
}

export type { DestinationChangeKind };
