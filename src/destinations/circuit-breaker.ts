/**
 * The circuit breaker's rules, over a JSON state the stores keep per destination (pure, unit-tested):
 *
 *   closed ── failures reach the ratio over the window (with enough attempts), or N in a row ──→ open
 *   open ── the cool-down is over, at the next admission ──→ half_open (admits `probes` attempts)
 *   half_open ── a probe succeeds ──→ closed      half_open ── a probe fails ──→ open (cool-down again)
 *
 * Outcomes of attempts admitted while closed that end after the breaker opened change nothing. A probe
 * admitted by a worker that then died expires (PROBE_EXPIRY), so it cannot wedge the breaker half-open.
 */
import type { CircuitBreakerConfig, CircuitState } from '../contract/destination';
import { parseDuration } from '../contract/duration';
import type { BreakerAdmission } from '../contract/destination';

/** The window is kept as this many buckets of outcome counts. */
export const WINDOW_BUCKETS = 10;
/** A half-open breaker asks refused attempts to come back after this long. */
export const HALF_OPEN_RETRY_MS = 1_000;

export interface BreakerState {
  state: CircuitState;
  openedAt: number | null;
  buckets: { start: number; attempts: number; failures: number }[];
  consecutiveFailures: number;
  /** Admission times of the probes in flight. */
  probes: number[];
}

export interface BreakerWindow {
  attempts: number;
  failures: number;
  consecutiveFailures: number;
}

export type StateChange = { from: CircuitState; to: CircuitState; window: BreakerWindow } | null;

export function initialBreaker(): BreakerState {
  return { state: 'closed', openedAt: null, buckets: [], consecutiveFailures: 0, probes: [] };
}

const ms = (value: string | number) => parseDuration(value) ?? 0;

function probeExpiryMs(config: CircuitBreakerConfig): number {
  return Math.max(2 * ms(config.cooldown), 60_000);
}

/** The window's counts at `now` (buckets older than the window left out). */
export function windowOf(state: BreakerState, config: CircuitBreakerConfig, now: number): BreakerWindow {
  const since = now - ms(config.window);
  const live = state.buckets.filter((bucket) => bucket.start > since - ms(config.window) / WINDOW_BUCKETS);
  return {
    attempts: live.reduce((sum, bucket) => sum + bucket.attempts, 0),
    failures: live.reduce((sum, bucket) => sum + bucket.failures, 0),
    consecutiveFailures: state.consecutiveFailures,
  };
}

function withoutExpiredProbes(state: BreakerState, config: CircuitBreakerConfig, now: number): BreakerState {
  const expiry = probeExpiryMs(config);
  return { ...state, probes: state.probes.filter((at) => now - at < expiry) };
}

/** Whether an attempt may go now; may move open → half_open. */
export function admit(
  current: BreakerState | undefined,
  config: CircuitBreakerConfig,
  now: number,
): { state: BreakerState; admission: BreakerAdmission; change: StateChange } {
  let state = withoutExpiredProbes(current ?? initialBreaker(), config, now);
  let change: StateChange = null;
  if (state.state === 'closed') return { state, admission: { admitted: true, probe: false, state: 'closed' }, change };
  if (state.state === 'open') {
    const reopensAt = (state.openedAt ?? now) + ms(config.cooldown);
    if (now < reopensAt) {
      return { state, admission: { admitted: false, retryInMs: reopensAt - now, state: 'open' }, change };
    }
    change = { from: 'open', to: 'half_open', window: windowOf(state, config, now) };
    state = { ...state, state: 'half_open', probes: [] };
  }
  if (state.probes.length >= config.probes) {
    return { state, admission: { admitted: false, retryInMs: HALF_OPEN_RETRY_MS, state: 'half_open' }, change };
  }
  state = { ...state, probes: [...state.probes, now] };
  return { state, admission: { admitted: true, probe: true, state: 'half_open' }, change };
}

/** Takes an attempt's outcome; answers the state change it caused, if any. */
export function record(
  current: BreakerState | undefined,
  config: CircuitBreakerConfig,
  outcome: { success: boolean; probe: boolean },
  now: number,
): { state: BreakerState; change: StateChange } {
  let state = withoutExpiredProbes(current ?? initialBreaker(), config, now);
  if (outcome.probe) {
    // One probe fewer in flight, whatever became of the breaker meanwhile.
    state = { ...state, probes: state.probes.slice(1) };
    if (state.state !== 'half_open') return { state, change: null };
    if (outcome.success) {
      const window = windowOf(state, config, now);
      return { state: initialBreaker(), change: { from: 'half_open', to: 'closed', window } };
    }
    const reopened: BreakerState = { ...state, state: 'open', openedAt: now, probes: [] };
    return { state: reopened, change: { from: 'half_open', to: 'open', window: windowOf(reopened, config, now) } };
  }
  // An attempt admitted while closed that ends while open or half-open: the breaker already decided.
  if (state.state !== 'closed') return { state, change: null };
  const width = Math.max(1, ms(config.window) / WINDOW_BUCKETS);
  const start = Math.floor(now / width) * width;
  const horizon = now - ms(config.window) - width;
  const buckets = state.buckets.filter((bucket) => bucket.start > horizon);
  const last = buckets[buckets.length - 1];
  const failure = outcome.success ? 0 : 1;
  if (last && last.start === start) {
    buckets[buckets.length - 1] = { ...last, attempts: last.attempts + 1, failures: last.failures + failure };
  } else {
    buckets.push({ start, attempts: 1, failures: failure });
  }
  state = { ...state, buckets, consecutiveFailures: outcome.success ? 0 : state.consecutiveFailures + 1 };
  if (outcome.success) return { state, change: null };
  const window = windowOf(state, config, now);
  const byRatio = window.attempts >= config.minimumAttempts && window.failures / window.attempts >= config.failureRatio;
  const inARow = config.consecutiveFailures !== undefined && state.consecutiveFailures >= config.consecutiveFailures;
  if (!byRatio && !inARow) return { state, change: null };
  return {
    state: { ...state, state: 'open', openedAt: now, probes: [] },
    change: { from: 'closed', to: 'open', window },
  };
}

/** Leases held and not expired (concurrency). */
export type LeaseState = { leases: Record<string, number> };

export function liveLeases(state: LeaseState | undefined, now: number): Record<string, number> {
  return Object.fromEntries(Object.entries(state?.leases ?? {}).filter(([, expiresAt]) => expiresAt > now));
}
