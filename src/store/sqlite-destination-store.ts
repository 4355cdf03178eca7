/**
 * The embedded destination store: tables in the SQLite file of the dead letters (one host). Each
 * operation is one BEGIN IMMEDIATE transaction, so the worker and API processes on the file take
 * turns; within a process, operations queue on one chain (better-sqlite3 has one connection, and
 * a transaction must not interleave with another's statements).
 */
import { GLOBAL_DESTINATION, type DestinationChange, type DestinationRecord } from '../contract/destination';
import {
  acquireLease,
  breakerAdmit,
  breakerRecord,
  breakerSnapshot,
  globalOf,
  leasesInFlight,
  releaseLease,
  reserveSlot,
  setGlobalSettings,
  updateDestination,
  type DestinationTx,
  type InTransaction,
} from './destination-operations';
import type { DestinationStore } from './destination-store';
import { openSqliteWithSchema } from './sqlite-file';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS destinations (
  host TEXT PRIMARY KEY, settings TEXT NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL, updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS destination_changes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
  actor TEXT NOT NULL, before TEXT, after TEXT, note TEXT
);
CREATE INDEX IF NOT EXISTS destination_changes_by_host ON destination_changes (host, id);
CREATE TABLE IF NOT EXISTS destination_state (
  host TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (host, kind)
);
`;

interface RecordRow {
  host: string;
  settings: string;
  version: number;
  updated_at: string;
  updated_by: string;
}
interface ChangeRow {
  id: number;
  host: string;
  kind: string;
  at: string;
  actor: string;
  before: string | null;
  after: string | null;
  note: string | null;
}

const recordOf = (row: RecordRow): DestinationRecord => ({
  host: row.host,
  settings: JSON.parse(row.settings) as DestinationRecord['settings'],
  version: row.version,
  updatedAt: row.updated_at,
  updatedBy: row.updated_by,
});
const changeOf = (row: ChangeRow): DestinationChange => ({
  id: row.id,
  host: row.host,
  kind: row.kind as DestinationChange['kind'],
  at: row.at,
  actor: row.actor,
  before: row.before === null ? null : (JSON.parse(row.before) as unknown),
  after: row.after === null ? null : (JSON.parse(row.after) as unknown),
  note: row.note,
});

/** The transaction queue of each database file open in this process. */
const QUEUES = new Map<string, Promise<void>>();

export function openSqliteDestinationStore(path: string, options: { busyTimeoutMs?: number } = {}): DestinationStore {
  const db = openSqliteWithSchema(path, SCHEMA, options.busyTimeoutMs);
  const getRecord = db.prepare<[string], RecordRow>('SELECT * FROM destinations WHERE host = ?');
  const putRecord = db.prepare(
    `INSERT INTO destinations (host, settings, version, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (host) DO UPDATE SET settings = excluded.settings, version = excluded.version,
       updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
  );
  const getState = db.prepare<[string, string], { state: string }>(
    'SELECT state FROM destination_state WHERE host = ? AND kind = ?',
  );
  const setState = db.prepare(
    `INSERT INTO destination_state (host, kind, state) VALUES (?, ?, ?)
     ON CONFLICT (host, kind) DO UPDATE SET state = excluded.state`,
  );
  const addChange = db.prepare<
    [string, string, string, string, string | null, string | null, string | null],
    ChangeRow
  >(
    `INSERT INTO destination_changes (host, kind, at, actor, before, after, note) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const tx: DestinationTx = {
    getRecord: async (host) => {
      const row = getRecord.get(host);
      return row && recordOf(row);
    },
    putRecord: async (record) => {
      putRecord.run(record.host, JSON.stringify(record.settings), record.version, record.updatedAt, record.updatedBy);
    },
    getState: async <T>(host: string, kind: string) => {
      const row = getState.get(host, kind);
      return row ? (JSON.parse(row.state) as T) : undefined;
    },
    setState: async (host, kind, state) => {
      setState.run(host, kind, JSON.stringify(state));
    },
    addChange: async (change) =>
      changeOf(
        addChange.get(
          change.host,
          change.kind,
          change.at,
          change.actor,
          change.before === null ? null : JSON.stringify(change.before),
          change.after === null ? null : JSON.stringify(change.after),
          change.note,
        )!,
      ),
  };
  let closed = false;
  const run: InTransaction = (_host, work) => {
    // One queue per file in this process: a second connection's BEGIN IMMEDIATE would block the thread
    // (busy timeout) while the first one's transaction waits on this very thread to commit.
    const chain = QUEUES.get(path) ?? Promise.resolve();
    const next = chain.then(async () => {
      if (closed) throw new Error('the destination store is closed');
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(tx);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    });
    QUEUES.set(
      path,
      next.then(
        () => undefined,
        () => undefined,
      ),
    );
    return next;
  };
  const read = <T>(fn: () => T): Promise<T> => run('', async () => fn());

  return {
    list: () =>
      read(() =>
        db
          .prepare<[string], RecordRow>('SELECT * FROM destinations WHERE host <> ? ORDER BY host')
          .all(GLOBAL_DESTINATION)
          .map(recordOf),
      ),
    get: (host) =>
      read(() => {
        const row = getRecord.get(host);
        return row && recordOf(row);
      }),
    update: (host, update) => updateDestination(run, host, update),
    global: () =>
      read(() => {
        const row = getRecord.get(GLOBAL_DESTINATION);
        return globalOf(row && recordOf(row));
      }),
    setGlobal: (settings, actor, at, note) => setGlobalSettings(run, settings, actor, at, note),
    history: (host, options = {}) =>
      read(() =>
        db
          .prepare<[string, number, number], ChangeRow>(
            'SELECT * FROM destination_changes WHERE host = ? AND id < ? ORDER BY id DESC LIMIT ?',
          )
          .all(host, options.beforeId ?? Number.MAX_SAFE_INTEGER, Math.min(Math.max(options.limit ?? 50, 1), 500))
          .map(changeOf),
      ),
    reserveSlot: (host, rate, now, maxWaitMs) => reserveSlot(run, host, rate, now, maxWaitMs),
    acquireLease: (host, leaseId, max, now, expiresAt) => acquireLease(run, host, leaseId, max, now, expiresAt),
    releaseLease: (host, leaseId) => releaseLease(run, host, leaseId),
    leasesInFlight: (host, now) => leasesInFlight(run, host, now),
    breakerAdmit: (host, config, now) => breakerAdmit(run, host, config, now),
    breakerRecord: (host, config, outcome, now) => breakerRecord(run, host, config, outcome, now),
    breakerSnapshot: (host, config, now) => breakerSnapshot(run, host, config, now),
    close: async () => {
      await QUEUES.get(path);
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
