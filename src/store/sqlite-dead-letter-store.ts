/**
 * The embedded dead-letter store: one SQLite file under the data directory (better-sqlite3).
 * WAL mode, so the API can read while the worker writes.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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

// Kept importable from here, where it was first defined.
export { InvalidCursorError } from './dead-letter-store';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dead_letters (
  id                 TEXT PRIMARY KEY,
  round              INTEGER NOT NULL,
  reason             TEXT NOT NULL,
  destination        TEXT NOT NULL,
  state              TEXT NOT NULL,
  message            TEXT NOT NULL,
  last_error         TEXT,
  attempts           TEXT NOT NULL,
  message_created_at TEXT NOT NULL,
  dead_lettered_at   TEXT NOT NULL,
  redriven_at        TEXT,
  redrive_count      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_letters_by_time ON dead_letters (dead_lettered_at, id);
CREATE INDEX IF NOT EXISTS dead_letters_by_reason ON dead_letters (reason, dead_lettered_at);
CREATE INDEX IF NOT EXISTS dead_letters_by_destination ON dead_letters (destination, dead_lettered_at);
`;

/** Columns added after the first release; added to an existing file when missing. */
const ADDED_COLUMNS: Record<string, string> = {
  kind: "TEXT NOT NULL DEFAULT 'message'",
  callback: 'TEXT',
  // When the record was redriven or discarded (retention counts from it); not part of the record.
  decided_at: 'TEXT',
};

interface Row {
  kind: string;
  callback: string | null;
  id: string;
  round: number;
  reason: string;
  destination: string;
  state: string;
  message: string;
  last_error: string | null;
  attempts: string;
  message_created_at: string;
  dead_lettered_at: string;
  redriven_at: string | null;
  redrive_count: number;
}

