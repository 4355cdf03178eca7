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
