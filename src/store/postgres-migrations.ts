/**
 * Herald's PostgreSQL schema, as numbered migrations applied at start-up. Each step runs once per
 * database, in its own transaction, and is recorded in `herald_schema_migrations`. Processes starting at
 * once queue on one advisory lock, so exactly one of them applies a step; and a process refuses a
 * database whose schema is newer than the steps it knows (an older release after an upgrade), rather
 * than writing rows a newer schema does not expect.
 */
import { Client, type ClientConfig } from 'pg';

/** One schema change: applied in order of `version`, never edited once released (add a new one). */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** `pg_advisory_lock(key1, key2)` keys of Herald's locks: 'HRLD' and what the lock guards. */
export const ADVISORY_LOCK_NAMESPACE = 0x48524c44;
export const MIGRATION_LOCK = 1;
export const EVENT_APPEND_LOCK = 2;
/** Not a `pg_advisory_lock` key pair: destination transactions lock (DESTINATION_LOCK_NAMESPACE, hashtext(host)). */
export const DESTINATION_LOCK_NAMESPACE = 0x48524c45;

/** The channel the event log notifies on after each append (payload: the event's id). */
export const EVENTS_CHANNEL = 'herald_events';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'dead letters and the event log',
    // Ids, destinations and message ids compare bytewise (COLLATE "C"), as in SQLite: the list order and
    // its cursors do not depend on the server's locale. JSON is `json`, not `jsonb`: kept as written
    // (jsonb refuses \u0000 in strings, which a message body may carry).
    sql: `
CREATE TABLE herald_dead_letters (
  id                 text COLLATE "C" PRIMARY KEY,
  round              integer NOT NULL,
  kind               text NOT NULL DEFAULT 'message',
  reason             text NOT NULL,
  destination        text COLLATE "C" NOT NULL,
  state              text NOT NULL,
  message            json NOT NULL,
  callback           json,
  last_error         json,
  attempts           json NOT NULL,
  message_created_at timestamptz(3) NOT NULL,
  dead_lettered_at   timestamptz(3) NOT NULL,
  redriven_at        timestamptz(3),
  -- When the record was redriven or discarded: retention counts from it.
  decided_at         timestamptz(3),
  redrive_count      integer NOT NULL DEFAULT 0
);
CREATE INDEX herald_dead_letters_by_time ON herald_dead_letters (dead_lettered_at, id);
CREATE INDEX herald_dead_letters_by_reason ON herald_dead_letters (reason, dead_lettered_at, id);
CREATE INDEX herald_dead_letters_by_destination ON herald_dead_letters (destination, dead_lettered_at, id);
-- Only decided records are ever pruned; the ones waiting stay out of this index.
CREATE INDEX herald_dead_letters_decided ON herald_dead_letters (decided_at) WHERE state <> 'dead_lettered';

CREATE TABLE herald_message_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id  text COLLATE "C" NOT NULL,
  run_id      text COLLATE "C" NOT NULL,
  seq         integer NOT NULL,
  state       text NOT NULL,
  destination text NOT NULL,
  sender      text COLLATE "C",
  at          timestamptz(3) NOT NULL,
  UNIQUE (message_id, run_id, seq)
);
CREATE INDEX herald_message_events_by_message ON herald_message_events (message_id, id);
CREATE INDEX herald_message_events_by_sender ON herald_message_events (sender, id);
CREATE INDEX herald_message_events_by_time ON herald_message_events (at);

-- One append, in one statement (one round trip, so the lock below is held as briefly as can be).
-- Readers tail the log by id (afterId), so ids must become visible in increasing order. A bare identity
-- does not ensure it: two appends may take ids 7 and 8 and commit 8 first, and a reader that saw 8 would
-- never read 7. The transaction lock serialises appends from the id's allocation to the commit (it is
-- released only after the commit is visible), so an id is visible before any larger one is allocated.
-- The cost is that appends from every process queue on it: see the README for the figures.
CREATE FUNCTION herald_append_event(
  p_message_id text, p_run_id text, p_seq integer, p_state text, p_destination text, p_sender text,
  p_at timestamptz
) RETURNS TABLE (appended_id bigint, logged_state text)
LANGUAGE plpgsql AS $fn$
DECLARE
  new_id bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(${ADVISORY_LOCK_NAMESPACE}, ${EVENT_APPEND_LOCK});
  -- Taken after the lock, so this statement sees every append committed before ours.
  INSERT INTO herald_message_events (message_id, run_id, seq, state, destination, sender, at)
  VALUES (p_message_id, p_run_id, p_seq, p_state, p_destination, p_sender, p_at)
  ON CONFLICT (message_id, run_id, seq) DO NOTHING
  RETURNING id INTO new_id;
  IF new_id IS NOT NULL THEN
    -- Delivered to listeners when (and only if) this transaction commits.
    PERFORM pg_notify('${EVENTS_CHANNEL}', new_id::text);
    RETURN QUERY SELECT new_id, p_state;
  ELSE
    RETURN QUERY SELECT NULL::bigint, e.state FROM herald_message_events e
      WHERE e.message_id = p_message_id AND e.run_id = p_run_id AND e.seq = p_seq;
  END IF;
END
$fn$;
`,
  },
  {
    version: 2,
    name: 'waiting dead letters by reason and destination',
    // The metrics' scrape counts the waiting dead letters by reason and destination: this partial index
    // holds only those, so the count costs what is waiting, not the table's decided history.
    sql: `
CREATE INDEX herald_dead_letters_waiting ON herald_dead_letters (reason, destination, dead_lettered_at)
  WHERE state = 'dead_lettered';
`,
  },
  {
    version: 3,
    name: 'destination settings, their history, and the state that enforces them',
    sql: `
CREATE TABLE herald_destinations (
  host       text COLLATE "C" PRIMARY KEY,
  settings   json NOT NULL,
  version    integer NOT NULL,
  updated_at timestamptz(3) NOT NULL,
  updated_by text NOT NULL
);
CREATE TABLE herald_destination_changes (
  id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  host   text COLLATE "C" NOT NULL,
  kind   text NOT NULL,
  at     timestamptz(3) NOT NULL,
  actor  text NOT NULL,
  before json,
  after  json,
  note   text
);
CREATE INDEX herald_destination_changes_by_host ON herald_destination_changes (host, id);
-- Pacing, leases and breaker of each destination: read and written under the destination's
-- transaction lock (pg_advisory_xact_lock), so every host sees one sequence of changes.
CREATE TABLE herald_destination_state (
  host  text COLLATE "C" NOT NULL,
  kind  text NOT NULL,
  state json NOT NULL,
  PRIMARY KEY (host, kind)
);
`,
  },
  {
    version: 4,
    name: 'the ordering sequencer',
    // One claim is one call of herald_claim_ordering: a round trip, and the key's row locked from the
    // read of the last place to the commit, so two hosts claiming at once form one chain. Each statement
    // of a plpgsql function takes a fresh snapshot (READ COMMITTED): the member check after the lock
    // sees a claim of the same message that committed while this one waited.
    sql: `
CREATE TABLE herald_ordering_keys (
  destination     text COLLATE "C" NOT NULL,
  key             text COLLATE "C" NOT NULL,
  -- NULL only in the row a first claim inserts to lock, before it writes its own id.
  last_message_id text COLLATE "C",
  last_seq        bigint NOT NULL,
  PRIMARY KEY (destination, key)
);
CREATE TABLE herald_ordering_members (
  message_id  text COLLATE "C" PRIMARY KEY,
  destination text COLLATE "C" NOT NULL,
  key         text COLLATE "C" NOT NULL,
  seq         bigint NOT NULL,
  predecessor text COLLATE "C",
  claimed_at  timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (destination, key, seq)
);

CREATE FUNCTION herald_claim_ordering(p_message_id text, p_destination text, p_key text)
RETURNS TABLE (claimed_predecessor text, claimed_seq bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  last_id text;
  last_place bigint;
BEGIN
  INSERT INTO herald_ordering_keys (destination, key, last_message_id, last_seq)
  VALUES (p_destination, p_key, NULL, 0) ON CONFLICT DO NOTHING;
  SELECT k.last_message_id, k.last_seq INTO last_id, last_place FROM herald_ordering_keys k
  WHERE k.destination = p_destination AND k.key = p_key FOR UPDATE;
  RETURN QUERY SELECT m.predecessor, m.seq FROM herald_ordering_members m WHERE m.message_id = p_message_id;
  IF FOUND THEN
    RETURN;
  END IF;
  INSERT INTO herald_ordering_members (message_id, destination, key, seq, predecessor)
  VALUES (p_message_id, p_destination, p_key, last_place + 1, last_id);
  UPDATE herald_ordering_keys SET last_message_id = p_message_id, last_seq = last_place + 1
  WHERE destination = p_destination AND key = p_key;
  RETURN QUERY SELECT last_id, last_place + 1;
END
$fn$;
`,
  },
  {
    version: 5,
    name: 'ordering: when the predecessor claimed, and pruning',
    // A claim also answers when its predecessor claimed (a successor reads a predecessor Temporal does
    // not know yet as "its start is on the way" only shortly after that); places are pruned by claim
    // time. API hosts of the previous release select only the first two columns, so they keep working.
    sql: `
CREATE INDEX herald_ordering_members_claimed_at ON herald_ordering_members (claimed_at);
DROP FUNCTION herald_claim_ordering(text, text, text);
CREATE FUNCTION herald_claim_ordering(p_message_id text, p_destination text, p_key text)
RETURNS TABLE (claimed_predecessor text, claimed_seq bigint, predecessor_claimed_at timestamptz)
LANGUAGE plpgsql AS $fn$
DECLARE
  last_id text;
  last_place bigint;
BEGIN
  INSERT INTO herald_ordering_keys (destination, key, last_message_id, last_seq)
  VALUES (p_destination, p_key, NULL, 0) ON CONFLICT DO NOTHING;
  SELECT k.last_message_id, k.last_seq INTO last_id, last_place FROM herald_ordering_keys k
  WHERE k.destination = p_destination AND k.key = p_key FOR UPDATE;
  RETURN QUERY SELECT m.predecessor, m.seq, p.claimed_at FROM herald_ordering_members m
  LEFT JOIN herald_ordering_members p ON p.message_id = m.predecessor WHERE m.message_id = p_message_id;
  IF FOUND THEN
    RETURN;
  END IF;
  -- The key's last message claiming again after its place was pruned: it keeps the last place.
  IF last_id = p_message_id THEN
    RETURN QUERY SELECT NULL::text, last_place, NULL::timestamptz;
    RETURN;
  END IF;
  INSERT INTO herald_ordering_members (message_id, destination, key, seq, predecessor)
  VALUES (p_message_id, p_destination, p_key, last_place + 1, last_id);
  UPDATE herald_ordering_keys SET last_message_id = p_message_id, last_seq = last_place + 1
  WHERE destination = p_destination AND key = p_key;
  RETURN QUERY SELECT last_id, last_place + 1, (SELECT p.claimed_at FROM herald_ordering_members p WHERE p.message_id = last_id);
END
$fn$;
`,
  },
  {
    version: 6,
    name: 'the blob store',
    // A blob's bytes are rows of 1 MiB (postgres-blob-store.ts), so a put or a read holds one of them
    // in memory, never the blob. A row stays incomplete until its last chunk is in: readers see only
    // complete ones, and the sweep deletes incomplete ones that are old (a put that died), chunks with them.
    sql: `
CREATE TABLE herald_blobs (
  id           text COLLATE "C" PRIMARY KEY,
  message_id   text COLLATE "C" NOT NULL,
  kind         text NOT NULL,
  content_type text NOT NULL,
  sender       text COLLATE "C",
  size         bigint,
  sha256       text,
  complete     boolean NOT NULL DEFAULT false,
  created_at   timestamptz(3) NOT NULL DEFAULT now()
);
CREATE INDEX herald_blobs_by_created_at ON herald_blobs (created_at);
CREATE TABLE herald_blob_chunks (
  blob_id text COLLATE "C" NOT NULL REFERENCES herald_blobs (id) ON DELETE CASCADE,
  seq     integer NOT NULL,
  data    bytea NOT NULL,
  PRIMARY KEY (blob_id, seq)
);
`,
  },
  {
    version: 7,
    name: 'blobs: the key their bytes are sealed with at rest',
    // Null: kept as they came (a blob put without HERALD_ENCRYPTION_KEYS, or before this version).
    sql: `ALTER TABLE herald_blobs ADD COLUMN key_id text;`,
  },
];

