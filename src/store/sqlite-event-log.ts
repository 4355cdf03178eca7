/** The embedded event log: a table in the same SQLite file as the dead-letter store. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  EventSeqConflictError,
  type EventLog,
  type EventLogQuery,
  type MessageEvent,
  type MinuteCount,
  type NewMessageEvent,
} from './event-log';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS message_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id  TEXT NOT NULL,
  run_id      TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  state       TEXT NOT NULL,
  destination TEXT NOT NULL,
  sender      TEXT,
  at          TEXT NOT NULL,
  UNIQUE (message_id, run_id, seq)
);
CREATE INDEX IF NOT EXISTS message_events_by_message ON message_events (message_id, id);
CREATE INDEX IF NOT EXISTS message_events_by_sender ON message_events (sender, id);
CREATE INDEX IF NOT EXISTS message_events_by_time ON message_events (at);
`;

interface Row {
  id: number;
  message_id: string;
  run_id: string;
  seq: number;
  state: string;
  destination: string;
  sender: string | null;
  at: string;
}

const toEvent = (row: Row): MessageEvent => ({
  id: row.id,
  messageId: row.message_id,
  runId: row.run_id,
  seq: row.seq,
  state: row.state,
  destination: row.destination,
  sender: row.sender,
  at: row.at,
});

/** Opens (creating if needed) the event log in the SQLite file at `path`; throws SQLITE_BUSY if it stays locked. */
export function openSqliteEventLog(path: string, options: { busyTimeoutMs?: number } = {}): EventLog {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  // The lock wait is set before the WAL switch, which needs the lock too (see sqlite-dead-letter-store.ts).
  const db = new Database(path, { timeout: options.busyTimeoutMs ?? 5_000 });
  try {
    db.pragma('journal_mode = WAL');
    // Every message appends three events from the worker's main thread, and better-sqlite3 commits
    // synchronously: FULL would block the thread for an fsync per append (about 0.4 ms here, against
    // 0.02 ms unsynced). NORMAL keeps what a process crash cannot undo and gives up only the last moments
    // before a power loss, as the embedded Temporal does (README: "speed and durability"). Said, not left
    // to the default, which is FULL on the connection that first switches the file to WAL and NORMAL on
    // later ones; this connection's setting only: the dead-letter store on the same file syncs (FULL).
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
  } catch (error) {
    db.close();
    throw error;
  }
  // An activity can run twice (a worker crash before its result is recorded): the same event again is
  // kept once. Another state under the same number is a conflict, checked in the same transaction.
  const insert = db.prepare(`
    INSERT INTO message_events (message_id, run_id, seq, state, destination, sender, at)
    VALUES (@messageId, @runId, @seq, @state, @destination, @sender, @at)
    ON CONFLICT (message_id, run_id, seq) DO NOTHING`);
  const logged = db.prepare<[string, string, number], { state: string }>(
    'SELECT state FROM message_events WHERE message_id = ? AND run_id = ? AND seq = ?',
  );
  const appendOnce = db.transaction((event: NewMessageEvent): boolean => {
    if (insert.run(event).changes > 0) return true;
    const existing = logged.get(event.messageId, event.runId, event.seq);
    if (existing && existing.state !== event.state) throw new EventSeqConflictError(event, existing.state);
    return false;
  });
  const latest = db.prepare<[string], Row>(
    'SELECT * FROM message_events WHERE message_id = ? ORDER BY id DESC LIMIT 1',
  );
  const lastId = db.prepare<[], { id: number | null }>('SELECT MAX(id) AS id FROM message_events');
  const prune = db.prepare(`
    DELETE FROM message_events WHERE id IN (
      SELECT id FROM message_events WHERE at < @olderThan ORDER BY at LIMIT @batchSize)`);
  // Wake-ups for appends made through this connection only: SQLite has no cross-process notification,
  // so a reader in another process finds those appends by polling. Appends in one tick wake once.
  const watchers = new Set<() => void>();
  let wakePending = false;
  const wakeWatchers = () => {
    wakePending = false;
    for (const listener of [...watchers]) {
      // A hint only: a listener that throws must not take the others (or the process) with it.
      try {
        listener();
      } catch {
        // ignored: the reader polls anyway
      }
    }
  };

  return {
    async append(event: NewMessageEvent) {
      const appended = appendOnce(event);
      if (watchers.size > 0 && !wakePending) {
        wakePending = true;
        setImmediate(wakeWatchers);
      }
      return { appended };
    },
    async read(query: EventLogQuery) {
      const where = ['id > @afterId'];
      if (query.messageId !== undefined) where.push('message_id = @messageId');
      if (query.sender !== undefined) where.push('sender = @sender');
      const rows = db
        .prepare<Record<string, unknown>, Row>(
          `SELECT * FROM message_events WHERE ${where.join(' AND ')} ORDER BY id LIMIT @limit`,
        )
        .all({ afterId: query.afterId, messageId: query.messageId, sender: query.sender, limit: query.limit ?? 500 });
      return rows.map(toEvent);
    },
    async latest(messageId: string) {
      const row = latest.get(messageId);
      return row ? toEvent(row) : undefined;
    },
    async lastId() {
      return lastId.get()?.id ?? 0;
    },
    async countByMinute({ since, sender }) {
      // `at` is an ISO time in UTC, so its first 16 characters are its minute (by the index on `at`).
      return db
        .prepare<Record<string, unknown>, MinuteCount>(
          `SELECT substr(at, 1, 16) AS minute, state, count(*) AS count FROM message_events
           WHERE at >= @since${sender === undefined ? '' : ' AND sender = @sender'}
           GROUP BY minute, state ORDER BY minute, state`,
        )
        .all({ since, sender });
    },
    async prune(olderThan: string, batchSize: number) {
      return prune.run({ olderThan, batchSize }).changes;
    },
    watch(listener: () => void) {
      // A wrapper per call, so the same function watched twice is two subscriptions.
      const entry = () => listener();
      watchers.add(entry);
      return () => void watchers.delete(entry);
    },
    async close() {
      watchers.clear();
      db.close();
    },
  };
}
