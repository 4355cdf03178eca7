/**
 * Opening the SQLite file the embedded stores share: its directory made, a busy timeout (several
 * processes write), WAL (readers never wait for the writer), and a store's tables created in one
 * write transaction (two processes opening a new file at once must not both create them).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SQLITE_BUSY_TIMEOUT_MS } from './sqlite-dead-letter-store';

export function openSqliteWithSchema(
  path: string,
  schema: string,
  busyTimeoutMs = SQLITE_BUSY_TIMEOUT_MS,
): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    db.pragma('journal_mode = WAL');
    // Said, not left to the default, which differs between the first connection and later ones (see
    // sqlite-dead-letter-store.ts): destinations and ordering places are written rarely, and synced.
    db.pragma('synchronous = FULL');
    db.transaction(() => db.exec(schema)).immediate();
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
