/**
 * The destination store on PostgreSQL (HERALD_DATABASE_URL), shared by every host of a fleet. Each
 * operation is one transaction that first takes the destination's transaction-scoped advisory lock,
 * so hosts take turns per destination (and never wait on one another's destinations).
 */
import type { Pool, PoolClient } from 'pg';
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
import { DESTINATION_LOCK_NAMESPACE } from './postgres-migrations';

interface RecordRow {
  host: string;
  settings: DestinationRecord['settings'];
  version: number;
  updated_at: Date;
  updated_by: string;
}
interface ChangeRow {
  id: string;
  host: string;
  kind: string;
  at: Date;
  actor: string;
  before: unknown;
  after: unknown;
  note: string | null;
}

const recordOf = (row: RecordRow): DestinationRecord => ({
  host: row.host,
  settings: row.settings,
  version: row.version,
  updatedAt: row.updated_at.toISOString(),
  updatedBy: row.updated_by,
});
const changeOf = (row: ChangeRow): DestinationChange => ({
  id: Number(row.id),
  host: row.host,
  kind: row.kind as DestinationChange['kind'],
  at: row.at.toISOString(),
  actor: row.actor,
  before: row.before ?? null,
  after: row.after ?? null,
  note: row.note,
});
const json = (value: unknown) => (value === null || value === undefined ? null : JSON.stringify(value));

function txOn(client: PoolClient): DestinationTx {
  return {
    getRecord: async (host) => {
      const { rows } = await client.query<RecordRow>('SELECT * FROM herald_destinations WHERE host = $1', [host]);
      return rows[0] && recordOf(rows[0]);
    },
    putRecord: async (record) => {
      await client.query(
        `INSERT INTO herald_destinations (host, settings, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (host) DO UPDATE SET settings = EXCLUDED.settings, version = EXCLUDED.version,
           updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by`,
        [record.host, JSON.stringify(record.settings), record.version, record.updatedAt, record.updatedBy],
      );
    },
    getState: async <T>(host: string, kind: string) => {
      const { rows } = await client.query<{ state: T }>(
        'SELECT state FROM herald_destination_state WHERE host = $1 AND kind = $2',
        [host, kind],
      );
      return rows[0]?.state;
    },
    setState: async (host, kind, state) => {
      await client.query(
        `INSERT INTO herald_destination_state (host, kind, state) VALUES ($1, $2, $3)
         ON CONFLICT (host, kind) DO UPDATE SET state = EXCLUDED.state`,
        [host, kind, JSON.stringify(state)],
      );
    },
    addChange: async (change) => {
      const { rows } = await client.query<ChangeRow>(
        `INSERT INTO herald_destination_changes (host, kind, at, actor, before, after, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
        [change.host, change.kind, change.at, change.actor, json(change.before), json(change.after), change.note],
      );
      return changeOf(rows[0]!);
    },
  };
}

/** The destination store over `pool` (already migrated: see open-stores.ts); close() leaves the pool open. */
export function createPostgresDestinationStore(pool: Pool): DestinationStore {
  const run: InTransaction = async (host, work) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [DESTINATION_LOCK_NAMESPACE, host]);
      const result = await work(txOn(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  };
  return {
    list: async () => {
      const { rows } = await pool.query<RecordRow>('SELECT * FROM herald_destinations WHERE host <> $1 ORDER BY host', [
        GLOBAL_DESTINATION,
      ]);
      return rows.map(recordOf);
    },
    get: async (host) => {
      const { rows } = await pool.query<RecordRow>('SELECT * FROM herald_destinations WHERE host = $1', [host]);
      return rows[0] && recordOf(rows[0]);
    },
    update: (host, update) => updateDestination(run, host, update),
    global: async () => {
      const { rows } = await pool.query<RecordRow>('SELECT * FROM herald_destinations WHERE host = $1', [
        GLOBAL_DESTINATION,
      ]);
      return globalOf(rows[0] && recordOf(rows[0]));
    },
    setGlobal: (settings, actor, at, note) => setGlobalSettings(run, settings, actor, at, note),
    history: async (host, options = {}) => {
      const { rows } = await pool.query<ChangeRow>(
        'SELECT * FROM herald_destination_changes WHERE host = $1 AND id < $2 ORDER BY id DESC LIMIT $3',
        [host, options.beforeId ?? Number.MAX_SAFE_INTEGER, Math.min(Math.max(options.limit ?? 50, 1), 500)],
      );
      return rows.map(changeOf);
    },
    reserveSlot: (host, rate, now, maxWaitMs) => reserveSlot(run, host, rate, now, maxWaitMs),
    acquireLease: (host, leaseId, max, now, expiresAt) => acquireLease(run, host, leaseId, max, now, expiresAt),
    releaseLease: (host, leaseId) => releaseLease(run, host, leaseId),
    leasesInFlight: (host, now) => leasesInFlight(run, host, now),
    breakerAdmit: (host, config, now) => breakerAdmit(run, host, config, now),
    breakerRecord: (host, config, outcome, now) => breakerRecord(run, host, config, outcome, now),
    breakerSnapshot: (host, config, now) => breakerSnapshot(run, host, config, now),
    close: async () => undefined,
  };
}
