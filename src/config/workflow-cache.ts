/**
 * How many workflows a worker keeps in its sticky cache, and how that number follows from a memory budget.
 *
 * A cached workflow answers its next task (a reply, a timeout) at once; an evicted one replays its history
 * first. Parked messages (`awaiting_reply`) sit in the cache for as long as they wait, so the cache size,
 * not the traffic, sets how much memory a worker holds: the SDK's own default (from the V8 heap limit,
 * about 2,300 workflows on a 4 GiB heap) lets a worker grow past 1.3 GiB. The costs below were measured
 * with `npm run bench:parked` (see the README, Operations).
 */

/** The measured memory of a worker process, as a fixed part and a part per cached workflow. */
export const WORKER_MEMORY_COST = {
  /**
   * RSS of a worker that has run deliveries, less its cached workflows: Node, tsx, the SDK's native core and
   * its threads, the workflow bundle and webpack's leftovers from bundling it, one reused workflow context,
   * undici. Measured 519 MiB (peak 522) with 2,500 parked and 235 cached, so 427; 440 keeps a margin below
   * the budget for what a loaded machine adds.
   */
  baseMiB: 440,
  /** RSS added by each cached parked message (its isolate state and history, on the V8 heap and in core). */
  perCachedWorkflowMiB: 0.39,
} as const;

/**
 * The V8 heap is sized from the machine, not the budget (4 GiB on a 16 GiB host) and the collector lets
 * garbage grow long before it has to: with a 200-workflow cache and no limit, 1,500 parked messages took
 * 810 MiB; with the old space capped at 160 MiB, 537. A worker keeps to its budget only with a heap limit.
 */
export const NON_HEAP_MIB = 352;

/** The `--max-old-space-size` (MiB) a worker should run with for a budget: the budget less what lives off the heap. */
export function heapLimitForBudgetMiB(budgetBytes: number): number {
  return Math.max(128, Math.floor(budgetBytes / 2 ** 20 - NON_HEAP_MIB));
}

/** The budget a worker keeps to when neither variable is set. */
export const DEFAULT_WORKER_MEMORY_BUDGET = '512MiB';

/** The SDK refuses a cache of one workflow (it makes it two): 0 turns the cache off, else at least 2. */
export const MIN_CACHED_WORKFLOWS = 2;
export const MAX_CACHED_WORKFLOWS = 1_000_000;

const UNITS: Record<string, number> = { '': 1, b: 1, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/** Bytes of a size such as `512MiB`, `1GiB`, `65536KiB` or `1000000` (bytes); undefined when it is none. */
export function parseByteSize(raw: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(raw.trim());
  const unit = UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) return undefined;
  return Math.floor(Number(match[1]) * unit);
}

/** The smallest budget that leaves room for a cache of MIN_CACHED_WORKFLOWS above the worker's base. */
export function minimumMemoryBudgetMiB(): number {
  return Math.ceil(WORKER_MEMORY_COST.baseMiB + MIN_CACHED_WORKFLOWS * WORKER_MEMORY_COST.perCachedWorkflowMiB);
}

/** The cache size a memory budget allows: what is left above the base, divided by the cost of one workflow. */
export function cachedWorkflowsForBudget(budgetBytes: number): number {
  const spareMiB = budgetBytes / 2 ** 20 - WORKER_MEMORY_COST.baseMiB;
  const workflows = Math.floor(spareMiB / WORKER_MEMORY_COST.perCachedWorkflowMiB);
  return Math.min(MAX_CACHED_WORKFLOWS, Math.max(MIN_CACHED_WORKFLOWS, workflows));
}

/**
 * How many workflow tasks the worker runs at once: the SDK's 40, but never more than the cache holds
 * (the SDK requires that, and would otherwise lower it with a warning). With the cache off, the 40.
 */
export function concurrentWorkflowTasks(cachedWorkflows: number): number {
  const sdkDefault = 40;
  return cachedWorkflows === 0 ? sdkDefault : Math.min(sdkDefault, cachedWorkflows);
}
