/**
 * /v1/destinations and /v1/settings/retries against a real store (SQLite, then PostgreSQL), through the
 * API, the TypeScript client and the CLI: defaults for a destination never configured, PUT and PATCH
 * with their history and actor, precise 400s, a 412 for a stale If-Match, the global switch.
 */
import { HeraldClient } from '../../src/client';
import { API_KEY, type TestApi } from '../helpers/api';
import { startFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';
import { createTestDatabase } from '../helpers/postgres';
import { runCli } from '../cli/run-cli';

type Problem = { type: string; status: number; detail?: string; errors?: { field: string }[] };

for (const storage of ['SQLite', 'PostgreSQL'] as const) {
  describe(`destinations API on ${storage}`, () => {
    let api: TestApi;
    beforeAll(async () => {
      const env: Record<string, string> =
        storage === 'PostgreSQL' ? { HERALD_DATABASE_URL: await createTestDatabase('herald_destinations_api') } : {};
      ({ api } = await startFixture({ api: true, worker: false, env }));
    }, 60_000);

    const host = () => `${uniqueId('d').toLowerCase()}.example.com:8443`;

    test('a destination never configured answers its defaults; PUT, PATCH and the history say who changed what', async () => {
      const name = host();
      const fresh = await api.call<{ host: string; settings: object; version: number }>(
        'GET',
        `/v1/destinations/${name}`,
      );
      expect(fresh.status).toBe(200);
      expect(fresh.body).toMatchObject({ host: name, settings: {}, version: 0 });

      const put = await api.call('PUT', `/v1/destinations/${name}`, { json: { rateLimit: 5, maxConcurrency: 2 } });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ version: 1, settings: { rateLimit: 5, maxConcurrency: 2 }, updatedBy: 'tests' });
      expect(put.headers.etag).toBeDefined();
      const patched = await api.call('PATCH', `/v1/destinations/${name}`, {
        json: { rateLimit: null, paused: true },
        headers: { 'if-match': String(put.headers.etag) },
      });
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ version: 2, settings: { maxConcurrency: 2, paused: true } });
      expect((patched.body as { settings: object }).settings).not.toHaveProperty('rateLimit');

      const stale = await api.call<Problem>('PATCH', `/v1/destinations/${name}`, {
        json: { paused: false },
        headers: { 'if-match': String(put.headers.etag) },
      });
      expect(stale.status).toBe(412);
      expect(stale.headers['content-type']).toContain('application/problem+json');

      const history = await api.call<{ items: { kind: string; actor: string; after: unknown }[] }>(
        'GET',
        `/v1/destinations/${name}/history`,
      );
      expect(history.body.items.map((item) => [item.kind, item.actor, item.after])).toEqual([
        ['settings', 'tests', { maxConcurrency: 2, paused: true }],
        ['settings', 'tests', { rateLimit: 5, maxConcurrency: 2 }],
      ]);
      const listed = await api.call<{ items: { host: string; leasesInFlight?: number }[] }>('GET', '/v1/destinations');
      expect(listed.body.items.some((item) => item.host === name)).toBe(true);
    });

    test.each([
      ['a host that is not one', 'PUT', '/v1/destinations/not a host!', { paused: true }],
      ['an unknown setting', 'PUT', '/v1/destinations/a.example.com', { pause: true }],
      ['a rate of zero', 'PATCH', '/v1/destinations/a.example.com', { rateLimit: 0 }],
      [
        'a breaker without its window',
        'PUT',
        '/v1/destinations/a.example.com',
        { circuitBreaker: { failureRatio: 0.5 } },
      ],
      [
        'a retry interval that is no duration',
        'PATCH',
        '/v1/destinations/a.example.com',
        { retry: { initialInterval: 'soon' } },
      ],
      ['a switch that is neither on nor off', 'PUT', '/v1/settings/retries', { retries: 'maybe' }],
    ])('%s is a 400 problem, never a 5xx', async (_what, method, path, json) => {
      const response = await api.call<Problem>(method, encodeURI(path), { json });
      expect(response.status).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.status).toBe(400);
    });

    test('the global switch, through the client and the CLI', async () => {
      const client = new HeraldClient({ baseUrl: api.url, apiKey: API_KEY });
      expect(await client.retries.get()).toEqual({ retries: 'on' });
      await client.retries.set('off');
      expect(await client.retries.get()).toEqual({ retries: 'off' });
      const env = { HERALD_URL: api.url, HERALD_API_KEY: API_KEY };
      const status = await runCli(['retries', 'status'], { env });
      expect(status.code).toBe(0);
      expect(status.stdout).toContain('off');
      const on = await runCli(['retries', 'on'], { env });
      expect(on.code).toBe(0);
      expect(await client.retries.get()).toEqual({ retries: 'on' });

      const name = host();
      const paused = await runCli(['destinations', 'pause', name], { env });
      expect(paused.code).toBe(0);
      expect((await client.destinations.get(name)).settings).toEqual({ paused: true });
      await client.destinations.resume(name);
      expect((await client.destinations.get(name)).settings).toMatchObject({ paused: false });
      const shown = await runCli(['destinations', 'history', name, '--json'], { env });
      expect(shown.code).toBe(0);
      expect((JSON.parse(shown.stdout) as unknown[]).length).toBe(2);
    }, 60_000);
  });
}
