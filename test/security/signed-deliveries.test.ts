/**
 * Signed deliveries and secret rotation, end to end: a real worker signs each delivery with the
 * destination's HERALD_DELIVERY_SECRETS (Standard Webhooks), a destination verifies it with the
 * `standardwebhooks` package and with Python's independent implementation (over the exact bytes, a
 * binary and a streamed blob body included), and every secret kind (delivery, callback, reply) rotates
 * without a gap: add the new one, both verify; remove the old one, it is refused.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { signedReply, type TestApi } from '../helpers/api';
import type { Downstream, ReceivedRequest } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { verifyWithPython } from '../helpers/python-webhooks';
import { generatedBody, sendMultipart } from '../helpers/upload';

const secret = (label: string) => `whsec_${Buffer.from(label.padEnd(32, '.')).toString('base64')}`;
const DELIVERY_SECRET = secret('delivery-secret');
const OLD = secret('old-secret');
const NEW = secret('new-secret');

/** Whether the `standardwebhooks` package verifies a JSON request with `key`. */
function verifiesWith(key: string, request: ReceivedRequest): boolean {
  try {
    new Webhook(key).verify(request.body, signed(request.headers));
    return true;
  } catch {
    return false;
  }
}

function signed(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => [name, String(headers[name])]),
  );
}

describe('every delivery is signed with its destination’s secret', () => {
  let fixture: HeraldFixture;
  let herald: TestHerald;
  let api: TestApi;
  let downstream: Downstream;

  beforeAll(async () => {
    // By host (127.0.0.1, every test destination), so the entry for a host is what picks the secret.
    fixture = await startFixture({
      api: true,
      env: { HERALD_DELIVERY_SECRETS: JSON.stringify({ '127.0.0.1': DELIVERY_SECRET, '*': secret('any-other') }) },
    });
    ({ herald, api, downstream } = fixture);
  });
  afterAll(() => fixture.close());

  test('a JSON body verifies with the standardwebhooks package and with Python’s; webhook-id is stable', async () => {
    const id = uniqueId('signed');
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: downstream.url(`/${id}`) }, body: { order: 42, note: 'ünïcode' } },
    });
    expect(sent.status).toBe(202);
    await herald.waitForState(id, 'delivered');
    const [request] = downstream.requests(`/${id}`);
    expect(request!.headers['webhook-id']).toBe(`${id}.delivery`);
    expect(request!.headers['idempotency-key']).toBe(id);
    expect(Math.abs(Number(request!.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(30);
    expect(new Webhook(DELIVERY_SECRET).verify(request!.body, signed(request!.headers))).toEqual({
      order: 42,
      note: 'ünïcode',
    });
    expect(await verifyWithPython(DELIVERY_SECRET, request!.headers, request!.rawBody)).toBe('verified');
    expect(verifiesWith(secret('any-other'), request!)).toBe(false);
  });

  test('a binary body verifies over its exact bytes (Python’s implementation)', async () => {
    const id = uniqueId('signed-bin');
    const bytes = randomBytes(4096);
    const sent = await api.call('POST', '/v1/messages', {
      json: {
        id,
        destination: { url: downstream.url(`/${id}`) },
        bodyBase64: bytes.toString('base64'),
        contentType: 'application/octet-stream',
      },
    });
    expect(sent.status).toBe(202);
    await herald.waitForState(id, 'delivered');
    const [request] = downstream.requests(`/${id}`);
    expect(request!.rawBody.equals(bytes)).toBe(true);
    expect(await verifyWithPython(DELIVERY_SECRET, request!.headers, request!.rawBody)).toBe('verified');
    expect(await verifyWithPython(secret('any-other'), request!.headers, request!.rawBody)).toMatch(/^refused/);
  });

  test('a body streamed from the blob store is signed over the bytes streamed', async () => {
    const id = uniqueId('signed-blob');
    const body = generatedBody(600 * 1024, 7);
    const sent = await sendMultipart(api.url, { id, destination: { url: downstream.url(`/${id}`) } }, body.stream());
    expect(sent.status).toBe(202);
    await herald.waitForState(id, 'delivered', 60_000);
    const [request] = downstream.requests(`/${id}`);
    expect(request!.rawBody.length).toBe(600 * 1024);
    expect(await verifyWithPython(DELIVERY_SECRET, request!.headers, request!.rawBody)).toBe('verified');
  });

  test('each attempt is signed afresh (new timestamp) under the same webhook-id', async () => {
    const id = uniqueId('signed-retry');
    downstream.script(`/${id}`, [{ status: 503, headers: { 'retry-after': '2' } }, { status: 200 }]);
    const sent = await api.call('POST', '/v1/messages', {
      json: { id, destination: { url: downstream.url(`/${id}`) }, body: { n: 1 } },
    });
    expect(sent.status).toBe(202);
    await herald.waitForState(id, 'delivered', 30_000);
    const [first, second] = downstream.requests(`/${id}`);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first!.headers['webhook-timestamp']));
    expect(second!.headers['webhook-signature']).not.toBe(first!.headers['webhook-signature']);
    expect(verifiesWith(DELIVERY_SECRET, first!)).toBe(true);
    expect(verifiesWith(DELIVERY_SECRET, second!)).toBe(true);
  });
});

