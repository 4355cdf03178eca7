/**
 * What both destination stores do, written once over a transaction's few reads and writes (each
 * store runs these inside one transaction that holds the destination's row, so hosts serialize per
 * destination): settings changes with their history, the global switch, pacing, leases and breakers.
 */
import {
  DEFAULT_GLOBAL_SETTINGS,
  GLOBAL_DESTINATION,
  type CircuitBreakerConfig,
  type DestinationChange,
  type DestinationChangeKind,
  type DestinationRecord,
  type DestinationSettings,
  type GlobalSettings,
} from '../contract/destination';
import {
  admit,
  liveLeases,
  record,
  windowOf,
  type BreakerState,
  type LeaseState,
  type StateChange,
} from '../destinations/circuit-breaker';
import { reserve, type PacingState } from '../destinations/pacing';
import {
  VersionConflictError,
  type BreakerAdmission,
  type BreakerSnapshot,
  type BreakerTransition,
  type DestinationUpdate,
  type SlotAnswer,
} from './destination-store';

export type StateKind = 'pacing' | 'leases' | 'breaker';

/** One transaction's view: the store implements these over its own connection. */
export interface DestinationTx {
  getRecord(host: string): Promise<DestinationRecord | undefined>;
  putRecord(record: DestinationRecord): Promise<void>;
  getState<T>(host: string, kind: StateKind): Promise<T | undefined>;
  setState(host: string, kind: StateKind, state: unknown): Promise<void>;
  addChange(change: Omit<DestinationChange, 'id'>): Promise<DestinationChange>;
}

/** Runs `work` in one transaction that serializes with every other one on `host`. */
export type InTransaction = <T>(host: string, work: (tx: DestinationTx) => Promise<T>) => Promise<T>;

/** PATCH semantics: given fields replace, `null` removes. */
export function mergeSettings(current: DestinationSettings, patch: DestinationSettings): DestinationSettings {
  const merged: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else if (value !== undefined) merged[key] = value;
  }
  return merged as DestinationSettings;
}

/** Drops `null` fields (a PUT may say `null` for "none"): the stored settings hold only what is set. */
function withoutNulls(settings: DestinationSettings): DestinationSettings {
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== null && value !== undefined));
}

export async function updateDestination(
  run: InTransaction,
  host: string,
  update: DestinationUpdate,
): Promise<DestinationRecord> {
  return run(host, async (tx) => {
    const current = await tx.getRecord(host);
    const version = current?.version ?? 0;
    if (update.expectVersion !== undefined && update.expectVersion !== version) {
      throw new VersionConflictError(host, version);
    }
    const before = current?.settings ?? {};
    const settings = update.mode === 'merge' ? mergeSettings(before, update.settings) : withoutNulls(update.settings);
    const next: DestinationRecord = {
      host,
      settings,
      version: version + 1,
      updatedAt: update.at.toISOString(),
      updatedBy: update.actor,
    };
    await tx.putRecord(next);
    await tx.addChange({
      host,
      kind: 'settings',
      at: next.updatedAt,
      actor: update.actor,
      before: current ? before : null,
      after: settings,
      note: update.note ?? null,
    });
    return next;
  });
}

export async function setGlobalSettings(
  run: InTransaction,
  settings: GlobalSettings,
  actor: string,
  at: Date,
  note?: string,
): Promise<GlobalSettings> {
  return run(GLOBAL_DESTINATION, async (tx) => {
    const current = await tx.getRecord(GLOBAL_DESTINATION);
    const before = (current?.settings as GlobalSettings | undefined) ?? DEFAULT_GLOBAL_SETTINGS;
    await tx.putRecord({
      host: GLOBAL_DESTINATION,
      settings: settings as unknown as DestinationSettings,
      version: (current?.version ?? 0) + 1,
      updatedAt: at.toISOString(),
      updatedBy: actor,
    });
    await tx.addChange({
      host: GLOBAL_DESTINATION,
      kind: 'settings',
      at: at.toISOString(),
      actor,
      before,
      after: settings,
      note: note ?? null,
    });
    return settings;
  });
}

export function globalOf(record: DestinationRecord | undefined): GlobalSettings {
  const retries = (record?.settings as Partial<GlobalSettings> | undefined)?.retries;
  return retries === 'on' || retries === 'off' ? { retries } : DEFAULT_GLOBAL_SETTINGS;
}

