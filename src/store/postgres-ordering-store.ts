/**
 * The ordering sequencer in PostgreSQL (HERALD_DATABASE_URL): every API host of a fleet claims places
 * from the same rows, in one call of `herald_claim_ordering` (migrations 4 and 5), one round trip per claim.
 */
import type { Pool } from 'pg';
import { PRUNE_BATCH, pruneSchedule, type OrderingStore, type OrderingStoreOptions } from './ordering-store';
import { StoreClosedError } from './postgres-dead-letter-store';

/** The sequencer over `pool` (already migrated: see open-stores.ts); close() leaves the pool to its owner. */
export function createPostgresOrderingStore(pool: Pool, options: OrderingStoreOptions = {}): OrderingStore {
  let closed = false;
  const pruning = pruneSchedule(options);
  /** Deletes places past retention in batches, beside the claims (never in a claim's request). */
  const prune = async (before: Date) => {
    for (;;) {
      const { rowCount } = await pool.query(
        `DELETE FROM herald_ordering_members WHERE message_id IN
           (SELECT message_id FROM herald_ordering_members WHERE claimed_at < $1 LIMIT $2)`,
        [before, PRUNE_BATCH],
      );
      if (closed || (rowCount ?? 0) < PRUNE_BATCH) return;
    }
  };
  return {
    async claim(messageId, destination, key) {
      if (closed) throw new StoreClosedError('the ordering store is closed');
      const { rows } = await pool.query<{
        claimed_predecessor: string | null;
        claimed_seq: string;
        predecessor_claimed_at: Date | null;
      }>('SELECT claimed_predecessor, claimed_seq, predecessor_claimed_at FROM herald_claim_ordering($1, $2, $3)', [
        messageId,
        destination,
        key,
      ]);
      const row = rows[0];
      if (!row) throw new Error(`herald_claim_ordering answered nothing for ${messageId}`);
      const before = pruning.due();
      if (before) void prune(before).catch(() => pruning.failed());
      // bigint arrives as a string; a key would need 2^53 messages to lose precision.
      return {
        predecessor: row.claimed_predecessor,
        seq: Number(row.claimed_seq),
        predecessorClaimedAt: row.predecessor_claimed_at?.toISOString() ?? null,
      };
    },
    async close() {
      closed = true;
    },
  };
}
