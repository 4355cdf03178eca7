/** The run's PostgreSQL is real and each file gets a database of its own. */
import { Client } from 'pg';
import { createTestDatabase } from '../helpers/postgres';

test('a test database is a fresh, empty database on a real PostgreSQL', async () => {
  const first = await createTestDatabase();
  const second = await createTestDatabase();
  expect(first).not.toBe(second);
  const client = new Client({ connectionString: first });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: string; tables: string }>(
      `SELECT version() AS version, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables`,
    );
    expect(rows[0]!.version).toMatch(/^PostgreSQL \d+/);
    expect(Number(rows[0]!.tables)).toBe(0);
  } finally {
    await client.end();
  }
});
