/** Pure statistics for the throughput benchmark: percentiles of samples, and medians with ranges over rounds. */

/** The p-th percentile (0–100) of ascending `sorted` by nearest rank; NaN for no samples. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** p50/p95/p99 of unsorted samples. */
export function latencySummary(samples: readonly number[]): { p50: number; p95: number; p99: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

/** A figure over rounds: its median and its range. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** Median (mean of the middle two for an even count), min and max, ignoring NaN; all NaN for none. */
export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** What a rate limit is judged by: the rate held in the steady middle of a round, and the busiest window. */
export interface AttemptRate {
  /** Median of per-second counts over the middle 80 % of the span (ramp-up and wind-down left out). */
  steadyPerSecond: number;
  /** The most requests in any window of `windowMs`, per second: at most the limit when it holds. */
  busiestWindowPerSecond: number;
}

/** AttemptRate of request times (ms, any order); NaN for fewer than two. */
export function attemptRate(times: readonly number[], windowMs = 2_000): AttemptRate {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length < 2) return { steadyPerSecond: Number.NaN, busiestWindowPerSecond: Number.NaN };
  const first = sorted[0]!;
  const span = sorted.at(-1)! - first;
  const from = first + span * 0.1;
  const seconds = Math.floor((span * 0.8) / 1000);
  const counts = Array.from({ length: seconds }, () => 0);
  for (const at of sorted) {
    const bin = Math.floor((at - from) / 1000);
    if (bin >= 0 && bin < seconds) counts[bin]! += 1;
  }
  // Two pointers: for each request, the requests in the window that starts with it.
  let busiest = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    busiest = Math.max(busiest, end - start);
  }
  return {
    steadyPerSecond: seconds > 0 ? spread(counts).median : Number.NaN,
    busiestWindowPerSecond: busiest / (windowMs / 1000),
  };
}
