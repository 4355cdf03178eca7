/**
 * Rate-limit pacing as GCRA (the generic cell rate algorithm) without burst: one slot every 1/rate
 * seconds per destination, the state being the next free slot's time (`tat`). Pure: the stores keep
 * `tat` in a row every worker host locks, so slots are spaced across the whole fleet.
 */
import type { SlotAnswer } from '../contract/destination';

export interface PacingState {
  /** Epoch ms of the next slot no one holds. */
  tat: number;
}

/** Reserves the next slot when it is at most `maxWaitMs` away; else answers when to ask again. */
export function reserve(
  state: PacingState | undefined,
  nowMs: number,
  ratePerSecond: number,
  maxWaitMs: number,
): { state: PacingState; answer: SlotAnswer } {
  const tat = state?.tat ?? 0;
  const slot = Math.max(nowMs, tat);
  const waitMs = slot - nowMs;
  if (waitMs > maxWaitMs) {
    return { state: { tat }, answer: { reserved: false, retryInMs: Math.max(5, Math.ceil(waitMs - maxWaitMs)) } };
  }
  return { state: { tat: slot + 1000 / ratePerSecond }, answer: { reserved: true, waitMs: Math.ceil(waitMs) } };
}
