/**
 * Operator actions on dead letters. A parked workflow is redriven or discarded through its updates;
 * one whose retention ended (workflow completed) is redriven by starting a new run with the stored
 * message, linked to the old run through its memo.
 */
import type { DeliverySettings } from '../retry/delivery-plan';
import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import { MESSAGE_WORKFLOW } from '../contract/definitions';
import type { BulkRedriveResult, RedriveResult } from '../contract/operation-results';
import { HERALD_DESTINATION, HERALD_SENDER, HERALD_STATE } from '../contract/search-attributes';
import type { DeadLetterFilter, DeadLetterStore } from '../store/dead-letter-store';
import { startCallback } from './callback-operations';
import { contentHash, describeMessage, discardMessage, messageState, redriveMessage } from './message-operations';
import {
  DiscardNotAllowedError,
  MessageEndedError,
  MessageNotFoundError,
  RedriveNotAllowedError,
} from './operation-errors';

export interface DeadLetterOperationsDeps {
  client: Client;
  store: DeadLetterStore;
  taskQueue: string;
  redriveRatePerSecond: number;
  /** The API's delivery settings, for a restarted run (see startMessage). */
  settings?: DeliverySettings;
}

/**
 * Why there is nothing to redrive or discard for `id`: a message (or callback) that exists but has no
 * dead letter is refused (409, `reason`), an id Temporal does not know either is not found (404).
 */
async function noDeadLetter(client: Client, id: string): Promise<string> {
  return `it has no dead letter (it is ${await messageState(client, id)})`;
}

/** How long a callback redrive waits for the dead-lettered run to close before it answers 409. */
const CALLBACK_CLOSE_WAIT_MS = 10_000;

/** Resolves once the callback's run `id` is not running (or never existed); RedriveNotAllowedError after the wait. */
async function callbackRunClosed(client: Client, id: string): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const running = await handle.describe().then(
    (description) => description.status.name === 'RUNNING',
    () => false,
  );
  if (!running) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    handle.result().then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), CALLBACK_CLOSE_WAIT_MS))),
  ]).finally(() => clearTimeout(timer));
  if (!closed) throw new RedriveNotAllowedError(id, 'its dead-lettered run is still closing; try again shortly');
}

/** Redrives one dead letter. */
export async function redriveDeadLetter(deps: DeadLetterOperationsDeps, id: string): Promise<RedriveResult> {
  const record = await deps.store.get(id);
  if (!record) throw new RedriveNotAllowedError(id, await noDeadLetter(deps.client, id));
  if (record.state !== 'dead_lettered')
    throw new RedriveNotAllowedError(id, `the dead letter is already ${record.state}`);
  if (record.kind === 'callback' && record.callback) {
    // A callback's workflow ends just after it wrote its dead letter: a redrive in that moment waits
    // for the close (briefly), then replays it as a new run.
    await callbackRunClosed(deps.client, id);
    const runId = await startCallback(deps.client, deps.taskQueue, {
      callbackId: record.id,
      messageId: record.callback.messageId,
      url: record.callback.url,
      sender: record.callback.sender,
      payload: record.callback.payload,
      message: record.message,
      round: record.round + 1,
    });
    await deps.store.markRedriven(id, record.round, new Date().toISOString());
    return { id, mode: 'restarted', state: 'accepted', runId };
  }
  // Temporal deletes closed runs after the namespace's retention: the record alone is then enough.
  const description = await describeMessage(deps.client, id).catch((error: unknown) => {
    if (error instanceof MessageNotFoundError) return undefined;
    throw error;
  });
  if (description?.status.name === 'RUNNING') {
    try {
      const status = await redriveMessage(deps.client, id);
      return { id, mode: 'resumed', state: status.state };
    } catch (error) {
      // Retention ended between the describe and the update.
      if (error instanceof MessageEndedError) {
        throw new RedriveNotAllowedError(id, `its workflow has completed (${error.state})`);
      }
      throw error;
    }
  }
  // The parked workflow's retention ended: a new run delivers the stored message. Reusing the id is
  // right here (and only here): it is the same message, sent again on an operator's word.
  const sender = record.message.sender;
  const started = await deps.client.workflow.start(MESSAGE_WORKFLOW, {
    workflowId: id,
    taskQueue: deps.taskQueue,
    args: deps.settings ? [record.message, { settings: deps.settings }] : [record.message],
    // The sender stays the message's: it still picks the callback secret, scopes lists and guards cancel.
    memo: {
      contentHash: contentHash(record.message),
      redriveOf: { runId: description?.runId ?? null, round: record.round },
      ...(sender === undefined ? {} : { sender }),
    },
    typedSearchAttributes: [
      { key: HERALD_STATE, value: 'accepted' },
      { key: HERALD_DESTINATION, value: record.destination },
      ...(sender === undefined ? [] : [{ key: HERALD_SENDER, value: sender }]),
    ],
    staticSummary: `Redrive of ${id}${description ? ` (run ${description.runId})` : ''}`,
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
  });
  await deps.store.markRedriven(id, record.round, new Date().toISOString());
  return {
    id,
    mode: 'restarted',
    state: 'accepted',
    runId: started.firstExecutionRunId,
    ...(description ? { previousRunId: description.runId } : {}),
  };
}

/** Discards one dead letter: the parked workflow completes, the record is marked discarded. */
export async function discardDeadLetter(deps: DeadLetterOperationsDeps, id: string): Promise<void> {
  const record = await deps.store.get(id);
  if (!record) throw new DiscardNotAllowedError(id, await noDeadLetter(deps.client, id));
  if (record.state !== 'dead_lettered')
    throw new DiscardNotAllowedError(id, `the dead letter is already ${record.state}`);
  if (record.kind === 'callback') {
    await deps.store.markDiscarded(id, new Date().toISOString());
    return;
  }
  try {
    await discardMessage(deps.client, id);
  } catch (error) {
    // Retention already ended the workflow (or Temporal deleted it): only the record is left to mark.
    if (!(error instanceof MessageEndedError) && !(error instanceof MessageNotFoundError)) throw error;
    await deps.store.markDiscarded(id, new Date().toISOString());
  }
}

/**
 * Redrives every dead letter matching the filter, paced at the configured rate so that a bulk redrive
 * of a backlog does not hit a recovering destination with everything at once. `dryRun` only counts them.
 */
export async function redriveMatching(
  deps: DeadLetterOperationsDeps,
  filter: Omit<DeadLetterFilter, 'state' | 'cursor'>,
  limit: number,
  options: { dryRun?: boolean } = {},
): Promise<BulkRedriveResult> {
  const result: BulkRedriveResult = { matched: 0, redriven: 0, failed: [] };
  const interval = 1000 / deps.redriveRatePerSecond;
  let cursor: string | undefined;
  do {
    const page = await deps.store.list({
      ...filter,
      state: 'dead_lettered',
      limit: Math.min(500, limit - result.matched),
      cursor,
    });
    for (const record of page.records) {
      result.matched += 1;
      if (options.dryRun) continue;
      const startedAt = Date.now();
      try {
        await redriveDeadLetter(deps, record.id);
        result.redriven += 1;
      } catch (error) {
        result.failed.push({ id: record.id, detail: (error as Error).message });
      }
      const wait = interval - (Date.now() - startedAt);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor && result.matched < limit);
  return result;
}
