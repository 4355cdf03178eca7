/**
 * What a message waiting on its ordering key asks Temporal about its predecessor when a signal to it
 * failed. A failed signal means the same for a run that has closed and for one that has not started yet
 * (its API host claimed the place, and its start is still on the way to Temporal): describing it tells
 * them apart. Run as a local activity, and only after a failed signal, so the happy path pays nothing.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';

/** Where the predecessor stands: `absent` is no run at all (not started yet, or deleted after retention). */
export type PredecessorState = 'running' | 'closed' | 'absent';

export function createOrderingActivities(client: Client) {
  return {
    async predecessorState(predecessor: string): Promise<PredecessorState> {
      try {
        const description = await client.workflow.getHandle(predecessor).describe();
        return description.status.name === 'RUNNING' ? 'running' : 'closed';
      } catch (error) {
        // The client turns the describe's gRPC NOT_FOUND into this error.
        if (error instanceof WorkflowNotFoundError) return 'absent';
        throw error;
      }
    },
  };
}
