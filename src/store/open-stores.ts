/**
 * The one place that decides where dead letters, events and the ordering sequencer live: PostgreSQL when
 * HERALD_DATABASE_URL is set (migrated first, every store on one pool), the SQLite file otherwise.
 */
import { Pool, type ClientConfig } from 'pg';
import type { Logger } from 'pino';
import type { BlobStore } from '../blobs/blob-store';
import { openFileBlobStore } from '../blobs/file-blob-store';
import { createPostgresBlobStore } from '../blobs/postgres-blob-store';
import type { HeraldConfig } from '../config/config';
import type { DeadLetterStore } from './dead-letter-store';
import type { DestinationStore } from './destination-store';
import type { EventLog } from './event-log';
import { createPostgresDestinationStore } from './postgres-destination-store';
import { openSqliteDestinationStore } from './sqlite-destination-store';
import type { OrderingStore } from './ordering-store';
import { createPostgresDeadLetterStore } from './postgres-dead-letter-store';
import { createPostgresEventLog } from './postgres-event-log';
import { migratePostgres } from './postgres-migrations';
import { createPostgresOrderingStore } from './postgres-ordering-store';
import { openSqliteDeadLetterStore } from './sqlite-dead-letter-store';
import { openSqliteEventLog } from './sqlite-event-log';
import { openSqliteOrderingStore } from './sqlite-ordering-store';

/** How long a query waits for a free pool connection, or a new one, before it fails. */
const POOL_CONNECT_TIMEOUT_MS = 10_000;
/** A statement that runs longer than this is cancelled by the server (none of Herald's should come close). */
const STATEMENT_TIMEOUT_MS = 30_000;

/** The dead-letter store, event log and ordering sequencer, and one close() for all and what they share. */
export interface Stores {
  store: DeadLetterStore;
  events: EventLog;
  /** Destination settings and the shared state that enforces them. */
  destinations: DestinationStore;
  /** Places of messages on their ordering keys (used by the API only). */
  ordering: OrderingStore;
  /** Bodies and replies above HERALD_INLINE_BODY_BYTES (HERALD_BLOB_STORE: a directory, or PostgreSQL). */
  blobs: BlobStore;
  /** `sqlite` or `postgres`. */
  kind: 'sqlite' | 'postgres';
  close(): Promise<void>;
}

/**
 * Opens both stores from config, in one attempt (start-up retries the whole call: runtime/resources.ts).
 * Throws what the database threw: SQLITE_BUSY, a refused connection, a bad password, or
 * DatabaseSchemaTooNewError; on a failure, closes whatever it had opened.
 */
export async function openStores(config: HeraldConfig, options: { logger: Logger }): Promise<Stores> {
  if (!config.database.url) {
    const store = openSqliteDeadLetterStore(config.deadLetterDbPath);
    let events: EventLog | undefined;
    try {
      events = openSqliteEventLog(config.deadLetterDbPath);
      const destinations = openSqliteDestinationStore(config.deadLetterDbPath);
      const ordering = openSqliteOrderingStore(config.deadLetterDbPath);
      const opened = events;
      const blobs = fileBlobs(config);
      return {
        store,
        events: opened,
        destinations,
        ordering,
        blobs,
        kind: 'sqlite',
        close: async () => {
          await blobs.close();
          await ordering.close();
          await destinations.close();
          await opened.close();
          await store.close();
        },
      };
    } catch (error) {
      await events?.close();
      await store.close();
      throw error;
    }
  }

  const connection: ClientConfig = {
    connectionString: config.database.url,
    application_name: 'herald',
    connectionTimeoutMillis: POOL_CONNECT_TIMEOUT_MS,
    // Detects a connection whose peer vanished (a failed-over host) instead of waiting on it forever.
    keepAlive: true,
  };
  const migrated = await migratePostgres(connection);
  if (migrated.applied.length > 0) {
    options.logger.info({ applied: migrated.applied, version: migrated.version }, 'database schema migrated');
  }
  const pool = new Pool({ ...connection, max: config.database.poolSize, statement_timeout: STATEMENT_TIMEOUT_MS });
  // An idle connection the server closes (a restart) emits here; unheard, it would end the process.
  // The pool drops it and opens another on the next query.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'database connection lost (idle in the pool)'));
  const store = createPostgresDeadLetterStore(pool);
  const events = createPostgresEventLog(pool, { listenConnection: connection, logger: options.logger });
  const destinations = createPostgresDestinationStore(pool);
  const ordering = createPostgresOrderingStore(pool);
  const blobs =
    config.blobs.store.kind === 'postgres'
      ? createPostgresBlobStore(pool, { keyring: config.encryption.keyring })
      : fileBlobs(config);
  let closing: Promise<void> | undefined;
  return {
    store,
    events,
    destinations,
    ordering,
    blobs,
    kind: 'postgres',
    close: () =>
      (closing ??= (async () => {
        await blobs.close();
        await ordering.close();
        await events.close();
        await store.close();
        await pool.end();
      })()),
  };
}

/** The directory blob store HERALD_BLOB_STORE names (a PostgreSQL one needs HERALD_DATABASE_URL: config refuses it otherwise). */
function fileBlobs(config: HeraldConfig): BlobStore {
  const { store } = config.blobs;
  if (store.kind !== 'file') throw new Error('HERALD_BLOB_STORE=postgres needs HERALD_DATABASE_URL');
  // Bodies at rest are sealed with the payload keys, as the dead letters are.
  return openFileBlobStore(store.directory, { keyring: config.encryption.keyring });
}
