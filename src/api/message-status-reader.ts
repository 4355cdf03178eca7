/**
 * Reads a message's status for the API: from the workflow's `status` query when a worker is polling,
 * otherwise (no worker up, or it does not answer in time) from what Temporal's describe and the
 * dead-letter store know, marked as such.
 */
import type { Client } from '@temporalio/client';
import { getMessageStatus } from '../temporal/message-operations';
import { MessageNotFoundError } from '../temporal/operation-errors';
import type { MessageState, MessageStatus } from '../contract/message-status';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';
import type { DeadLetterStore } from '../store/dead-letter-store';
import { withClosedRunState } from './closed-runs';

export type ApiMessageStatus = MessageStatus & { source: 'workflow' | 'visibility'; note?: string };

/** A query that is not answered within this is given up for the fallback. */
const QUERY_DEADLINE_MS = 5_000;
/** A worker long-polls for up to a minute; one not seen for longer than this is gone. */
const POLLER_FRESHNESS_MS = 90_000;

export interface StatusReaderDeps {
  client: Client;
  store: DeadLetterStore;
  namespace: string;
  taskQueue: string;
  deadLetterRetentionMs: number;
}

/** Whether any worker has polled the task queue for workflow tasks recently. */
export async function workerIsPolling(
  deps: Pick<StatusReaderDeps, 'client' | 'namespace' | 'taskQueue'>,
): Promise<boolean> {
  const response = await deps.client.workflowService.describeTaskQueue({
    namespace: deps.namespace,
    taskQueue: { name: deps.taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  const now = Date.now();
  return (response.pollers ?? []).some((poller) => {
    const seconds = Number(poller.lastAccessTime?.seconds ?? 0);
    return now - seconds * 1000 < POLLER_FRESHNESS_MS;
  });
}

/** The message's status; a run Temporal terminated or timed out reads as that (see closed-runs.ts). */
export async function readMessageStatus(deps: StatusReaderDeps, id: string): Promise<ApiMessageStatus> {
  return withClosedRunState(deps.client, await readReportedStatus(deps, id));
}

async function readReportedStatus(deps: StatusReaderDeps, id: string): Promise<ApiMessageStatus> {
  if (await workerIsPolling(deps)) {
    try {
      const status = await deps.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        getMessageStatus(deps.client, id),
      );
      return { ...status, source: 'workflow' };
    } catch (error) {
      if (error instanceof MessageNotFoundError) throw error;
      // A worker that does not answer in time: fall through to what is known without one.
    }
  }
  return statusWithoutWorker(deps, id);
}

async function statusWithoutWorker(deps: StatusReaderDeps, id: string): Promise<ApiMessageStatus> {
  let description;
  try {
    description = await deps.client.workflow.getHandle(id).describe();
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError') throw new MessageNotFoundError(id);
    throw error;
  }
  const record = await deps.store.get(id);
  const state = (description.typedSearchAttributes.get(HERALD_STATE) as MessageState | undefined) ?? 'accepted';
  const createdAt = description.startTime.toISOString();
  const parked = record?.state === 'dead_lettered' && state === 'dead_lettered';
  return {
    id,
    state,
    destination: description.typedSearchAttributes.get(HERALD_DESTINATION) ?? '',
    attempts: record?.attempts ?? [],
    lastError: record?.lastError ?? null,
    nextAttemptAt: null,
    reply: null,
    deadLetter: parked
      ? {
          reason: record.reason,
          at: record.deadLetteredAt,
          round: record.round,
          retainedUntil: new Date(Date.parse(record.deadLetteredAt) + deps.deadLetterRetentionMs).toISOString(),
        }
      : null,
    rejection: null,
    cancellation: null,
    redrives: record?.redriveCount ?? 0,
    ignored: [],
    createdAt,
    updatedAt: description.closeTime?.toISOString() ?? record?.deadLetteredAt ?? createdAt,
    source: 'visibility',
    note: 'No worker answered the status query: this is what Temporal and the dead-letter store know. Attempts and replies are complete only for dead letters.',
  };
}
