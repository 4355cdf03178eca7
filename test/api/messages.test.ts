/** /v1/messages end to end over HTTP, with the real worker and dev server. */
import { startDownstream, type Downstream } from '../helpers/downstream';
import { API_KEY, OTHER_API_KEY, REPLY_SECRET, signedReply, type TestApi, type TestResponse } from '../helpers/api';
import { uniqueId } from '../helpers/herald';
import { eventually } from '../helpers/eventually';
import { startFixture } from '../helpers/fixture';

let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ api, downstream } = await startFixture({ api: true }));
});

type Status = { state: string; source: string; reply: { body: unknown } | null; ignored: unknown[]; id: string };

async function pollState(id: string, state: string): Promise<Status> {
  const response = await eventually(() => api.call<Status>('GET', `/v1/messages/${id}`), {
    until: (r) => r.body.state === state,
    what: `${id} to be ${state}`,
  });
  return response.body;
}

/** A reply to message `id`, signed under the webhook id the tests use for it. */
function signedMessageReply(id: string, payload: unknown, secret = REPLY_SECRET) {
  return signedReply(`${id}#reply`, payload, secret);
}

test('POST /v1/messages accepts with 202, Location and Retry-After; the message is delivered', async () => {
  const response = await api.call('POST', '/v1/messages', {
    json: { destination: { url: downstream.url('/api-send') }, body: { hello: 'api' } },
  });
  expect(response.status).toBe(202);
  const { id } = response.body as { id: string };
  expect(id).toMatch(/^msg_[0-9a-z]{26}$/);
  expect(response.body).toEqual({ id, state: 'accepted', existing: false });
  expect(response.headers.location).toBe(`/v1/messages/${id}`);
  expect(response.headers['retry-after']).toBe('1');
  const status = await pollState(id, 'delivered');
  expect(status.source).toBe('workflow');
  expect(downstream.requests('/api-send')[0]?.body).toBe('{"hello":"api"}');
});

test('Idempotency-Key: the same content answers 200 with the existing message, other content 409', async () => {
  const key = uniqueId('idem');
  const message = { destination: { url: downstream.url('/idem') }, body: { n: 1 } };
  const first = await api.call('POST', '/v1/messages', { json: message, headers: { 'idempotency-key': key } });
  expect(first.status).toBe(202);
  expect(first.body).toMatchObject({ id: key, existing: false });
  const again = await api.call('POST', '/v1/messages', { json: message, headers: { 'idempotency-key': key } });
  expect(again.status).toBe(200);
  expect(again.body).toMatchObject({ id: key, existing: true });
  const other = await api.call('POST', '/v1/messages', {
    json: { ...message, body: { n: 2 } },
    headers: { 'idempotency-key': key },
  });
  expect(other.status).toBe(409);
  expect(other.headers['content-type']).toContain('application/problem+json');
  expect(other.body).toMatchObject({ type: 'urn:herald:problem:conflict', status: 409 });
  // The body's id works the same way.
  const byBody = await api.call('POST', '/v1/messages', { json: { ...message, id: key } });
  expect(byBody.status).toBe(200);
  const mismatch = await api.call('POST', '/v1/messages', {
    json: { ...message, id: 'another-id' },
    headers: { 'idempotency-key': key },
  });
  expect(mismatch.status).toBe(400);
  expect(mismatch.body).toMatchObject({ errors: [{ field: '/id' }] });
  await pollState(key, 'delivered');
  expect(downstream.requests('/idem')).toHaveLength(1);
});

test('GET /v1/messages/{id} carries Retry-After while the message has not ended', async () => {
  const id = uniqueId('msg');
  await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url('/waits') }, body: {}, reply: { timeout: '1m' } },
  });
  await pollState(id, 'awaiting_reply');
  const response = await api.call('GET', `/v1/messages/${id}`);
  expect(response.status).toBe(200);
  expect(response.headers['retry-after']).toBe('1');
  await api.call('POST', `/v1/messages/${id}/cancel`, { json: { reason: 'test over' } });
  const ended = await pollState(id, 'cancelled');
  expect(ended.state).toBe('cancelled');
  expect((await api.call('GET', `/v1/messages/${id}`)).headers['retry-after']).toBeUndefined();
});

test('GET /v1/messages/{id} for an unknown id is 404 problem+json', async () => {
  const response = await api.call('GET', `/v1/messages/${uniqueId('unknown')}`);
  expect(response.status).toBe(404);
  expect(response.body).toMatchObject({ type: 'urn:herald:problem:not-found', status: 404 });
});

