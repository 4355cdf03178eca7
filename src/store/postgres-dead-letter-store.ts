/**
 * The dead-letter store in PostgreSQL (HERALD_DATABASE_URL): one table that every host of a fleet
 * shares, so an API on one host lists and redrives what a worker on another wrote. Same behaviour as
 * the SQLite store (test/store/dead-letter-store.contract.ts); the schema is postgres-migrations.ts.
 */
import type { Pool } from 'pg';
import {
  deadLetterPageSize,
  decodeDeadLetterCursor,
  encodeDeadLetterCursor,
  type DeadLetterFilter,
  type DeadLetterPage,
  type DeadLetterRecord,
  type DeadLetterStore,
  type NewDeadLetter,
} from './dead-letter-store';

interface Row {
  id: string;
  kind: string;
  callback: DeadLetterRecord['callback'];
  round: number;
  reason: string;
  destination: string;
  state: string;
  message: DeadLetterRecord['message'];
  last_error: DeadLetterRecord['lastError'];
  attempts: DeadLetterRecord['attempts'];
  message_created_at: Date;
  dead_lettered_at: Date;
  redriven_at: Date | null;
  redrive_count: number;
}

const COLUMNS = `id, kind, callback, round, reason, destination, state, message, last_error, attempts,
  message_created_at, dead_lettered_at, redriven_at, redrive_count`;

// A newer round replaces the record (the message was redriven and failed again); the same or an older
// round is a retried write and changes nothing. ON CONFLICT makes concurrent writers of one round agree.
const UPSERT = `
INSERT INTO herald_dead_letters (id, round, reason, destination, state, message, last_error, attempts,
                                 message_created_at, dead_lettered_at, kind, callback)
VALUES ($1, $2, $3, $4, 'dead_lettered', $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (id) DO UPDATE SET
  round = EXCLUDED.round, reason = EXCLUDED.reason, state = 'dead_lettered', message = EXCLUDED.message,
  last_error = EXCLUDED.last_error, attempts = EXCLUDED.attempts, dead_lettered_at = EXCLUDED.dead_lettered_at,
  decided_at = NULL
WHERE EXCLUDED.round > herald_dead_letters.round`;

// SKIP LOCKED: two pruners (one per worker) take different rows instead of queueing on each other,
// and a row an operator is redriving right now is left for the next pass. The locked rows are
// re-checked, so a record a new round has just reset to dead_lettered is not deleted.
const PRUNE = `
DELETE FROM herald_dead_letters WHERE id IN (
  SELECT id FROM herald_dead_letters
  WHERE state <> 'dead_lettered' AND decided_at < $1
  ORDER BY decided_at LIMIT $2
  FOR UPDATE SKIP LOCKED)`;

// Served by the partial index herald_dead_letters_waiting (migration 2).
const WAITING = `
SELECT reason, destination, count(*)::integer AS count, min(dead_lettered_at) AS oldest FROM herald_dead_letters
WHERE state = 'dead_lettered' GROUP BY reason, destination`;

/** Raised by a store used after close(). */
export class StoreClosedError extends Error {
  override name = 'StoreClosedError';
}

/**
 * The dead-letter store over `pool` (already migrated: see open-stores.ts). close() stops this store
 * and leaves the pool, which its owner ends.
 */
