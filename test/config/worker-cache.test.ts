/** The worker's sticky cache size: an explicit count, or derived from a memory budget; bad values refused. */
import { ConfigError, loadConfig } from '../../src/config/config';
import {
  cachedWorkflowsForBudget,
  concurrentWorkflowTasks,
  heapLimitForBudgetMiB,
  minimumMemoryBudgetMiB,
  parseByteSize,
  WORKER_MEMORY_COST,
} from '../../src/config/workflow-cache';

const MiB = 2 ** 20;

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('parseByteSize', () => {
  test.each([
    ['512MiB', 512 * MiB],
    ['1GiB', 1024 * MiB],
    ['1.5 GiB', 1536 * MiB],
    ['65536kib', 64 * MiB],
    ['1000000', 1_000_000],
    ['2048B', 2048],
  ])('%s is %d bytes', (raw, bytes) => expect(parseByteSize(raw)).toBe(bytes));

  test.each(['', 'MiB', '512MB', '512 megabytes', '-1GiB', '1e9'])('"%s" is not a size', (raw) =>
    expect(parseByteSize(raw)).toBeUndefined(),
  );
});

describe('the cache size', () => {
  test('by default, what 512 MiB leaves above the base at the measured cost per workflow', () => {
    const { worker } = loadConfig({});
    expect(worker.memoryBudgetBytes).toBe(512 * MiB);
    expect(worker.cachedWorkflowsFrom).toBe('HERALD_WORKER_MEMORY_BUDGET');
    expect(worker.cachedWorkflows).toBe(
      Math.floor((512 - WORKER_MEMORY_COST.baseMiB) / WORKER_MEMORY_COST.perCachedWorkflowMiB),
    );
  });

  test('a larger budget gives a larger cache, growing by one workflow per cost', () => {
    const small = loadConfig({ HERALD_WORKER_MEMORY_BUDGET: '1GiB' }).worker.cachedWorkflows;
    const large = loadConfig({ HERALD_WORKER_MEMORY_BUDGET: '2GiB' }).worker.cachedWorkflows;
    const perGiB = 1024 / WORKER_MEMORY_COST.perCachedWorkflowMiB;
    expect(Math.abs(large - small - perGiB)).toBeLessThanOrEqual(1);
    expect(cachedWorkflowsForBudget(minimumMemoryBudgetMiB() * MiB)).toBe(2);
  });

  test('HERALD_WORKER_CACHED_WORKFLOWS wins over the budget when both are set', () => {
    const { worker } = loadConfig({ HERALD_WORKER_CACHED_WORKFLOWS: '5000', HERALD_WORKER_MEMORY_BUDGET: '1GiB' });
    expect(worker).toMatchObject({
      cachedWorkflows: 5000,
      cachedWorkflowsFrom: 'HERALD_WORKER_CACHED_WORKFLOWS',
      memoryBudgetBytes: 1024 * MiB,
    });
  });

  test('0 turns the cache off; 2 is the smallest cache', () => {
    expect(loadConfig({ HERALD_WORKER_CACHED_WORKFLOWS: '0' }).worker.cachedWorkflows).toBe(0);
    expect(loadConfig({ HERALD_WORKER_CACHED_WORKFLOWS: '2' }).worker.cachedWorkflows).toBe(2);
  });

  test.each(['1', '-3', '2.5', 'many', '1000001'])(
    'HERALD_WORKER_CACHED_WORKFLOWS=%s is refused, naming the range',
    (raw) => {
      expect(problemsOf({ HERALD_WORKER_CACHED_WORKFLOWS: raw })).toEqual([
        `HERALD_WORKER_CACHED_WORKFLOWS: must be 0 (no cache: every task replays its history) or an integer from 2 to 1000000, got "${raw}"`,
      ]);
    },
  );

  test.each(['lots', '512MB', '100MiB', '2TiB', '2048GiB'])(
    'HERALD_WORKER_MEMORY_BUDGET=%s is refused, naming the minimum',
    (raw) => {
      expect(problemsOf({ HERALD_WORKER_MEMORY_BUDGET: raw })).toEqual([
        `HERALD_WORKER_MEMORY_BUDGET: must be a size from ${minimumMemoryBudgetMiB()}MiB (a worker's base plus 2 cached workflows) to 1024GiB, such as 512MiB or 2GiB; got "${raw}"`,
      ]);
    },
  );

  test('a bad budget is reported even when the count is given, and both problems together', () => {
    expect(problemsOf({ HERALD_WORKER_CACHED_WORKFLOWS: '1', HERALD_WORKER_MEMORY_BUDGET: 'x' })).toHaveLength(2);
  });
});

describe('what follows from the cache size', () => {
  test('workflow tasks at once: the SDK default of 40, never above the cache, 40 with the cache off', () => {
    expect(concurrentWorkflowTasks(0)).toBe(40);
    expect(concurrentWorkflowTasks(2)).toBe(2);
    expect(concurrentWorkflowTasks(235)).toBe(40);
  });

  test('the heap limit for a budget is the budget less what lives off the heap, at least 128 MiB', () => {
    expect(heapLimitForBudgetMiB(512 * MiB)).toBe(160);
    expect(heapLimitForBudgetMiB(1024 * MiB)).toBe(672);
    expect(heapLimitForBudgetMiB(minimumMemoryBudgetMiB() * MiB)).toBe(128);
  });
});