/** The schema version this build of Herald knows (the last migration's). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** The database was migrated by a newer Herald than this one: running against it could corrupt it. */
export class DatabaseSchemaTooNewError extends Error {
  override name = 'DatabaseSchemaTooNewError';
  constructor(
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `the database schema is at version ${databaseVersion}, newer than this Herald knows (version ` +
        `${knownVersion}): run a Herald release that knows version ${databaseVersion} or later`,
    );
  }
}

/** What a migration run found and did. */
export interface MigrationResult {
  /** Versions this call applied (empty when another process had, or nothing was pending). */
  applied: number[];
  /** The schema version the database is at now. */
  version: number;
}

/**
 * Brings the database's schema up to SCHEMA_VERSION on a connection of its own (closed before it
 * returns), holding the migration advisory lock throughout; throws DatabaseSchemaTooNewError for a
 * database a newer Herald migrated.
 */
export async function migratePostgres(
  connection: string | ClientConfig,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const client = new Client(typeof connection === 'string' ? { connectionString: connection } : connection);
  // A connection that drops mid-migration errors the pending query; this keeps it from crashing the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // Session-level: held across the per-step transactions below, released at unlock (or disconnect).
    await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_NAMESPACE, MIGRATION_LOCK]);
    // Created only when missing, so a read-only database that is up to date still opens (and says so at /readyz).
    const { rows: found } = await client.query<{ table: string | null }>(
      "SELECT to_regclass('herald_schema_migrations')::text AS table",
    );
    if (!found[0]?.table) {
      await client.query(`CREATE TABLE herald_schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    }
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM herald_schema_migrations',
    );
    const current = rows[0]?.version ?? 0;
    const known = migrations[migrations.length - 1]?.version ?? 0;
    if (current > known) throw new DatabaseSchemaTooNewError(current, known);
    const applied: number[] = [];
    for (const migration of migrations.filter((m) => m.version > current)) {
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO herald_schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      applied.push(migration.version);
    }
    await client.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_LOCK_NAMESPACE, MIGRATION_LOCK]);
    return { applied, version: Math.max(current, known) };
  } finally {
    await client.end().catch(() => undefined);
  }
}
