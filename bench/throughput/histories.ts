/** What Temporal recorded per message: history events and workflow tasks of a sample of closed workflows. */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { spread, type Spread } from './stats';

const { EventType } = temporal.api.enums.v1;

export interface HistorySample {
  sampled: number;
  events: Spread;
  /** WorkflowTaskCompleted events: how many times a worker ran the workflow code. */
  workflowTasks: Spread;
}

/** Fetches the histories of up to `size` of `ids`, spread evenly over them, and counts their events. */
export async function sampleHistories(client: Client, ids: readonly string[], size: number): Promise<HistorySample> {
  const step = Math.max(1, Math.floor(ids.length / size));
  const chosen = ids.filter((_, i) => i % step === 0).slice(0, size);
  const counts = await Promise.all(
    chosen.map(async (id) => {
      const history = await client.workflow.getHandle(id).fetchHistory();
      const events = history.events ?? [];
      return {
        events: events.length,
        workflowTasks: events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED).length,
      };
    }),
  );
  return {
    sampled: counts.length,
    events: spread(counts.map((c) => c.events)),
    workflowTasks: spread(counts.map((c) => c.workflowTasks)),
  };
}

/** Workflows still running on a task queue, per the visibility store (eventually consistent). */
export async function countRunning(client: Client, taskQueue: string): Promise<number> {
  const { count } = await client.workflow.count(`TaskQueue = "${taskQueue}" AND ExecutionStatus = "Running"`);
  return count;
}