describe('rotation without a gap: delivery, callback and reply secrets', () => {
  let fixture: HeraldFixture;
  let downstream: Downstream;

  beforeAll(async () => {
    // The worker and the API restart with each step's secrets, as an operator rolls a fleet.
    fixture = await startFixture({ api: true, worker: false });
    ({ downstream } = fixture);
  });
  afterAll(() => fixture.close());

  /** Runs one step of a rotation with `secrets` configured for all three kinds. */
  async function step(secrets: string[]) {
    const configured = JSON.stringify({ '*': secrets });
    const worker = await fixture.startWorkerProcess({
      HERALD_DELIVERY_SECRETS: configured,
      HERALD_CALLBACK_SECRETS: configured,
    });
    const api = await fixture.startApi({ HERALD_REPLY_SECRETS: configured });
    try {
      const results: Record<string, unknown> = {};
      // One message replied with the old secret, one with the new one.
      for (const [label, replySecret] of [
        ['old', OLD],
        ['new', NEW],
      ] as const) {
        const id = uniqueId(`rotate-${label}`);
        const sent = await api.call('POST', '/v1/messages', {
          json: {
            id,
            destination: { url: downstream.url(`/${id}`) },
            body: { label },
            reply: { timeout: '1m' },
            callback: { url: downstream.url(`/${id}-cb`) },
          },
        });
        expect(sent.status).toBe(202);
        await eventually(() => downstream.requests(`/${id}`).length > 0, { what: 'the delivery', timeoutMs: 30_000 });
        await fixture.herald.waitForState(id, 'awaiting_reply');
        const [delivery] = downstream.requests(`/${id}`);
        const replied = await api.call('POST', `/v1/messages/${id}/reply`, signedReply(id, { body: 1 }, replySecret));
        results[label] = {
          delivery: { old: verifiesWith(OLD, delivery!), new: verifiesWith(NEW, delivery!) },
          reply: replied.status,
        };
        if (replied.status === 200) {
          await eventually(() => downstream.requests(`/${id}-cb`).length > 0, {
            what: 'the callback',
            timeoutMs: 30_000,
          });
          const [callback] = downstream.requests(`/${id}-cb`);
          results[label] = {
            ...(results[label] as object),
            callback: { old: verifiesWith(OLD, callback!), new: verifiesWith(NEW, callback!) },
          };
        } else {
          await api.call('POST', `/v1/messages/${id}/cancel`, { json: {} });
        }
      }
      return results;
    } finally {
      await api.close();
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
  }

  test('old only; old and new (both verify, both accepted); new only (the old is refused)', async () => {
    const both = { old: true, new: true };
    expect(await step([OLD])).toEqual({
      old: { delivery: { old: true, new: false }, reply: 200, callback: { old: true, new: false } },
      new: { delivery: { old: true, new: false }, reply: 401 },
    });
    expect(await step([NEW, OLD])).toEqual({
      old: { delivery: both, reply: 200, callback: both },
      new: { delivery: both, reply: 200, callback: both },
    });
    expect(await step([NEW])).toEqual({
      old: { delivery: { old: false, new: true }, reply: 401 },
      new: { delivery: { old: false, new: true }, reply: 200, callback: { old: false, new: true } },
    });
  }, 240_000);
});
