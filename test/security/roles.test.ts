/**
 * Roles, route by route: every route of the API, called with a key of every role (two senders, an
 * operator, a reader, an unscoped key as written before roles, and no key), answers the status the
 * role allows, against a real Temporal and a real worker. A refusal is a 403 problem naming the role
 * missing; message lists and the event stream of a sender key hold only its own messages (HeraldSender).
 */
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { callApi, signedReply, type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

const KEYS = {
  shop: 'shop-key-0123456789abcdef',
  other: 'other-shop-key-0123456789',
  ops: 'ops-key-0123456789abcdef',
  audit: 'audit-key-0123456789abcdef',
  legacy: 'legacy-key-0123456789abcd',
} as const;
type Who = keyof typeof KEYS | 'none';
const WHO: Who[] = ['shop', 'other', 'ops', 'audit', 'legacy', 'none'];

let fixture: HeraldFixture;
let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
/** A delivered message the `shop` key sent, and a dead letter of one. */
let delivered: string;
let deadLetter: string;

const auth = (who: Who) => (who === 'none' ? null : `Bearer ${KEYS[who]}`);
const call = (who: Who, method: string, path: string, json?: unknown) =>
  callApi<{ type?: string; detail?: string; requiredRoles?: string[]; items?: { id: string }[] }>(
    api.url,
    method,
    path,
    { headers: { authorization: auth(who) }, ...(json === undefined ? {} : { json }) },
  );

/** An event stream's status, without waiting for a stream that stays open to end. */
async function streamStatus(who: Who, path: string): Promise<number> {
  const controller = new AbortController();
  const headers: Record<string, string> = {};
  if (who !== 'none') headers.authorization = `Bearer ${KEYS[who]}`;
  const response = await request(`${api.url}${path}`, { headers, signal: controller.signal });
  const status = response.statusCode;
  if (status === 200 && path === '/v1/events') controller.abort();
  else await response.body.text();
  response.body.on('error', () => undefined);
  return status;
}

beforeAll(async () => {
  fixture = await startFixture({
    api: true,
    env: {
      HERALD_API_KEYS: `shop:${KEYS.shop}:sender,other:${KEYS.other}:sender,ops:${KEYS.ops}:operator,audit:${KEYS.audit}:reader,legacy:${KEYS.legacy}`,
      HERALD_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    },
  });
  ({ herald, api, downstream } = fixture);
  delivered = uniqueId('roles-ok');
  deadLetter = uniqueId('roles-dl');
  downstream.script(`/${deadLetter}`, [{ status: 400 }]);
  for (const id of [delivered, deadLetter]) {
    const sent = await call('shop', 'POST', '/v1/messages', { id, destination: { url: downstream.url(`/${id}`) } });
    expect(sent.status).toBe(202);
  }
  await herald.waitForState(delivered, 'delivered');
  await herald.waitForState(deadLetter, 'dead_lettered');
});
afterAll(() => fixture.close());

/** Expected status by caller: [shop, other, ops, audit, legacy, none]. */
type Row = [method: string, route: string, call: (who: Who) => Promise<number>, expected: number[]];

const plain =
  (method: string, path: () => string, json?: () => unknown) =>
  async (who: Who): Promise<number> =>
    (await call(who, method, path(), json?.())).status;

const ROWS: Row[] = [
  ['GET', '/healthz', plain('GET', () => '/healthz'), [200, 200, 200, 200, 200, 200]],
  ['GET', '/readyz', plain('GET', () => '/readyz'), [200, 200, 200, 200, 200, 200]],
  ['GET', '/metrics', plain('GET', () => '/metrics'), [200, 200, 200, 200, 200, 200]],
  [
    'POST',
    '/codec/decode',
    plain(
      'POST',
      () => '/codec/decode',
      () => ({ payloads: [] }),
    ),
    [403, 403, 200, 200, 200, 401],
  ],
  [
    'POST',
    '/codec/encode',
    plain(
      'POST',
      () => '/codec/encode',
      () => ({ payloads: [] }),
    ),
    [403, 403, 200, 200, 200, 401],
  ],
  ['POST', '/codec/session', plain('POST', () => '/codec/session'), [403, 403, 200, 200, 200, 401]],
  [
    'POST',
    '/v1/messages',
    plain(
      'POST',
      () => '/v1/messages',
      () => ({ destination: { url: downstream.url('/roles-send') }, body: { n: 1 } }),
    ),
    [202, 202, 403, 403, 202, 401],
  ],
  ['GET', '/v1/messages/:id', plain('GET', () => `/v1/messages/${delivered}`), [200, 403, 200, 200, 200, 401]],
  ['GET', '/v1/messages', plain('GET', () => '/v1/messages'), [200, 200, 200, 200, 200, 401]],
  // Everyone reading messages may count them (a sender its own).
  ['GET', '/v1/activity', plain('GET', () => '/v1/activity?window=10m'), [200, 200, 200, 200, 200, 401]],
  [
    'POST',
    '/v1/messages/:id/reply',
    async (who) => {
      const id = uniqueId('roles-none');
      const reply = signedReply(id, { body: 1 });
      const headers = { ...reply.headers, authorization: auth(who) };
      return (await callApi(api.url, 'POST', `/v1/messages/${id}/reply`, { raw: reply.raw, headers })).status;
    },
    // The key may reply (the signature says whose reply it is); the message does not exist: 404.
    [404, 404, 404, 403, 404, 401],
  ],
  [
    'GET',
    '/v1/messages/:id/reply/body',
    plain('GET', () => `/v1/messages/${delivered}/reply/body`),
    // Allowed to look, and the message has no reply: 404. Without a key or a pointer: 401.
    [404, 403, 404, 404, 404, 401],
  ],
  [
    'POST',
    '/v1/messages/:id/subscriptions',
    plain(
      'POST',
      () => `/v1/messages/${delivered}/subscriptions`,
      () => ({ url: downstream.url('/roles-sub') }),
    ),
    // Only its sender or an operator re-points a message (an unscoped key only its own, as before roles).
    [201, 403, 201, 403, 403, 401],
  ],
  [
    'POST',
    '/v1/messages/:id/cancel',
    plain('POST', () => `/v1/messages/${delivered}/cancel`),
    // Allowed, and the message has ended: 409.
    [409, 403, 409, 403, 403, 401],
  ],
  [
    'GET',
    '/v1/messages/:id/events',
    (who) => streamStatus(who, `/v1/messages/${delivered}/events`),
    [200, 403, 200, 200, 200, 401],
  ],
  ['GET', '/v1/events', (who) => streamStatus(who, '/v1/events'), [200, 200, 200, 200, 200, 401]],
  ['GET', '/v1/dead-letters', plain('GET', () => '/v1/dead-letters'), [403, 403, 200, 200, 200, 401]],
  ['GET', '/v1/dead-letters/:id', plain('GET', () => `/v1/dead-letters/${deadLetter}`), [403, 403, 200, 200, 200, 401]],
  [
    'POST',
    '/v1/dead-letters/:id/redrive',
    plain('POST', () => `/v1/dead-letters/${uniqueId('roles-absent')}/redrive`),
    // Allowed, and there is no such dead letter: 404.
    [403, 403, 404, 403, 404, 401],
  ],
  [
    'POST',
    '/v1/dead-letters/redrive',
    plain(
      'POST',
      () => '/v1/dead-letters/redrive',
      () => ({ destination: 'nothing.invalid' }),
    ),
    [403, 403, 200, 403, 200, 401],
  ],
  [
    'DELETE',
    '/v1/dead-letters/:id',
    plain('DELETE', () => `/v1/dead-letters/${uniqueId('roles-absent')}`),
    [403, 403, 404, 403, 404, 401],
  ],
  ['GET', '/v1/destinations', plain('GET', () => '/v1/destinations'), [403, 403, 200, 200, 200, 401]],
  [
    'GET',
    '/v1/destinations/:host',
    plain('GET', () => '/v1/destinations/matrix.invalid'),
    [403, 403, 200, 200, 200, 401],
  ],
  [
    'PUT',
    '/v1/destinations/:host',
    plain(
      'PUT',
      () => '/v1/destinations/matrix.invalid',
      () => ({ paused: false }),
    ),
    [403, 403, 200, 403, 200, 401],
  ],
  [
    'PATCH',
    '/v1/destinations/:host',
    plain(
      'PATCH',
      () => '/v1/destinations/matrix.invalid',
      () => ({ paused: false }),
    ),
    [403, 403, 200, 403, 200, 401],
  ],
  [
    'GET',
    '/v1/destinations/:host/history',
    plain('GET', () => '/v1/destinations/matrix.invalid/history'),
    [403, 403, 200, 200, 200, 401],
  ],
  ['GET', '/v1/settings/retries', plain('GET', () => '/v1/settings/retries'), [403, 403, 200, 200, 200, 401]],
  [
    'PUT',
    '/v1/settings/retries',
    plain(
      'PUT',
      () => '/v1/settings/retries',
      () => ({ retries: 'on' }),
    ),
    [403, 403, 200, 403, 200, 401],
  ],
  [
    'GET',
    '/v1/settings/retries/history',
    plain('GET', () => '/v1/settings/retries/history'),
    [403, 403, 200, 200, 200, 401],
  ],
];

test('the matrix covers every route the API serves', () => {
  const served = api.app.registeredRoutes
    .filter((route) => !route.hidden && route.method !== 'HEAD' && route.method !== 'OPTIONS')
    .map((route) => `${route.method} ${route.url}`)
    .sort();
  expect(ROWS.map(([method, route]) => `${method} ${route}`).sort()).toEqual(served);
});

test.each(ROWS)('%s %s by every role', async (_method, _route, run, expected) => {
  const got: Record<string, number> = {};
  for (const who of WHO) got[who] = await run(who);
  expect(got).toEqual(Object.fromEntries(WHO.map((who, index) => [who, expected[index]])));
});

test('a refusal is a 403 problem naming the missing role', async () => {
  const bySender = await call('shop', 'GET', '/v1/dead-letters');
  expect(bySender.body).toMatchObject({
    type: 'urn:herald:problem:forbidden',
    detail: 'GET /v1/dead-letters needs the operator role or the reader role; key "shop" has sender',
    requiredRoles: ['operator', 'reader'],
  });
  const byReader = await call('audit', 'POST', `/v1/messages/${delivered}/cancel`);
  expect(byReader.body.detail).toBe(
    'POST /v1/messages/:id/cancel needs the sender role or the operator role; key "audit" has reader',
  );
  const otherSender = await call('other', 'GET', `/v1/messages/${delivered}`);
  expect(otherSender.body).toMatchObject({
    detail: 'reading a message another key sent needs the operator role or the reader role; key "other" has sender',
    requiredRoles: ['operator', 'reader'],
  });
  const byOperator = await call('ops', 'POST', '/v1/messages', { destination: { url: downstream.url('/x') } });
  expect(byOperator.body.detail).toBe('POST /v1/messages needs the sender role; key "ops" has operator');
});

test('a sender key lists only its own messages (HeraldSender); operators and readers list all', async () => {
  const mine = uniqueId('roles-mine');
  const theirs = uniqueId('roles-theirs');
  await call('shop', 'POST', '/v1/messages', { id: mine, destination: { url: downstream.url(`/${mine}`) } });
  await call('other', 'POST', '/v1/messages', { id: theirs, destination: { url: downstream.url(`/${theirs}`) } });
  const ids = async (who: Who) =>
    (await call(who, 'GET', `/v1/messages?limit=100&destination=127.0.0.1:${downstream.port}`)).body.items!.map(
      (item) => item.id,
    );
  await eventually(async () => (await ids('ops')).includes(theirs) && (await ids('ops')).includes(mine), {
    what: 'both messages in visibility',
    timeoutMs: 20_000,
  });
  const shop = await ids('shop');
  expect(shop).toContain(mine);
  expect(shop).toContain(delivered);
  expect(shop).not.toContain(theirs);
  const other = await ids('other');
  expect(other).toContain(theirs);
  expect(other).not.toContain(mine);
  expect(other).not.toContain(delivered);
  expect(await ids('audit')).toEqual(expect.arrayContaining([mine, theirs, delivered]));
});

test('GET /v1/events: a sender follows its own messages, an operator every message', async () => {
  const follow = async (who: Who) => {
    const controller = new AbortController();
    const response = await request(`${api.url}/v1/events`, {
      headers: { authorization: `Bearer ${KEYS[who as keyof typeof KEYS]}` },
      signal: controller.signal,
    });
    let text = '';
    response.body.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    response.body.on('error', () => undefined);
    return { text: () => text, stop: () => controller.abort() };
  };
  const shop = await follow('shop');
  const ops = await follow('ops');
  try {
    const theirs = uniqueId('roles-ev-theirs');
    const mine = uniqueId('roles-ev-mine');
    await call('other', 'POST', '/v1/messages', { id: theirs, destination: { url: downstream.url(`/${theirs}`) } });
    await herald.waitForState(theirs, 'delivered');
    await call('shop', 'POST', '/v1/messages', { id: mine, destination: { url: downstream.url(`/${mine}`) } });
    await eventually(() => shop.text().includes(`"${mine}"`) && ops.text().includes(`"${mine}"`), {
      what: 'both streams to carry the shop’s message',
      timeoutMs: 20_000,
    });
    expect(ops.text()).toContain(`"${theirs}"`);
    expect(shop.text()).not.toContain(`"${theirs}"`);
  } finally {
    shop.stop();
    ops.stop();
  }
});
