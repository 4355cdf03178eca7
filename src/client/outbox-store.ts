/**
 * The outbox's durable half: a local SQLite file (WAL, synchronous=FULL) holding every message the
 * client has not yet seen the API accept, and those the API refused after they were queued.
 *
 * Several clients (processes) may open one file: an entry is leased before it is sent, so two of them
 * never send the same entry at once; a lease that outlives a crashed process simply expires.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Problem } from './errors';

/** Bump with a migration when the tables change. */
const SCHEMA_VERSION = 1;

export interface OutboxEntry<M> {
  id: string;
  message: M;
  /** When the entry was written (ms since the epoch). */
  queuedAt: number;
  /** Failed sends so far. */
  attempts: number;
  /** Not sent again before this (ms since the epoch). */
  nextAttemptAt: number;
  lastError: string | null;
}

export interface FailedEntry<M> {
  id: string;
  message: M;
  problem: Problem;
  failedAt: number;
}

interface EntryRow {
  id: string;
  message: string;
  queued_at: number;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

interface FailedRow {
  id: string;
  message: string;
  problem: string;
  failed_at: number;
}

export class OutboxStore<M extends { id: string }> {
  private readonly db: Database.Database;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // An entry written is an entry kept, even across a power cut: the whole point of an outbox.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`outbox ${path} has schema version ${version}; this client knows up to ${SCHEMA_VERSION}`);
    }
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message TEXT NOT NULL,
        queued_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        leased_until INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at, seq);
      CREATE TABLE IF NOT EXISTS outbox_failed (
        id TEXT PRIMARY KEY,
        message TEXT NOT NULL,
        problem TEXT NOT NULL,
        failed_at INTEGER NOT NULL
      );
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
  }

  /**
   * Writes a new entry, leased to the caller until `leaseUntil`. Returns the entry already queued under
   * this id instead (and writes nothing) when there is one.
   */
  insert(message: M, now: number, leaseUntil: number): { inserted: true } | { inserted: false; existing: M } {
    const result = this.db
      .prepare(
        `INSERT INTO outbox (id, message, queued_at, next_attempt_at, leased_until) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      )
      .run(message.id, JSON.stringify(message), now, now, leaseUntil);
    if (result.changes === 1) return { inserted: true };
    const row = this.db.prepare('SELECT message FROM outbox WHERE id = ?').get(message.id) as
      { message: string } | undefined;
    // Accepted and removed in between: nothing is queued any more, so queue this one.
    if (!row) return this.insert(message, now, leaseUntil);
    return { inserted: false, existing: JSON.parse(row.message) as M };
  }

  /**
   * Leases up to `limit` entries that are due (or every entry, with `ignoreSchedule`), not leased by
   * anyone and not in `exclude`, oldest first.
   */
  claimDue(
    now: number,
    leaseUntil: number,
    limit: number,
    options: { ignoreSchedule?: boolean; exclude?: Iterable<string> } = {},
  ): OutboxEntry<M>[] {
    const claim = this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT id, message, queued_at, attempts, next_attempt_at, last_error FROM outbox
           WHERE leased_until <= @now AND (@all = 1 OR next_attempt_at <= @now)
             AND id NOT IN (SELECT value FROM json_each(@exclude))
           ORDER BY next_attempt_at, seq LIMIT @limit`,
        )
        .all({
          now,
          all: options.ignoreSchedule ? 1 : 0,
          exclude: JSON.stringify([...(options.exclude ?? [])]),
          limit,
        }) as EntryRow[];
      const lease = this.db.prepare('UPDATE outbox SET leased_until = ? WHERE id = ?');
      for (const row of rows) lease.run(leaseUntil, row.id);
      return rows.map(toEntry<M>);
    });
    // IMMEDIATE: take the write lock before reading, so two processes cannot claim the same rows.
    return claim.immediate();
  }

  /** The API accepted the message: forget it (and any earlier refusal of the same id). */
  remove(id: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM outbox_failed WHERE id = ?').run(id);
    })();
  }

  /** A send failed transiently: count it, schedule the next try and release the lease. Returns the attempt count. */
  recordRetry(id: string, nextAttemptAt: number, error: string): number {
    const row = this.db
      .prepare(
        `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, leased_until = 0
         WHERE id = ? RETURNING attempts`,
      )
      .get(nextAttemptAt, error, id) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  /** Brings every entry's next attempt forward to `latest` at the latest (after the backoff was shortened). */
  capSchedule(latest: number): void {
    this.db.prepare('UPDATE outbox SET next_attempt_at = MIN(next_attempt_at, ?)').run(latest);
  }

  /** The attempts made so far for an entry (0 when it is not queued). */
  attempts(id: string): number {
    const row = this.db.prepare('SELECT attempts FROM outbox WHERE id = ?').get(id) as { attempts: number } | undefined;
    return row?.attempts ?? 0;
  }

  /** Releases a lease without counting an attempt (the send was never tried). */
  release(id: string): void {
    this.db.prepare('UPDATE outbox SET leased_until = 0 WHERE id = ?').run(id);
  }

  /** The API refused the message after it was queued: move it to the failed table. */
  recordFailure(entry: { id: string; message: M }, problem: Problem, now: number): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM outbox WHERE id = ?').run(entry.id);
      this.db
        .prepare(
          `INSERT INTO outbox_failed (id, message, problem, failed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET message = excluded.message, problem = excluded.problem, failed_at = excluded.failed_at`,
        )
        .run(entry.id, JSON.stringify(entry.message), JSON.stringify(problem), now);
    })();
  }

  /** How many messages wait to be sent. */
  pendingCount(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n;
  }

  isPending(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM outbox WHERE id = ?').get(id) !== undefined;
  }

  /** The earliest time anything queued may be tried (its schedule and any lease both passed), if anything is queued. */
  nextDueAt(): number | undefined {
    const row = this.db.prepare('SELECT MIN(MAX(next_attempt_at, leased_until)) AS at FROM outbox').get() as {
      at: number | null;
    };
    return row.at ?? undefined;
  }

  failure(id: string): FailedEntry<M> | undefined {
    const row = this.db.prepare('SELECT * FROM outbox_failed WHERE id = ?').get(id) as FailedRow | undefined;
    return row ? toFailed<M>(row) : undefined;
  }

  failures(): FailedEntry<M>[] {
    return (this.db.prepare('SELECT * FROM outbox_failed ORDER BY failed_at').all() as FailedRow[]).map(toFailed<M>);
  }

  close(): void {
    this.db.close();
  }
}

function toEntry<M>(row: EntryRow): OutboxEntry<M> {
  return {
    id: row.id,
    message: JSON.parse(row.message) as M,
    queuedAt: row.queued_at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
  };
}

function toFailed<M>(row: FailedRow): FailedEntry<M> {
  return {
    id: row.id,
    message: JSON.parse(row.message) as M,
    problem: JSON.parse(row.problem) as Problem,
    failedAt: row.failed_at,
  };
}
