/**
 * Herald on PostgreSQL end to end: an API and a worker with HERALD_DATABASE_URL set write the dead
 * letter to PostgreSQL (not to a SQLite file), list it, redrive it, deliver the message, and serve its
 * states from the PostgreSQL event log; /readyz reports the store as for SQLite.
 */
import { existsSync } from 'node:fs';
import { request } from 'undici';
import { API_KEY } from '../helpers/api';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { createTestDatabase, sqlOn } from '../helpers/postgres';

let fixture: HeraldFixture;
let databaseUrl: string;

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  fixture = await startFixture({ api: true, env: { HERALD_DATABASE_URL: databaseUrl } });
});

/**
 * The message's SSE stream after log position `after`, read until the server ends it (at an outcome:
 * dead_lettered ends a stream too, a redrive is a new story).
 */
async function streamed(id: string, after: string): Promise<{ id: string; state: string }[]> {
  const response = await request(`${fixture.api.url}/v1/messages/${id}/events`, {
    headers: { authorization: `Bearer ${API_KEY}`, 'last-event-id': after },
    bodyTimeout: 20_000,
  });
  expect(response.statusCode).toBe(200);
  const text = await response.body.text();
  return [...text.matchAll(/^id: (\d+)\nevent: state\ndata: (.*)$/gm)].map((m) => ({
    id: m[1]!,
    state: (JSON.parse(m[2]!) as { state: string }).state,
  }));
}

test('a dead letter is written to PostgreSQL, listed, redriven and then delivered; its states are streamed', async () => {
  const { api, downstream, herald } = fixture;
  expect(herald.config.database.url).toBe(databaseUrl);
  const ready = await api.call<{ checks: { deadLetterStore: { ok: boolean } } }>('GET', '/readyz');
  expect(ready.status).toBe(200);
  expect(ready.body.checks.deadLetterStore).toEqual({ ok: true });

  downstream.script('/pg-dl', [{ status: 400 }]);
  const sent = await api.call<{ id: string }>('POST', '/v1/messages', {
    json: { destination: { url: downstream.url('/pg-dl') }, body: { on: 'postgres' } },
  });
  expect(sent.status).toBe(202);
  const { id } = sent.body;
  await herald.waitForState(id, 'dead_lettered', 60_000);

  // In PostgreSQL, and nowhere on local disk.
  expect(await sqlOn(databaseUrl, 'SELECT id, round, state FROM herald_dead_letters')).toEqual([
    { id, round: 1, state: 'dead_lettered' },
  ]);
  expect(existsSync(herald.config.deadLetterDbPath)).toBe(false);

  const listed = await api.call<{ items: { id: string; state: string }[] }>(
    'GET',
    '/v1/dead-letters?reason=permanent_error',
  );
  expect(listed.status).toBe(200);
  expect(listed.body.items.map((item) => [item.id, item.state])).toEqual([[id, 'dead_lettered']]);

  downstream.script('/pg-dl', [{ status: 200 }]);
  const redrive = await api.call('POST', `/v1/dead-letters/${id}/redrive`);
  expect(redrive.status).toBe(200);
  await herald.waitForState(id, 'delivered');
  expect((await api.call<{ state: string }>('GET', `/v1/dead-letters/${id}`)).body.state).toBe('redriven');
  expect(await sqlOn(databaseUrl, 'SELECT state, redrive_count FROM herald_dead_letters')).toEqual([
    { state: 'redriven', redrive_count: 1 },
  ]);

  // Served from the PostgreSQL log: up to the dead letter, then, resumed from there, on to delivery.
  const first = await streamed(id, '0');
  expect(first.map((e) => e.state)).toEqual(['accepted', 'delivering', 'dead_lettered']);
  const rest = await streamed(id, first[first.length - 1]!.id);
  expect(rest[rest.length - 1]?.state).toBe('delivered');
  const states = [...first, ...rest].map((e) => e.state);
  const logged = await sqlOn<{ state: string }>(
    databaseUrl,
    'SELECT state FROM herald_message_events WHERE message_id = $1 ORDER BY id',
    [id],
  );
  expect(states).toEqual(logged.map((row) => row.state));
});
