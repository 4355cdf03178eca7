/** What readiness (and the status reader) ask of Temporal: does it answer, and is a worker polling? */
import type { Client } from '@temporalio/client';

/** A worker long-polls for up to a minute; one not seen for longer than this is gone. */
const POLLER_FRESHNESS_MS = 90_000;

/** Resolves when the Temporal frontend answers; rejects with its error otherwise. */
export async function pingTemporal(client: Client): Promise<void> {
  await client.workflowService.getSystemInfo({});
}

/** Whether any worker has polled the task queue for workflow tasks recently. */
export async function workerIsPolling(client: Client, namespace: string, taskQueue: string): Promise<boolean> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const now = Date.now();
  return (response.pollers ?? []).some((poller) => {
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    return now - seconds * 1000 < POLLER_FRESHNESS_MS;
  });
}