export function createPostgresDeadLetterStore(pool: Pool): DeadLetterStore {
  let closed = false;
  const query = async <R extends object>(text: string, values: unknown[] = []) => {
    if (closed) throw new StoreClosedError('the dead-letter store is closed');
    return pool.query<R>(text, values);
  };

  return {
    async put(record: NewDeadLetter) {
      const result = await query(UPSERT, [
        record.id,
        record.round,
        record.reason,
        record.destination,
        JSON.stringify(record.message),
        record.lastError ? JSON.stringify(record.lastError) : null,
        JSON.stringify(record.attempts),
        record.messageCreatedAt,
        record.deadLetteredAt,
        record.kind ?? 'message',
        record.callback ? JSON.stringify(record.callback) : null,
      ]);
      return { created: (result.rowCount ?? 0) > 0 };
    },
    async get(id: string) {
      const { rows } = await query<Row>(`SELECT ${COLUMNS} FROM herald_dead_letters WHERE id = $1`, [id]);
      return rows[0] ? toRecord(rows[0]) : undefined;
    },
    async list(filter: DeadLetterFilter = {}): Promise<DeadLetterPage> {
      const where: string[] = [];
      const values: unknown[] = [];
      const param = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      for (const key of ['kind', 'reason', 'destination', 'state'] as const) {
        const value = filter[key];
        if (value !== undefined) where.push(`${key} = ${param(value)}`);
      }
      if (filter.since) where.push(`dead_lettered_at >= ${param(filter.since)}`);
      if (filter.until) where.push(`dead_lettered_at < ${param(filter.until)}`);
      if (filter.cursor) {
        const [at, id] = decodeDeadLetterCursor(filter.cursor);
        where.push(`(dead_lettered_at, id) > (${param(at)}::timestamptz, ${param(id)})`);
      }
      const limit = deadLetterPageSize(filter.limit);
      const { rows } = await query<Row>(
        `SELECT ${COLUMNS} FROM herald_dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY dead_lettered_at, id LIMIT ${param(limit + 1)}`,
        values,
      );
      const page = rows.slice(0, limit).map(toRecord);
      const last = page[page.length - 1];
      return { records: page, nextCursor: rows.length > limit && last ? encodeDeadLetterCursor(last) : null };
    },
    async markRedriven(id: string, round: number, at: string) {
      await query(
        `UPDATE herald_dead_letters
         SET state = 'redriven', redriven_at = $3, decided_at = $3, redrive_count = redrive_count + 1
         WHERE id = $1 AND round = $2 AND state = 'dead_lettered'`,
        [id, round, at],
      );
    },
    async markDiscarded(id: string, at: string) {
      await query(
        `UPDATE herald_dead_letters SET state = 'discarded', redriven_at = NULL, decided_at = $2
         WHERE id = $1 AND state = 'dead_lettered'`,
        [id, at],
      );
    },
    async prune(olderThan: string, batchSize: number) {
      return (await query(PRUNE, [olderThan, batchSize])).rowCount ?? 0;
    },
    async waiting() {
      const { rows } = await query<{ reason: string; destination: string; count: number; oldest: Date }>(WAITING);
      const oldest = rows.reduce<Date | null>(
        (min, row) => (min === null || row.oldest < min ? row.oldest : min),
        null,
      );
      return {
        groups: rows.map(({ reason, destination, count }) => ({ reason, destination, count })),
        oldestDeadLetteredAt: oldest?.toISOString() ?? null,
      };
    },
    async ping() {
      // Readiness means "takes writes": a standby (after a failover, say) answers queries but refuses them.
      const { rows } = await query<{ writable: boolean }>(
        `SELECT NOT pg_is_in_recovery() AND current_setting('transaction_read_only') = 'off' AS writable`,
      );
      if (!rows[0]?.writable) throw new Error('the database is read-only (a standby?)');
    },
    async close() {
      closed = true;
    },
  };
}

function toRecord(row: Row): DeadLetterRecord {
  return {
    id: row.id,
    kind: row.kind as DeadLetterRecord['kind'],
    callback: row.callback,
    round: row.round,
    reason: row.reason as DeadLetterRecord['reason'],
    destination: row.destination,
    state: row.state as DeadLetterRecord['state'],
    message: row.message,
    lastError: row.last_error,
    attempts: row.attempts,
    messageCreatedAt: row.message_created_at.toISOString(),
    deadLetteredAt: row.dead_lettered_at.toISOString(),
    redrivenAt: row.redriven_at ? row.redriven_at.toISOString() : null,
    redriveCount: row.redrive_count,
  };
}
