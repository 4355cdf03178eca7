/**
 * What still needs an encryption key (README: Encryption, retiring a key): the running workflows of
 * Herald's task queue whose history holds a payload under it, and the dead-letter records sealed with
 * it. A key may be retired once both are none and the closed runs Temporal still keeps may go unread.
 * Reads histories as Temporal stores them (no codec: only the key ids in the metadata are looked at).
 */
import type { Client } from '@temporalio/client';
import { KEY_ID_METADATA } from '../encryption/payload-codec';
import type { BlobStore } from '../blobs/blob-store';
import type { DeadLetterStore } from '../store/dead-letter-store';
import { sealedKeysOf } from '../store/sealed-dead-letter-store';

export interface KeyUsage {
  keyId: string;
  /** Running workflows with a payload under the key, at most `sampleLimit` ids listed. */
  runningWorkflows: { count: number; ids: string[] };
  /** Running workflows looked at. */
  runningChecked: number;
  /** Dead-letter records sealed with the key. */
  deadLetters: { count: number; ids: string[] };
  /** Blobs (large bodies and replies) sealed with the key at rest. */
  blobs: { count: number; ids: string[] };
  /** Closed runs Temporal still keeps (their histories need the keys they were written with, until retention). */
  closedRunsKept: number;
}

const decoder = new TextDecoder();

/** The key ids of every payload in a history (any object with encryption-key-id metadata). */
function keyIdsIn(value: unknown, found: Set<string>, depth = 0): void {
  if (depth > 64 || typeof value !== 'object' || value === null || value instanceof Uint8Array) return;
  const metadata = (value as { metadata?: Record<string, unknown> | null }).metadata;
  const keyId = metadata?.[KEY_ID_METADATA];
  if (keyId instanceof Uint8Array) found.add(decoder.decode(keyId));
  for (const child of Object.values(value)) keyIdsIn(child, found, depth + 1);
}

export async function encryptionKeyUsage(
  deps: { client: Client; taskQueue: string; deadLetters: DeadLetterStore; blobs?: BlobStore },
  keyId: string,
  sampleLimit = 20,
): Promise<KeyUsage> {
  const { client, taskQueue, deadLetters } = deps;
  const usage: KeyUsage = {
    keyId,
    runningWorkflows: { count: 0, ids: [] },
    runningChecked: 0,
    deadLetters: { count: 0, ids: [] },
    blobs: { count: 0, ids: [] },
    closedRunsKept: 0,
  };
  const queue = taskQueue.replace(/'/g, "\\'");
  // The raw list, not client.workflow.list(): that decodes each memo, which needs the very keys in question.
  let nextPageToken: Uint8Array | undefined;
  do {
    const page = await client.workflowService.listWorkflowExecutions({
      namespace: client.options.namespace,
      query: `TaskQueue = '${queue}' AND ExecutionStatus = 'Running'`,
      pageSize: 200,
      nextPageToken,
    });
    for (const execution of page.executions ?? []) {
      const workflowId = execution.execution?.workflowId;
      if (!workflowId) continue;
      usage.runningChecked += 1;
      const history = await client.workflow
        .getHandle(workflowId, execution.execution?.runId ?? undefined)
        .fetchHistory();
      const found = new Set<string>();
      keyIdsIn(history, found);
      if (found.has(keyId)) {
        usage.runningWorkflows.count += 1;
        if (usage.runningWorkflows.ids.length < sampleLimit) usage.runningWorkflows.ids.push(workflowId);
      }
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  const closed = await client.workflow.count(`TaskQueue = '${queue}' AND ExecutionStatus != 'Running'`);
  usage.closedRunsKept = closed.count;
  let cursor: string | undefined;
  do {
    const page = await deadLetters.list({ limit: 500, ...(cursor ? { cursor } : {}) });
    for (const record of page.records) {
      if (!sealedKeysOf(record).includes(keyId)) continue;
      usage.deadLetters.count += 1;
      if (usage.deadLetters.ids.length < sampleLimit) usage.deadLetters.ids.push(record.id);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  // Every blob, whatever its age (the sweep's listing, with a cut no blob is younger than).
  const everything = new Date(Date.now() + 86_400_000).toISOString();
  for (let afterId: string | undefined, more = deps.blobs !== undefined; more;) {
    const page = await deps.blobs!.listCreatedBefore(everything, 500, afterId);
    for (const blob of page.blobs) {
      if (blob.keyId !== keyId) continue;
      usage.blobs.count += 1;
      if (usage.blobs.ids.length < sampleLimit) usage.blobs.ids.push(`${blob.id} (${blob.messageId})`);
    }
    more = page.blobs.length === 500;
    afterId = page.blobs.at(-1)?.id;
  }
  return usage;
}