test('GET /v1/messages lists by state and destination, page by page', async () => {
  const target = await startDownstream();
  try {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await api.call('POST', '/v1/messages', {
        json: { destination: { url: target.url('/list') }, body: { i } },
      });
      ids.push((response.body as { id: string }).id);
    }
    for (const id of ids) await pollState(id, 'delivered');
    const host = `127.0.0.1:${target.port}`;
    // Visibility is eventually consistent: list again until all five are listed.
    const seen = await eventually(
      async () => {
        const listed: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = `state=delivered&destination=${encodeURIComponent(host)}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
          const page: TestResponse<{
            items: { id: string; state: string; destination: string }[];
            nextCursor: string | null;
          }> = await api.call<{
            items: { id: string; state: string; destination: string }[];
            nextCursor: string | null;
          }>('GET', `/v1/messages?${query}`);
          expect(page.status).toBe(200);
          expect(page.body.items.length).toBeLessThanOrEqual(2);
          for (const item of page.body.items) {
            expect(item).toMatchObject({ state: 'delivered', destination: host });
            listed.push(item.id);
          }
          cursor = page.body.nextCursor;
          pages += 1;
        } while (cursor && pages < 10);
        return listed;
      },
      { until: (listed) => listed.length >= 5, what: 'all five listed', intervalMs: 200 },
    );
    expect(seen.sort()).toEqual([...ids].sort());
  } finally {
    await target.close();
  }
});

test('GET /v1/messages rejects bad filters with the field named', async () => {
  const fields = async (query: string) => {
    const response = await api.call<{ errors: { field: string }[] }>('GET', `/v1/messages?${query}`);
    expect(response.status).toBe(400);
    return response.body.errors.map((e) => e.field);
  };
  expect(await fields('state=lost')).toEqual(['query:/state']);
  expect(await fields('limit=1000')).toEqual(['query:/limit']);
  expect(await fields('limit=ten')).toEqual(['query:/limit']);
  expect(await fields('since=yesterday')).toEqual(['query:/since']);
  expect(await fields("destination=a'%20OR%20'1")).toEqual(['query:/destination']);
  const cursor = await api.call('GET', '/v1/messages?cursor=not-a-real-cursor');
  expect(cursor.status).toBe(400);
});

describe('POST /v1/messages/{id}/reply', () => {
  async function awaitingMessage(): Promise<string> {
    const id = uniqueId('msg');
    await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: downstream.url('/asks') }, body: {}, reply: { timeout: '1m' } },
    });
    await pollState(id, 'awaiting_reply');
    return id;
  }

  test('a correctly signed reply is taken and answered with the replied status', async () => {
    const id = await awaitingMessage();
    const { raw, headers } = signedMessageReply(id, { body: { answer: 42 }, status: 200 });
    const response = await api.call<Status>('POST', `/v1/messages/${id}/reply`, { raw, headers });
    expect(response.status).toBe(200);
    expect(response.body.state).toBe('replied');
    expect(response.body.reply?.body).toEqual({ answer: 42 });
    // A second reply is refused with a clear error.
    const again = signedMessageReply(id, { body: 'again' });
    const second = await api.call('POST', `/v1/messages/${id}/reply`, { raw: again.raw, headers: again.headers });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({
      type: 'urn:herald:problem:reply-not-accepted',
      detail: 'the message has ended (replied)',
    });
  });

  test('a missing or wrong signature is 401 and the workflow never sees the reply', async () => {
    const id = await awaitingMessage();
    const unsigned = await api.call('POST', `/v1/messages/${id}/reply`, { json: { body: 'forged' } });
    expect(unsigned.status).toBe(401);
    expect(unsigned.body).toMatchObject({ type: 'urn:herald:problem:invalid-signature' });

    const wrongSecret = `whsec_${Buffer.from('not-the-right-secret-at-all-32by').toString('base64')}`;
    const forged = signedMessageReply(id, { body: 'forged' }, wrongSecret);
    const wrong = await api.call('POST', `/v1/messages/${id}/reply`, { raw: forged.raw, headers: forged.headers });
    expect(wrong.status).toBe(401);

    // A valid signature over other bytes than those sent is also refused.
    const signed = signedMessageReply(id, { body: 'original' });
    const tampered = await api.call('POST', `/v1/messages/${id}/reply`, {
      raw: JSON.stringify({ body: 'tampered' }),
      headers: signed.headers,
    });
    expect(tampered.status).toBe(401);

    const status = await api.call<Status>('GET', `/v1/messages/${id}`);
    expect(status.body.state).toBe('awaiting_reply');
    expect(status.body.reply).toBeNull();
    expect(status.body.ignored).toEqual([]);
    await api.call('POST', `/v1/messages/${id}/cancel`);
  });

  test('a signature made for another message is refused (webhook-id binds it to its message)', async () => {
    const id = await awaitingMessage();
    const other = await awaitingMessage();
    const signedForOther = signedMessageReply(other, { body: 'for the other one' });
    const replayed = await api.call('POST', `/v1/messages/${id}/reply`, {
      raw: signedForOther.raw,
      headers: signedForOther.headers,
    });
    expect(replayed.status).toBe(401);
    expect((replayed.body as { detail: string }).detail).toContain('webhook-id must be the message id');
    expect((await api.call<Status>('GET', `/v1/messages/${id}`)).body.reply).toBeNull();
    await api.call('POST', `/v1/messages/${id}/cancel`);
    await api.call('POST', `/v1/messages/${other}/cancel`);
  });

  test('only the sending API key may cancel a message or register a callback for it', async () => {
    const id = await awaitingMessage();
    const asOther = { authorization: `Bearer ${OTHER_API_KEY}` };
    const cancel = await api.call('POST', `/v1/messages/${id}/cancel`, { headers: asOther });
    expect(cancel.status).toBe(403);
    expect(cancel.body).toMatchObject({ type: 'urn:herald:problem:forbidden' });
    const subscribe = await api.call('POST', `/v1/messages/${id}/subscriptions`, {
      json: { url: downstream.url('/steal') },
      headers: asOther,
    });
    expect(subscribe.status).toBe(403);
    expect((await api.call<Status>('GET', `/v1/messages/${id}`)).body.state).toBe('awaiting_reply');
    expect((await api.call('POST', `/v1/messages/${id}/cancel`)).status).toBe(202);
  });

  test('a reply to an unknown message is 404', async () => {
    const { raw, headers } = signedMessageReply('x', { body: 1 });
    const response = await api.call('POST', `/v1/messages/${uniqueId('unknown')}/reply`, { raw, headers });
    expect(response.status).toBe(404);
  });
});

test('POST /v1/messages/{id}/cancel answers 202; cancelling an ended message is 409; unknown is 404', async () => {
  downstream.script('/cancel-api', [{ status: 503 }]);
  const id = uniqueId('msg');
  await api.call('POST', '/v1/messages', {
    json: {
      id,
      destination: { url: downstream.url('/cancel-api') },
      body: {},
      retry: { initialInterval: '10s', maximumInterval: '10s' },
    },
  });
  const cancel = await api.call('POST', `/v1/messages/${id}/cancel`, { json: { reason: 'no longer needed' } });
  expect(cancel.status).toBe(202);
  expect(cancel.body).toEqual({ id, cancelRequested: true });
  await pollState(id, 'cancelled');
  const again = await api.call('POST', `/v1/messages/${id}/cancel`);
  expect(again.status).toBe(409);
  expect(again.body).toMatchObject({ type: 'urn:herald:problem:message-ended' });
  expect((await api.call('POST', `/v1/messages/${uniqueId('nope')}/cancel`)).status).toBe(404);
});

test('the API key is required, by name, on every non-public endpoint', async () => {
  const none = await api.call('GET', '/v1/dead-letters', { headers: { authorization: null } });
  expect(none.status).toBe(401);
  expect(none.body).toMatchObject({ type: 'urn:herald:problem:unauthorized' });
  const unknown = await api.call('GET', '/v1/dead-letters', {
    headers: { authorization: 'Bearer not-a-key-at-all-xx' },
  });
  expect(unknown.status).toBe(401);
  expect((await api.call('GET', '/v1/dead-letters', { headers: { authorization: `Bearer ${API_KEY}` } })).status).toBe(
    200,
  );
  // Every route but health, metrics (a scraper's, with HERALD_METRICS_TOKEN: test/observability) and
  // documentation, whatever it does, refuses a request without a key.
  const guarded = api.app.registeredRoutes.filter(
    (r) => !r.hidden && !['/healthz', '/readyz', '/metrics'].includes(r.url) && r.method !== 'HEAD',
  );
  expect(guarded.length).toBeGreaterThanOrEqual(13);
  for (const route of guarded) {
    const response = await api.call(route.method, route.url.replace(/:id/, 'msg_any'), {
      headers: { authorization: null },
    });
    expect({ route: `${route.method} ${route.url}`, status: response.status }).toEqual({
      route: `${route.method} ${route.url}`,
      status: 401,
    });
  }
  expect((await api.call('GET', '/healthz', { headers: { authorization: null } })).status).toBe(200);
  expect((await api.call('GET', '/openapi.json', { headers: { authorization: null } })).status).toBe(200);
});
