/**
 * How a message's run closed, read from Temporal. A terminated or timed-out workflow never runs again,
 * so it cannot report that end: its status query and its HeraldState search attribute keep whatever it
 * was doing. The execution's close status is the record of it (and a closed run's search attributes
 * can no longer be changed, so they stay as they were).
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { MessageState } from '../contract/message-status';

/** The states only an execution's close status can tell. */
export type ClosedRunState = Extract<MessageState, 'terminated' | 'timed_out'>;

/** The state an execution status stands for when the workflow could not report it; undefined for any other. */
export function closedRunState(executionStatus: string | undefined): ClosedRunState | undefined {
  if (executionStatus === 'TERMINATED') return 'terminated';
  if (executionStatus === 'TIMED_OUT') return 'timed_out';
  return undefined;
}

export interface ClosedRun {
  runId: string;
  closedAt: string;
  /** Temporal's close status: `COMPLETED`, `TERMINATED`, `TIMED_OUT`, … */
  executionStatus: string;
}

/** How the latest run of message `id` closed; undefined while it runs, or for an unknown id. */
export async function readClosedRun(client: Client, id: string): Promise<ClosedRun | undefined> {
  const description = await client.workflow
    .getHandle(id)
    .describe()
    .catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    });
  if (!description?.closeTime) return undefined;
  return {
    runId: description.runId,
    closedAt: description.closeTime.toISOString(),
    executionStatus: description.status.name,
  };
}
