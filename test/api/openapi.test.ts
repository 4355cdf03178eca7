/** The OpenAPI document is valid OpenAPI 3.1, and every route the API serves is in it. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestApi } from '../helpers/api';
import { startFixture } from '../helpers/fixture';

let api: TestApi;

beforeAll(async () => {
  ({ api } = await startFixture({ api: true }));
});

type OpenApi = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

test('GET /openapi.json validates against the OpenAPI 3.1 schema', async () => {
  const response = await api.call<OpenApi>('GET', '/openapi.json', { headers: { authorization: null } });
  expect(response.status).toBe(200);
  expect(response.body.openapi).toBe('3.1.0');
  const file = join(mkdtempSync(join(tmpdir(), 'herald-openapi-')), 'openapi.json');
  writeFileSync(file, response.text);
  // The validator is an ES module; run it as Node runs it rather than through jest's module loader.
  const script = `
    import { Validator } from '@seriousme/openapi-schema-validator';
    const result = await new Validator().validate(process.argv[1]);
    console.log(JSON.stringify(result));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script, file], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
  });
  const result = JSON.parse(output) as { valid: boolean; errors?: unknown };
  expect(result.errors ?? null).toBeNull();
  expect(result.valid).toBe(true);
});

test('every route is documented, with its error responses', async () => {
  const doc = (await api.call<OpenApi>('GET', '/openapi.json')).body;
  const routes = api.app.registeredRoutes.filter((route) => !route.hidden && route.method !== 'HEAD');
  expect(routes.length).toBe(29);
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const operation = doc.paths[path]?.[route.method.toLowerCase()];
    expect({ route: `${route.method} ${path}`, documented: operation !== undefined }).toEqual({
      route: `${route.method} ${path}`,
      documented: true,
    });
    if (path.startsWith('/v1/')) expect(Object.keys(operation!.responses)).toContain('401');
  }
  // And nothing is documented that is not served.
  const served = new Set(routes.map((r) => `${r.method.toLowerCase()} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`));
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const method of Object.keys(operations)) expect(served).toContain(`${method} ${path}`);
  }
});

test('GET /docs serves the interactive documentation without an API key', async () => {
  const response = await api.call('GET', '/docs/', { headers: { authorization: null } });
  expect(response.status).toBe(200);
  expect(response.text).toContain('swagger');
});

test('sending a message documents the 429 of admission control, with Retry-After and its problem fields', async () => {
  const doc = (await api.call<OpenApi>('GET', '/openapi.json')).body;
  const tooMany = doc.paths['/v1/messages']!.post!.responses['429'] as {
    headers: Record<string, { schema: { type: string } }>;
    content: Record<string, { schema: { properties: Record<string, unknown> } }>;
  };
  expect(tooMany.headers['retry-after']!.schema.type).toBe('integer');
  const properties = tooMany.content['application/problem+json']!.schema.properties;
  expect(Object.keys(properties)).toEqual(expect.arrayContaining(['reason', 'retryAfterSeconds', 'backlog']));
  // Only new messages are refused: no other operation lists a 429.
  const others = Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([method, operation]) => !(path === '/v1/messages' && method === 'post') && '429' in operation.responses)
      .map(([method]) => `${method} ${path}`),
  );
  expect(others).toEqual([]);
});