/** How long a statement waits for another process's lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** Opens (creating if needed) the SQLite dead-letter store at `path`; throws SQLITE_BUSY if the file stays locked. */
export function openSqliteDeadLetterStore(path: string, options: { busyTimeoutMs?: number } = {}): DeadLetterStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // Several processes (worker, API) may write; wait for a lock instead of failing at once. Set before
  // the WAL switch, which needs the lock too. SQLite may still answer SQLITE_BUSY at once (when waiting
  // could deadlock); start-up retries the whole open then (runtime/startup-retry.ts).
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? SQLITE_BUSY_TIMEOUT_MS });
  try {
    db.pragma('journal_mode = WAL');
    // Said, not left to the default: better-sqlite3 builds SQLite with DEFAULT_WAL_SYNCHRONOUS=1, so a
    // connection to a file already in WAL mode would commit unsynced (NORMAL). A dead letter, once
    // written, must survive a power loss: every commit syncs the log.
    db.pragma('synchronous = FULL');
    // One write transaction for the schema and the added columns: two processes opening a new file at
    // once would otherwise both see a column missing and the second ALTER fail (seen in npm run chaos).
    db.transaction(() => {
      db.exec(SCHEMA);
      const columns = new Set(
        db
          .prepare<[], { name: string }>('PRAGMA table_info(dead_letters)')
          .all()
          .map((c) => c.name),
      );
      for (const [column, definition] of Object.entries(ADDED_COLUMNS)) {
        if (!columns.has(column)) db.exec(`ALTER TABLE dead_letters ADD COLUMN ${column} ${definition}`);
      }
      if (!columns.has('decided_at')) {
        // Records decided before the column existed: the best time known (a discard kept none).
        db.exec(`UPDATE dead_letters SET decided_at = COALESCE(redriven_at, dead_lettered_at)
                 WHERE state <> 'dead_lettered'`);
      }
      db.exec('CREATE INDEX IF NOT EXISTS dead_letters_by_decision ON dead_letters (state, decided_at)');
    }).immediate();
  } catch (error) {
    db.close();
    throw error;
  }

  // A newer round replaces the record (the message was redriven and failed again); the same or an
  // older round is a retried write and changes nothing.
  const upsert = db.prepare(`
    INSERT INTO dead_letters (id, round, reason, destination, state, message, last_error, attempts,
                              message_created_at, dead_lettered_at, kind, callback)
    VALUES (@id, @round, @reason, @destination, 'dead_lettered', @message, @lastError, @attempts,
            @messageCreatedAt, @deadLetteredAt, @kind, @callback)
    ON CONFLICT (id) DO UPDATE SET
      round = excluded.round, reason = excluded.reason, state = 'dead_lettered', message = excluded.message,
      last_error = excluded.last_error, attempts = excluded.attempts, dead_lettered_at = excluded.dead_lettered_at,
      decided_at = NULL
    WHERE excluded.round > dead_letters.round`);
  const byId = db.prepare<[string], Row>('SELECT * FROM dead_letters WHERE id = ?');
  const redriven = db.prepare(`
    UPDATE dead_letters SET state = 'redriven', redriven_at = @at, decided_at = @at, redrive_count = redrive_count + 1
    WHERE id = @id AND round = @round AND state = 'dead_lettered'`);

  const discarded = db.prepare(`
    UPDATE dead_letters SET state = 'discarded', redriven_at = NULL, decided_at = @at
    WHERE id = @id AND state = 'dead_lettered'`);
  // A new round resets the record to dead_lettered (decided_at goes with it, see upsert), so this
  // never deletes a record that waits again. Bounded: one short write lock per batch.
  const prune = db.prepare(`
    DELETE FROM dead_letters WHERE rowid IN (
      SELECT rowid FROM dead_letters
      WHERE state IN ('redriven', 'discarded') AND decided_at < @olderThan LIMIT @batchSize)`);
  const waitingGroups = db.prepare<[], { reason: string; destination: string; count: number; oldest: string }>(`
    SELECT reason, destination, COUNT(*) AS count, MIN(dead_lettered_at) AS oldest FROM dead_letters
    WHERE state = 'dead_lettered' GROUP BY reason, destination`);
  // BEGIN IMMEDIATE takes the write lock: proof the file is writable, without writing anything.
  const beginWrite = db.prepare('BEGIN IMMEDIATE');
  const rollback = db.prepare('ROLLBACK');

  return {
    async put(record: NewDeadLetter) {
      const result = upsert.run({
        id: record.id,
        round: record.round,
        reason: record.reason,
        destination: record.destination,
        message: JSON.stringify(record.message),
        lastError: record.lastError ? JSON.stringify(record.lastError) : null,
        attempts: JSON.stringify(record.attempts),
        messageCreatedAt: record.messageCreatedAt,
        deadLetteredAt: record.deadLetteredAt,
        kind: record.kind ?? 'message',
        callback: record.callback ? JSON.stringify(record.callback) : null,
      });
      return { created: result.changes > 0 };
    },
    async get(id: string) {
      const row = byId.get(id);
      return row ? toRecord(row) : undefined;
    },
    async list(filter: DeadLetterFilter = {}): Promise<DeadLetterPage> {
      const where: string[] = [];
      const params: Record<string, string | number> = {};
      for (const [column, key] of [
        ['kind', 'kind'],
        ['reason', 'reason'],
        ['destination', 'destination'],
        ['state', 'state'],
      ] as const) {
        const value = filter[key];
        if (value !== undefined) {
          where.push(`${column} = @${key}`);
          params[key] = value;
        }
      }
      if (filter.since) {
        where.push('dead_lettered_at >= @since');
        params.since = filter.since;
      }
      if (filter.until) {
        where.push('dead_lettered_at < @until');
        params.until = filter.until;
      }
      if (filter.cursor) {
        const [at, id] = decodeDeadLetterCursor(filter.cursor);
        where.push('(dead_lettered_at, id) > (@cursorAt, @cursorId)');
        params.cursorAt = at;
        params.cursorId = id;
      }
      const limit = deadLetterPageSize(filter.limit);
      params.limit = limit + 1;
      const rows = db
        .prepare<Record<string, string | number>, Row>(
          `SELECT * FROM dead_letters ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
           ORDER BY dead_lettered_at, id LIMIT @limit`,
        )
        .all(params);
      const page = rows.slice(0, limit).map(toRecord);
      const last = page[page.length - 1];
      return { records: page, nextCursor: rows.length > limit && last ? encodeDeadLetterCursor(last) : null };
    },
    async markRedriven(id: string, round: number, at: string) {
      redriven.run({ id, round, at });
    },
    async markDiscarded(id: string, at: string) {
      discarded.run({ id, at });
    },
    async prune(olderThan: string, batchSize: number) {
      return prune.run({ olderThan, batchSize }).changes;
    },
    async waiting() {
      const rows = waitingGroups.all();
      const oldest = rows.reduce<string | null>(
        (min, row) => (min === null || row.oldest < min ? row.oldest : min),
        null,
      );
      return {
        groups: rows.map(({ reason, destination, count }) => ({ reason, destination, count })),
        oldestDeadLetteredAt: oldest,
      };
    },
    async ping() {
      beginWrite.run();
      rollback.run();
    },
    async close() {
      db.close();
    },
  };
}

function toRecord(row: Row): DeadLetterRecord {
  return {
    id: row.id,
    kind: row.kind as DeadLetterRecord['kind'],
    callback: row.callback ? (JSON.parse(row.callback) as DeadLetterRecord['callback']) : null,
    round: row.round,
    reason: row.reason as DeadLetterRecord['reason'],
    destination: row.destination,
    state: row.state as DeadLetterRecord['state'],
    message: JSON.parse(row.message) as DeadLetterRecord['message'],
    lastError: row.last_error ? (JSON.parse(row.last_error) as DeadLetterRecord['lastError']) : null,
    attempts: JSON.parse(row.attempts) as DeadLetterRecord['attempts'],
    messageCreatedAt: row.message_created_at,
    deadLetteredAt: row.dead_lettered_at,
    redrivenAt: row.redriven_at,
    redriveCount: row.redrive_count,
  };
}
