/**
 * Migrations on a real PostgreSQL: applied once and recorded, once among several processes starting
 * together, rolled back whole when a step fails, and a schema newer than this Herald refused by name.
 */
import {
  DatabaseSchemaTooNewError,
  MIGRATIONS,
  SCHEMA_VERSION,
  migratePostgres,
  type Migration,
} from '../../src/store/postgres-migrations';
import { isStoreUnavailable } from '../../src/runtime/startup-retry';
import { createTestDatabase, openTestStores, sqlOn } from '../helpers/postgres';

const recorded = (url: string) =>
  sqlOn<{ version: number; name: string }>(url, 'SELECT version, name FROM herald_schema_migrations ORDER BY version');

test('migrations are numbered 1, 2, 3… in order, each with a name', () => {
  // Strictly increasing: version 3 (the destination store) lands from another branch, next to this 4.
  const versions = MIGRATIONS.map((m) => m.version);
  expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  for (const migration of MIGRATIONS) expect(migration.name).not.toBe('');
  expect(SCHEMA_VERSION).toBe(versions[versions.length - 1]);
});

test('a new database is migrated to the latest version and each step recorded; a second run does nothing', async () => {
  const url = await createTestDatabase();
  expect(await migratePostgres(url)).toEqual({ applied: MIGRATIONS.map((m) => m.version), version: SCHEMA_VERSION });
  expect(await recorded(url)).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
  const tables = await sqlOn<{ name: string }>(
    url,
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  expect(tables.map((t) => t.name)).toEqual([
    'herald_blob_chunks',
    'herald_blobs',
    'herald_dead_letters',
    'herald_destination_changes',
    'herald_destination_state',
    'herald_destinations',
    'herald_message_events',
    'herald_ordering_keys',
    'herald_ordering_members',
    'herald_schema_migrations',
  ]);
  expect(await migratePostgres(url)).toEqual({ applied: [], version: SCHEMA_VERSION });
});

test('eight processes starting at once on a new database: one migrates, the others wait and find it done', async () => {
  const url = await createTestDatabase();
  // Each opener has its own connections, as separate processes would.
  const results = await Promise.all(Array.from({ length: 8 }, () => migratePostgres(url)));
  expect(results.filter((r) => r.applied.length > 0)).toEqual([
    { applied: MIGRATIONS.map((m) => m.version), version: SCHEMA_VERSION },
  ]);
  expect(results.every((r) => r.version === SCHEMA_VERSION)).toBe(true);
  expect(await recorded(url)).toHaveLength(MIGRATIONS.length);
  // And whole stores opened together work on the result.
  const fleet = await Promise.all(Array.from({ length: 4 }, () => openTestStores(url)));
  try {
    await Promise.all(fleet.map((stores) => stores.store.ping()));
  } finally {
    await Promise.all(fleet.map((stores) => stores.close()));
  }
});

test('a step that fails is rolled back whole and not recorded; the steps before it stay', async () => {
  const url = await createTestDatabase();
  const steps: Migration[] = [
    { version: 1, name: 'one', sql: 'CREATE TABLE herald_one (x int)' },
    { version: 2, name: 'two', sql: 'CREATE TABLE herald_two (x int); SELECT no_such_function()' },
  ];
  await expect(migratePostgres(url, steps)).rejects.toMatchObject({ code: '42883' });
  expect(await recorded(url)).toEqual([{ version: 1, name: 'one' }]);
  expect(await sqlOn(url, "SELECT to_regclass('herald_two') AS t")).toEqual([{ t: null }]);
  // The lock went with the failed run: a fixed step 2 applies.
  const fixed = [steps[0]!, { version: 2, name: 'two', sql: 'CREATE TABLE herald_two (x int)' }];
  expect(await migratePostgres(url, fixed)).toEqual({ applied: [2], version: 2 });
});

test('a database a newer Herald migrated is refused, naming both versions, and start-up does not wait for it', async () => {
  const url = await createTestDatabase();
  await migratePostgres(url);
  const newer = SCHEMA_VERSION + 2;
  await sqlOn(url, 'INSERT INTO herald_schema_migrations (version, name) VALUES ($1, $2)', [newer, 'from the future']);
  const refused = await migratePostgres(url).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(DatabaseSchemaTooNewError);
  expect(refused).toMatchObject({
    name: 'DatabaseSchemaTooNewError',
    databaseVersion: newer,
    knownVersion: SCHEMA_VERSION,
    message:
      `the database schema is at version ${newer}, newer than this Herald knows (version ${SCHEMA_VERSION}): ` +
      `run a Herald release that knows version ${newer} or later`,
  });
  expect(isStoreUnavailable(refused)).toBe(false);
  // Opening the stores refuses it the same way, and nothing was written.
  await expect(openTestStores(url)).rejects.toBeInstanceOf(DatabaseSchemaTooNewError);
  expect((await recorded(url)).map((r) => r.version)).toEqual([...MIGRATIONS.map((m) => m.version), newer]);
});
