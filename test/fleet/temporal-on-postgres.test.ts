/**
 * The fleet suite's ground floor: Herald's real worker and API processes against the Temporal that
 * `npm run test:fleet` started — the server built here, on PostgreSQL, with SQL visibility and the
 * search attributes registered through the operator API (or the dev server, with
 * HERALD_FLEET_TEMPORAL=dev). A message reaches a real downstream on 127.0.0.1, a permanently failing
 * one is dead-lettered, and `GET /v1/messages?state=dead_lettered` finds it in the visibility store.
 */
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { HERALD_SEARCH_ATTRIBUTES } from '../../src/contract/search-attributes';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startHeraldFleet, type FleetApi, type HeraldFleet } from '../helpers/herald-fleet';
import { uniqueId } from '../helpers/herald';
import { TEMPORAL_SERVER_VERSION } from '../../scripts/temporal-server/temporal-server';

const onPostgres = process.env.HERALD_TEST_TEMPORAL_KIND === 'postgres';
let fleet: HeraldFleet;
let api: FleetApi;
let downstream: Downstream;
let connection: Connection;

beforeAll(async () => {
  downstream = await startDownstream();
  connection = await Connection.connect({ address: process.env.HERALD_TEST_TEMPORAL_ADDRESS! });
  fleet = await startHeraldFleet({ workers: 1, apis: 1 });
  api = fleet.apis[0]!;
});

afterAll(async () => {
  await fleet?.close();
  await connection?.close();
  await downstream?.close();
});

type Status = { id: string; state: string };

async function stateOf(id: string, state: string): Promise<Status> {
  const response = await eventually(() => api.call<Status>('GET', `/v1/messages/${id}`), {
    until: (r) => r.status === 200 && r.body.state === state,
    what: `${id} to be ${state}`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  return response.body;
}

test('Temporal is the server the suite asked for, with Herald’s search attributes as Keywords', async () => {
  const info = await connection.workflowService.getClusterInfo({});
  if (onPostgres) {
    expect(info).toMatchObject({ serverVersion: TEMPORAL_SERVER_VERSION, persistenceStore: 'postgres12' });
    expect(info.visibilityStore).toContain('postgres12');
  } else {
    expect(info.persistenceStore).toBe('sqlite');
  }
  const { customAttributes } = await connection.operatorService.listSearchAttributes({
    namespace: process.env.HERALD_TEST_NAMESPACE ?? 'default',
  });
  for (const key of HERALD_SEARCH_ATTRIBUTES) {
    expect(customAttributes?.[key.name]).toBe(temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD);
  }
});

test('a message sent through the API process is delivered to a real downstream by the worker process', async () => {
  const id = uniqueId('msg');
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/fleet-ok') }, body: { hello: 'fleet' } },
  });
  expect(sent.status).toBe(202);
  await stateOf(id, 'delivered');
  const requests = downstream.requests('/fleet-ok');
  expect(requests).toHaveLength(1);
  expect(JSON.parse(requests[0]!.body)).toEqual({ hello: 'fleet' });
  expect(requests[0]!.headers['idempotency-key']).toBe(id);
  expect(requests[0]!.headers['webhook-id']).toBe(`${id}.delivery`);
});

test('a permanently failing message is dead-lettered and listed by state from the visibility store', async () => {
  const target = await startDownstream();
  try {
    target.script('/gone', [{ status: 410 }]);
    const id = uniqueId('msg');
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: target.url('/gone') }, body: {} },
    });
    expect(sent.status).toBe(202);
    await stateOf(id, 'dead_lettered');
    expect(target.requests('/gone')).toHaveLength(1);
    // Visibility is eventually consistent: the search attribute lands after the state change.
    const listed = await eventually(
      () =>
        api.call<{ items: { id: string; state: string; destination: string }[] }>(
          'GET',
          `/v1/messages?state=dead_lettered&destination=127.0.0.1:${target.port}`,
        ),
      {
        until: (r) => r.status === 200 && r.body.items.length > 0,
        what: `${id} listed as dead_lettered`,
        timeoutMs: 30_000,
      },
    );
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id, state: 'dead_lettered', destination: `127.0.0.1:${target.port}` }),
    ]);
    const delivered = await api.call<{ items: { id: string }[] }>(
      'GET',
      `/v1/messages?state=delivered&destination=127.0.0.1:${target.port}`,
    );
    expect(delivered.body.items).toEqual([]);
  } finally {
    await target.close();
  }
});
