/**
 * Reads a message's status for the API: from the workflow's `status` query when a worker is polling,
 * otherwise (no worker up, or it does not answer in time) from what Temporal's describe and the
 * dead-letter store know, marked as such.
 */
import type { Client } from '@temporalio/client';
import {
  isTerminal,
  type MessageState,
  type MessageStatus,
  type MessageStatusWithSource,
} from '../contract/message-status';
import { HERALD_DESTINATION, HERALD_STATE } from '../contract/search-attributes';
import type { DeadLetterStore } from '../store/dead-letter-store';
import { recordEndedRun } from '../store/ended-run-events';
import type { EventLog } from '../store/event-log';
import { endedRunOf } from './ended-runs';
import { describeMessage, getMessageStatus } from './message-operations';
import { MessageNotFoundError } from './operation-errors';
import { workerIsPolling } from './readiness';

/** A query that is not answered within this is given up for the fallback. */
const QUERY_DEADLINE_MS = 5_000;

export interface StatusReaderDeps {
  client: Client;
  store: DeadLetterStore;
  /** A run Temporal ended is closed out in the log when its status is read (store/ended-run-events). */
  events: EventLog;
  namespace: string;
  taskQueue: string;
  deadLetterRetentionMs: number;
}

/** The message's status and where it was read from; MessageNotFoundError for an unknown id. */
export async function readMessageStatus(deps: StatusReaderDeps, id: string): Promise<MessageStatusWithSource> {
  if (await workerIsPolling(deps.client, deps.namespace, deps.taskQueue)) {
    try {
      const status = await deps.client.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        getMessageStatus(deps.client, id),
      );
      return { ...(await withClosedRunState(deps, status)), source: 'workflow' };
    } catch (error) {
      if (error instanceof MessageNotFoundError) throw error;
      // A worker that does not answer in time: fall through to what is known without one.
    }
  }
  return statusWithoutWorker(deps, id);
}

async function statusWithoutWorker(deps: StatusReaderDeps, id: string): Promise<MessageStatusWithSource> {
  const description = await describeMessage(deps.client, id);
  const record = await deps.store.get(id);
  const reported = (description.typedSearchAttributes.get(HERALD_STATE) as MessageState | undefined) ?? 'accepted';
  const ended = isTerminal(reported) ? undefined : endedRunOf(description);
  if (ended) await recordEndedRun(deps.events, ended);
  const state = ended?.state ?? reported;
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

/**
 * A run Temporal terminated or timed out cannot report that itself (its query answers the last state it
 * had, its search attribute cannot change any more): the state comes from the execution then.
 */
async function withClosedRunState(deps: StatusReaderDeps, status: MessageStatus): Promise<MessageStatus> {
  if (isTerminal(status.state)) return status;
  const ended = endedRunOf(await describeMessage(deps.client, status.id));
  if (!ended) return status;
  // The log is closed out before the answer, so a stream opened after it ends on the same state.
  await recordEndedRun(deps.events, ended);
  return { ...status, state: ended.state, nextAttemptAt: null, updatedAt: ended.closedAt };
}
