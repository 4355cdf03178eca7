/**
 * Which attempts count towards a plan's `maximumAttempts`. An attempt a worker shutdown cut is no fault
 * of the destination and no decision of the sender's, so it does not use up an attempt: the delivery
 * activity counts the cuts in its heartbeat details (which Temporal carries from one attempt of an
 * activity to the next) and decides itself when the budget is spent. Pure and unit-tested.
 */

/**
 * Attempts cut by worker shutdowns that Temporal's own retry policy lets through on top of the plan's
 * attempts. Herald decides within that (the activity stops at the plan's count); the allowance only
 * bounds an activity whose worker does not know the rule (an older worker during a rolling deploy).
 */
export const SHUTDOWN_CUT_ALLOWANCE = 100;

/** What the delivery activity keeps in its heartbeat details between attempts. */
export interface AttemptBudgetDetails {
  /** Attempts so far that a worker shutdown cut. */
  shutdownCuts: number;
  /** Activity attempts held by destination control before any request: not counted either. */
  held?: number;
  /** Holds in a row (0 once an attempt goes): backs off the checks of a paused message. */
  holdStreak?: number;
  /** The hold the workflow was last told of (it shows `paused`), or null. */
  visibleHold?: { reason: string; since: string } | null;
  /**
   * The last counted attempt that failed and was retried: when (epoch ms), its number, the jitter
   * drawn for its delay and the destination's Retry-After delay, if it gave one. The next attempt
   * recomputes when it is due under the live retry policy (a changed policy applies to waiting retries).
   */
  lastFailure?: { at: number; attempt: number; random: number; retryAfterMs?: number };
  /** A rate-limit slot (epoch ms) reserved by a held attempt, which the next attempt uses. */
  slotAt?: number;
}

/** The details as the activity reads them: every count present, the last failure only when there was one. */
export type AttemptDetails = Required<Omit<AttemptBudgetDetails, 'lastFailure' | 'slotAt'>> &
  Pick<AttemptBudgetDetails, 'lastFailure' | 'slotAt'>;

/** The details an earlier attempt left, with what is missing or not ours read as nothing yet. */
export function attemptDetailsOf(heartbeatDetails: unknown): AttemptDetails {
  const raw = (heartbeatDetails ?? {}) as Partial<AttemptBudgetDetails>;
  const count = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : 0);
  const failure = raw.lastFailure;
  const validFailure =
    failure !== null &&
    typeof failure === 'object' &&
    typeof failure.at === 'number' &&
    typeof failure.attempt === 'number' &&
    typeof failure.random === 'number';
  const hold = raw.visibleHold;
  return {
    shutdownCuts: count(raw.shutdownCuts),
    held: count(raw.held),
    holdStreak: count(raw.holdStreak),
    visibleHold:
      hold && typeof hold === 'object' && typeof hold.reason === 'string' && typeof hold.since === 'string'
        ? hold
        : null,
    ...(validFailure ? { lastFailure: failure } : {}),
    ...(typeof raw.slotAt === 'number' && Number.isFinite(raw.slotAt) ? { slotAt: raw.slotAt } : {}),
  };
}

/** The maximumAttempts to give Temporal's retry policy when the activity counts attempts itself. */
export function temporalMaximumAttempts(planMaximumAttempts: number): number {
  return planMaximumAttempts + SHUTDOWN_CUT_ALLOWANCE;
}

/** The shutdown cuts recorded by earlier attempts (0 when none, or when the details are not ours). */
export function shutdownCutsOf(heartbeatDetails: unknown): number {
  const cuts = (heartbeatDetails as Partial<AttemptBudgetDetails> | null | undefined)?.shutdownCuts;
  return typeof cuts === 'number' && Number.isInteger(cuts) && cuts > 0 ? cuts : 0;
}

/** The attempt's number in the plan's terms: Temporal's attempt number less the attempts cut before it. */
export function countedAttempt(temporalAttempt: number, shutdownCuts: number): number {
  return Math.max(1, temporalAttempt - shutdownCuts);
}
