/**
 * The backlog of Herald's task queues as Temporal reports it (`DescribeTaskQueue` with `reportStats`,
 * server 1.28+): tasks no worker has taken yet, the age of the oldest, and the dispatch rate. Temporal
 * aggregates the stats over the queue's partitions and caches them for a few seconds, so reading them
 * often is cheap for the server and every API host of a fleet sees the same numbers. (Stats in the
 * default mode came with temporalio/temporal#7816, cached per partition since #6643; against the CLI's
 * dev server, server 1.32, a new backlog showed up 5–6 s after the tasks were added and then refreshed
 * every 5 s.) Sticky workflow tasks are not counted: the workflow count is mostly new messages' first tasks.
 */
import type { Client } from '@temporalio/client';

/** One task queue's backlog as Temporal reports it. */
export interface QueueBacklog {
  /** Tasks waiting for a worker. */
  count: number;
  /** Age of the oldest of them. */
  ageMs: number;
  /** Tasks per second Temporal hands to workers (a 30 s average); 0 when none. */
  dispatchRate: number;
}

/** A reading of Herald's task queues. */
export interface BacklogSample {
  /** When it was read (the clock's milliseconds). */
  at: number;
  workflowTasks: QueueBacklog;
  activityTasks: QueueBacklog;
}

const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/** Reads both of the task queue's backlogs (two describe calls, in parallel). */
export async function readTaskQueueBacklog(
  client: Client,
  namespace: string,
  taskQueue: string,
  now: () => number = Date.now,
): Promise<BacklogSample> {
  const describe = async (taskQueueType: number): Promise<QueueBacklog> => {
    const response = await client.workflowService.describeTaskQueue({
      namespace,
      taskQueue: { name: taskQueue },
      taskQueueType,
      reportStats: true,
    });
    const stats = response.stats;
    const age = stats?.approximateBacklogAge;
    return {
      count: Number(stats?.approximateBacklogCount ?? 0),
      ageMs: Number(age?.seconds ?? 0) * 1000 + Math.floor(Number(age?.nanos ?? 0) / 1e6),
      dispatchRate: Number(stats?.tasksDispatchRate ?? 0),
    };
  };
  const [workflowTasks, activityTasks] = await Promise.all([
    describe(TASK_QUEUE_TYPE_WORKFLOW),
    describe(TASK_QUEUE_TYPE_ACTIVITY),
  ]);
  return { at: now(), workflowTasks, activityTasks };
}
