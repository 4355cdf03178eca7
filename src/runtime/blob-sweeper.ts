/**
 * Deletes the blobs no message needs any more, in each retention pass of a worker. A blob belongs to
 * one message (its body, or a reply to it) and is kept while that message can still use it:
 *   - its workflow runs (delivering, awaiting a reply, parked as a dead letter);
 *   - its dead letter waits in the store (a redrive after the workflow closed starts a new run with it);
 *   - it closed less than HERALD_BLOB_RETENTION ago (a sender may still fetch a large reply).
 * A blob whose message Temporal does not know, and that is older than ORPHAN_GRACE_MS, belongs to a
 * send that never started (the API died between the upload and the start) and goes too. The API
 * itself deletes the blob of a send it refused, so none is left behind by a rejected message.
 *
 * Asked from Temporal and the store at each pass rather than marked at each end: no end of a message
 * (a cancel, a terminate, Temporal's own retention) can be missed, and a pass costs one describe per
 * blob old enough to look at.
 */
import type { Client } from '@temporalio/client';
import type { BlobRecord, BlobStore } from '../blobs/blob-store';
import type { DeadLetterStore } from '../store/dead-letter-store';
import { isNotFound } from '../temporal/temporal-errors';

/**
 * Longer than any upload and start: a blob this old whose message Temporal does not know is an orphan,
 * and a partial one this old is a put that died. Younger blobs wait for a later pass.
 */
export const ORPHAN_GRACE_MS = 60 * 60_000;
/** Blobs looked at per listing. */
const BATCH_SIZE = 100;

export interface BlobSweepOptions {
  blobs: BlobStore;
  client: Client;
  store: Pick<DeadLetterStore, 'get' | 'list'>;
  /** How long after its message closed a blob is kept (HERALD_BLOB_RETENTION). */
  retentionMs: number;
  orphanGraceMs?: number;
  now?: () => number;
}

/** What one sweep did. */
export interface BlobSweep {
  deleted: number;
  /** Partial blobs of puts that died with their process. */
  abandoned: number;
}

/** Why a blob stays, or `delete`. */
type Verdict = 'running' | 'dead_letter' | 'retained' | 'delete';

/** One sweep over every blob older than the grace; `stopped` is checked between batches. */
export async function sweepBlobs(options: BlobSweepOptions, stopped: () => boolean = () => false): Promise<BlobSweep> {
  const now = options.now ?? Date.now;
  const graceMs = options.orphanGraceMs ?? ORPHAN_GRACE_MS;
  // Younger blobs are not looked at: a put may still be writing one (the store deletes partials older than this).
  const createdBefore = new Date(now() - graceMs).toISOString();
  const result: BlobSweep = { deleted: 0, abandoned: 0 };
  // A callback that never reached its sender may be replayed with a pointer to the reply: its message's
  // blobs stay while it waits. Such dead letters are few; one listing per sweep finds them all.
  const owedCallbacks = await messagesWithWaitingCallbacks(options.store);
  let afterId: string | undefined;
  while (!stopped()) {
    const page = await options.blobs.listCreatedBefore(createdBefore, BATCH_SIZE, afterId);
    result.abandoned += page.abandoned;
    for (const blob of page.blobs) {
      // One message Temporal cannot describe just now is looked at again next pass; the others go on.
      const decided = owedCallbacks.has(blob.messageId)
        ? 'dead_letter'
        : await verdict(options, blob, now(), graceMs).catch(() => 'unknown' as const);
      if (decided === 'delete' && (await options.blobs.delete(blob.id))) result.deleted += 1;
    }
    if (page.blobs.length < BATCH_SIZE) break;
    afterId = page.blobs[page.blobs.length - 1]!.id;
  }
  return result;
}

async function verdict(options: BlobSweepOptions, blob: BlobRecord, now: number, graceMs: number): Promise<Verdict> {
  const description = await options.client.workflow
    .getHandle(blob.messageId)
    .describe()
    .catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
  if (description?.status.name === 'RUNNING') return 'running';
  const deadLetter = await options.store.get(blob.messageId);
  if (deadLetter?.state === 'dead_lettered') return 'dead_letter';
  if (!description) return now - Date.parse(blob.createdAt) >= graceMs ? 'delete' : 'retained';
  const closedAt = description.closeTime?.getTime() ?? now;
  return now - closedAt >= options.retentionMs ? 'delete' : 'retained';
}

/** The messages that have a callback dead letter waiting for a redrive. */
async function messagesWithWaitingCallbacks(store: Pick<DeadLetterStore, 'list'>): Promise<Set<string>> {
  const messages = new Set<string>();
  let cursor: string | undefined;
  do {
    const page = await store.list({
      kind: 'callback',
      state: 'dead_lettered',
      limit: 500,
      ...(cursor ? { cursor } : {}),
    });
    for (const record of page.records) if (record.callback) messages.add(record.callback.messageId);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return messages;
}
