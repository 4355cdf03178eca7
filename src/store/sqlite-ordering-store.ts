/**
 * The ordering sequencer in the SQLite file of the dead-letter store (one host): two tables, written in
 * one immediate transaction per claim, so API and worker processes on the host agree on one order.
 */
import {
  PRUNE_BATCH,
  pruneSchedule,
  type OrderingClaim,
  type OrderingStore,
  type OrderingStoreOptions,
} from './ordering-store';
import { openSqliteWithSchema } from './sqlite-file';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ordering_keys (
  destination     TEXT NOT NULL,
  key             TEXT NOT NULL,
  last_message_id TEXT NOT NULL,
  last_seq        INTEGER NOT NULL,
  PRIMARY KEY (destination, key)
);
CREATE TABLE IF NOT EXISTS ordering_members (
  message_id  TEXT PRIMARY KEY,
  destination TEXT NOT NULL,
  key         TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  predecessor TEXT,
  claimed_at  TEXT NOT NULL,
  UNIQUE (destination, key, seq)
);
CREATE INDEX IF NOT EXISTS ordering_members_claimed_at ON ordering_members (claimed_at);
`;

/** Opens (creating if needed) the ordering tables in the SQLite file at `path`. */
export function openSqliteOrderingStore(
  path: string,
  options: OrderingStoreOptions & { busyTimeoutMs?: number } = {},
): OrderingStore {
  const db = openSqliteWithSchema(path, SCHEMA, options.busyTimeoutMs);
  const member = db.prepare<
    [string],
    { predecessor: string | null; seq: number; predecessor_claimed_at: string | null }
  >(
    `SELECT m.predecessor, m.seq, p.claimed_at AS predecessor_claimed_at FROM ordering_members m
     LEFT JOIN ordering_members p ON p.message_id = m.predecessor WHERE m.message_id = ?`,
  );
  const claimedAt = db.prepare<[string], { claimed_at: string }>(
    'SELECT claimed_at FROM ordering_members WHERE message_id = ?',
  );
  const prune = db.prepare<[string, number]>(
    'DELETE FROM ordering_members WHERE rowid IN (SELECT rowid FROM ordering_members WHERE claimed_at < ? LIMIT ?)',
  );
  const pruning = pruneSchedule(options);
  const last = db.prepare<[string, string], { last_message_id: string; last_seq: number }>(
    'SELECT last_message_id, last_seq FROM ordering_keys WHERE destination = ? AND key = ?',
  );
  const advance = db.prepare(`
    INSERT INTO ordering_keys (destination, key, last_message_id, last_seq) VALUES (@destination, @key, @id, @seq)
    ON CONFLICT (destination, key) DO UPDATE SET last_message_id = excluded.last_message_id, last_seq = excluded.last_seq`);
  const join = db.prepare(`
    INSERT INTO ordering_members (message_id, destination, key, seq, predecessor, claimed_at)
    VALUES (@id, @destination, @key, @seq, @predecessor, @at)`);

  // Immediate: the write lock is taken before the read, so two processes cannot read the same last place.
  const claim = db.transaction((id: string, destination: string, key: string): OrderingClaim => {
    const known = member.get(id);
    if (known) {
      return { predecessor: known.predecessor, seq: known.seq, predecessorClaimedAt: known.predecessor_claimed_at };
    }
    const previous = last.get(destination, key);
    // The key's last message claiming again after its place was pruned: it keeps the last place.
    if (previous?.last_message_id === id)
      return { predecessor: null, seq: previous.last_seq, predecessorClaimedAt: null };
    const predecessor = previous?.last_message_id ?? null;
    const seq = (previous?.last_seq ?? 0) + 1;
    advance.run({ destination, key, id, seq });
    join.run({ id, destination, key, seq, predecessor, at: new Date().toISOString() });
    const predecessorClaimedAt = predecessor === null ? null : (claimedAt.get(predecessor)?.claimed_at ?? null);
    return { predecessor, seq, predecessorClaimedAt };
  });

  return {
    async claim(messageId, destination, key) {
      const claimed = claim.immediate(messageId, destination, key);
      // ISO 8601 strings in UTC compare as their instants. A failed prune is tried again at the next claim.
      const before = pruning.due();
      try {
        while (before && prune.run(before.toISOString(), PRUNE_BATCH).changes === PRUNE_BATCH);
      } catch {
        pruning.failed();
      }
      return claimed;
    },
    async close() {
      db.close();
    },
  };
}