export async function reserveSlot(
  run: InTransaction,
  host: string,
  ratePerSecond: number,
  now: Date,
  maxWaitMs: number,
): Promise<SlotAnswer> {
  return run(host, async (tx) => {
    const { state, answer } = reserve(
      await tx.getState<PacingState>(host, 'pacing'),
      now.getTime(),
      ratePerSecond,
      maxWaitMs,
    );
    if (answer.reserved) await tx.setState(host, 'pacing', state);
    return answer;
  });
}

export async function acquireLease(
  run: InTransaction,
  host: string,
  leaseId: string,
  max: number,
  now: Date,
  expiresAt: Date,
): Promise<boolean> {
  return run(host, async (tx) => {
    const leases = liveLeases(await tx.getState<LeaseState>(host, 'leases'), now.getTime());
    if (!(leaseId in leases) && Object.keys(leases).length >= max) return false;
    leases[leaseId] = expiresAt.getTime();
    await tx.setState(host, 'leases', { leases } satisfies LeaseState);
    return true;
  });
}

export async function releaseLease(run: InTransaction, host: string, leaseId: string): Promise<void> {
  await run(host, async (tx) => {
    const state = await tx.getState<LeaseState>(host, 'leases');
    if (!state?.leases[leaseId]) return;
    const { [leaseId]: _released, ...rest } = state.leases;
    await tx.setState(host, 'leases', { leases: rest } satisfies LeaseState);
  });
}

export async function leasesInFlight(run: InTransaction, host: string, now: Date): Promise<number> {
  return run(
    host,
    async (tx) => Object.keys(liveLeases(await tx.getState<LeaseState>(host, 'leases'), now.getTime())).length,
  );
}

const CHANGE_KIND: Record<string, DestinationChangeKind> = {
  open: 'circuit_opened',
  half_open: 'circuit_half_open',
  closed: 'circuit_closed',
};

async function transitionOf(
  tx: DestinationTx,
  host: string,
  change: StateChange,
  now: Date,
): Promise<BreakerTransition | null> {
  if (!change) return null;
  const recorded = await tx.addChange({
    host,
    kind: CHANGE_KIND[change.to]!,
    at: now.toISOString(),
    actor: 'herald',
    before: { state: change.from },
    after: { state: change.to, window: change.window },
    note: null,
  });
  return { host, from: change.from, to: change.to, at: now, window: change.window, change: recorded };
}

export async function breakerAdmit(
  run: InTransaction,
  host: string,
  config: CircuitBreakerConfig,
  now: Date,
): Promise<{ admission: BreakerAdmission; transition: BreakerTransition | null }> {
  return run(host, async (tx) => {
    const current = await tx.getState<BreakerState>(host, 'breaker');
    const { state, admission, change } = admit(current, config, now.getTime());
    // A closed breaker's admission changes nothing: no write.
    if (change || admission.state !== 'closed') await tx.setState(host, 'breaker', state);
    return { admission, transition: await transitionOf(tx, host, change, now) };
  });
}

export async function breakerRecord(
  run: InTransaction,
  host: string,
  config: CircuitBreakerConfig,
  outcome: { success: boolean; probe: boolean },
  now: Date,
): Promise<BreakerTransition | null> {
  return run(host, async (tx) => {
    const { state, change } = record(await tx.getState<BreakerState>(host, 'breaker'), config, outcome, now.getTime());
    await tx.setState(host, 'breaker', state);
    return transitionOf(tx, host, change, now);
  });
}

export async function breakerSnapshot(
  run: InTransaction,
  host: string,
  config: CircuitBreakerConfig,
  now: Date,
): Promise<BreakerSnapshot> {
  return run(host, async (tx) => {
    const state = await tx.getState<BreakerState>(host, 'breaker');
    if (!state)
      return {
        state: 'closed',
        openedAt: null,
        window: { attempts: 0, failures: 0, consecutiveFailures: 0 },
        probesInFlight: 0,
      };
    return {
      state: state.state,
      openedAt: state.openedAt === null ? null : new Date(state.openedAt).toISOString(),
      window: windowOf(state, config, now.getTime()),
      probesInFlight: state.probes.length,
    };
  });
}
