/**
 * Large bodies by reference, against the real dev server and real HTTP servers: a 50 MiB body sent as
 * a multipart upload is taken with the process's memory growing by far less than the body, delivered
 * byte for byte from the blob store, and its history holds no payload over 16 KiB; JSON bodies above
 * the threshold go by reference too; refused sends leave no blob; the blob sweeper deletes what no
 * message needs; a large reply reaches the sender's callback as a pointer that works once authorised.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { Webhook } from 'standardwebhooks';
import type { BlobStore } from '../../src/blobs/blob-store';
import { openFileBlobStore } from '../../src/blobs/file-blob-store';
import { sweepBlobs } from '../../src/runtime/blob-sweeper';
import { blobRef } from '../../src/blobs/body-intake';
import { MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import type { Message } from '../../src/contract/message';
import { OTHER_API_KEY, signedReply } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { CALLBACK_SECRET, uniqueId } from '../helpers/herald';
import { generatedBody, sendMultipart, startHashingDestination } from '../helpers/upload';

const MiB = 2 ** 20;

let fixture: HeraldFixture;
let downstream: Awaited<ReturnType<typeof startHashingDestination>>;
let blobs: BlobStore;

beforeAll(async () => {
  fixture = await startFixture({ api: true, env: { HERALD_MAX_BODY_BYTES: '60MiB' } });
  downstream = await startHashingDestination();
  const store = fixture.config().blobs.store;
  if (store.kind !== 'file') throw new Error('the test fixture keeps blobs in a directory');
  blobs = openFileBlobStore(store.directory);
}, 60_000);

afterAll(async () => {
  await downstream?.close();
  await fixture?.close();
});

const FAR_FUTURE = '2999-01-01T00:00:00.000Z';
const storedBlobs = async () => (await blobs.listCreatedBefore(FAR_FUTURE, 1000)).blobs;

/** The size of every payload in a message's history (workflow input, activity inputs, results, signals …). */
async function payloadSizes(id: string): Promise<number[]> {
  const history = await fixture.herald.client.workflow.getHandle(id).fetchHistory();
  const sizes: number[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const record = value as Record<string, unknown>;
    if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
      sizes.push(record.data.length);
      return;
    }
    for (const child of Object.values(record)) visit(child);
  };
  visit(history.events);
  return sizes;
}

/** The resident memory of process `pid` now (VmRSS), in bytes. */
function rssOf(pid: number): number {
  const line = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!line) throw new Error(`no VmRSS for process ${pid}`);
  return Number(line[1]) * 1024;
}

/** Peak RSS of process `pid` while `run` runs, sampled every 20 ms, above what it was at the start. */
async function rssGrowthDuring<T>(pid: number, run: () => Promise<T>): Promise<{ result: T; growthBytes: number }> {
  const before = rssOf(pid);
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  try {
    const result = await run();
    peak = Math.max(peak, rssOf(pid));
    return { result, growthBytes: peak - before };
  } finally {
    clearInterval(sampler);
  }
}

describe('a 50 MiB body, sent as a multipart upload', () => {
  const size = 50 * MiB;
  const body = generatedBody(size, 50);
  let id: string;

  test('is accepted, the API process growing by far less than the body, and delivered byte for byte', async () => {
    // An API process of its own, so its memory is the API's alone (the worker delivers in this one).
    const api = await fixture.startApiProcess({ HERALD_MAX_BODY_BYTES: '60MiB' });
    // Warm up the path (the first upload loads the multipart parser, opens files, fills pools).
    const warm = await sendMultipart(
      api.url,
      { destination: { url: downstream.url } },
      generatedBody(2 * MiB, 2).stream(),
    );
    expect(warm.status).toBe(202);
    await fixture.herald.waitForState(String(warm.body.id), 'delivered', 30_000);

    // The first large upload a process takes grows it to where its garbage collector keeps up (measured:
    // about 35 MiB, the same for 50 or 150 MiB); after that a body costs it next to nothing more.
    const first = await rssGrowthDuring(api.child.pid!, async () => {
      const answer = await sendMultipart(
        api.url,
        { destination: { url: downstream.url } },
        generatedBody(size, 51).stream(),
      );
      await fixture.herald.waitForState(String(answer.body.id), 'delivered', 60_000);
    });
    expect(first.growthBytes).toBeLessThan(45 * MiB);

    id = uniqueId('large');
    const { result: sent, growthBytes } = await rssGrowthDuring(api.child.pid!, async () => {
      const answer = await sendMultipart(api.url, { id, destination: { url: downstream.url } }, body.stream(), {
        contentType: 'application/x-herald-test',
      });
      await fixture.herald.waitForState(id, 'delivered', 60_000);
      return answer;
    });
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ id, state: 'accepted', existing: false });
    const mib = (bytes: number) => (bytes / MiB).toFixed(1);
    console.log(
      `50 MiB uploads: the API process's RSS grew by ${mib(first.growthBytes)}, then ${mib(growthBytes)} MiB`,
    );
    expect(growthBytes).toBeLessThan(10 * MiB); // a fifth of the body: it is never held whole
    expect(downstream.received.get(id)).toEqual({
      size,
      sha256: body.sha256,
      contentType: 'application/x-herald-test',
      length: String(size),
    });
  }, 120_000);

  test('its history holds the reference, never a payload over 16 KiB', async () => {
    const sizes = await payloadSizes(id);
    expect(sizes.length).toBeGreaterThan(3);
    expect(Math.max(...sizes)).toBeLessThan(16 * 1024);
    const input = (await fixture.herald.client.workflow.getHandle(id).fetchHistory()).events?.[0]
      ?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
    const message = JSON.parse(Buffer.from(input!.data!).toString('utf8')) as Message;
    expect(message.bodyRef).toMatchObject({ size, sha256: body.sha256, contentType: 'application/x-herald-test' });
    expect(message.body).toBeUndefined();
    expect(message.bodyBase64).toBeUndefined();
  });
});

describe('bodies above and below the threshold', () => {
  test('a JSON body above HERALD_INLINE_BODY_BYTES goes by reference; a resend keeps one blob', async () => {
    const id = uniqueId('json-large');
    const message = { id, destination: { url: downstream.url }, body: { text: 'x'.repeat(300 * 1024) } };
    const first = await fixture.api.call('POST', '/v1/messages', { json: message });
    expect(first.status).toBe(202);
    await fixture.herald.waitForState(id, 'delivered');
    const again = await fixture.api.call('POST', '/v1/messages', { json: message });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, existing: true });
    const bytes = Buffer.from(JSON.stringify(message.body));
    expect(downstream.received.get(id)).toMatchObject({
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      contentType: 'application/json',
    });
    expect((await storedBlobs()).filter((blob) => blob.messageId === id)).toHaveLength(1);
    expect(Math.max(...(await payloadSizes(id)))).toBeLessThan(16 * 1024);
  });

  test('a small multipart body rides inline (no blob), with the part’s content type; the envelope may be text', async () => {
    const id = uniqueId('small-upload');
    const sent = await sendMultipart(
      fixture.api.url,
      { id, destination: { url: downstream.url } },
      generatedBody(10_000, 3).stream(),
      { contentType: 'text/plain', envelopeAsText: true },
    );
    expect(sent.status).toBe(202);
    await fixture.herald.waitForState(id, 'delivered');
    expect(downstream.received.get(id)).toMatchObject({
      size: 10_000,
      sha256: generatedBody(10_000, 3).sha256,
      contentType: 'text/plain',
    });
    expect((await storedBlobs()).some((blob) => blob.messageId === id)).toBe(false);
  });
});

describe('a reference handed in by another client', () => {
  test('cannot send another message’s body: the delivery refuses it as body_missing, sending nothing', async () => {
    const owner = uniqueId('owner');
    const message = { id: owner, destination: { url: downstream.url }, body: { text: 'y'.repeat(200 * 1024) } };
    expect((await fixture.api.call('POST', '/v1/messages', { json: message })).status).toBe(202);
    await fixture.herald.waitForState(owner, 'delivered');
    const [blob] = (await storedBlobs()).filter((stored) => stored.messageId === owner);
    const thief = uniqueId('thief');
    await fixture.herald.client.workflow.start(MESSAGE_WORKFLOW, {
      workflowId: thief,
      taskQueue: fixture.herald.taskQueue,
      args: [{ id: thief, destination: { url: downstream.url }, bodyRef: blobRef(blob!) }],
    });
    const status = await fixture.herald.waitForState(thief, 'dead_lettered');
    expect(status.attempts.map((attempt) => attempt.cause)).toEqual(['body_missing']);
    expect(downstream.received.has(thief)).toBe(false);
  });
});

describe('refused sends leave no blob', () => {
  test('a destination that is not allowed, a body over HERALD_MAX_BODY_BYTES, a malformed upload', async () => {
    const before = (await storedBlobs()).length;
    const refused = await sendMultipart(
      fixture.api.url,
      { id: uniqueId('refused'), destination: { url: 'http://10.1.2.3/hook' } },
      generatedBody(2 * MiB, 4).stream(),
    );
    expect(refused.status).toBe(422);
    expect(refused.body.type).toBe('urn:herald:problem:destination-not-allowed');

    const tooLarge = await sendMultipart(
      fixture.api.url,
      { id: uniqueId('too-large'), destination: { url: downstream.url } },
      generatedBody(61 * MiB, 5).stream(),
    );
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.type).toBe('urn:herald:problem:payload-too-large');

    const bodyTwice = await sendMultipart(
      fixture.api.url,
      { id: uniqueId('twice'), destination: { url: downstream.url }, body: { inline: true } },
      generatedBody(1 * MiB, 6).stream(),
    );
    expect(bodyTwice.status).toBe(400);
    expect(bodyTwice.body.errors).toEqual([{ field: '/body', message: expect.stringContaining('"body" file') }]);

    const extra = await sendMultipart(
      fixture.api.url,
      { id: uniqueId('extra'), destination: { url: downstream.url } },
      generatedBody(1 * MiB, 7).stream(),
      { extraPart: true },
    );
    expect(extra.status).toBeGreaterThanOrEqual(400);
    expect(extra.status).toBeLessThan(500);
    expect((await storedBlobs()).length).toBe(before);
  }, 60_000);

  test('an upload that does not parse is a 400, never a 500', async () => {
    const envelope = JSON.stringify({ destination: { url: downstream.url } });
    const cutShort =
      `--b\r\nContent-Disposition: form-data; name="message"\r\n\r\n${envelope}\r\n` +
      `--b\r\nContent-Disposition: form-data; name="body"; filename="x"\r\n\r\nthe body breaks off here`;
    for (const [contentType, body] of [
      ['multipart/form-data; boundary=b', cutShort],
      ['multipart/form-data', cutShort],
      ['multipart/form-data; boundary=b', 'not multipart at all'],
    ] as const) {
      const before = (await storedBlobs()).length;
      const response = await request(`${fixture.api.url}/v1/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${OTHER_API_KEY}`, 'content-type': contentType },
        body,
      });
      const problem = (await response.body.json()) as { status: number; type: string };
      expect([contentType, response.statusCode]).toEqual([contentType, problem.status]);
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect((await storedBlobs()).length).toBe(before);
    }
  });

  test('multipart goes to the send route only', async () => {
    const response = await request(`${fixture.api.url}/v1/dead-letters/redrive`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OTHER_API_KEY}`, 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--\r\n',
    });
    expect(response.statusCode).toBe(415);
    await response.body.dump();
  });
});

describe('the blob sweeper', () => {
  test('keeps the blobs of running messages and dead letters, deletes those of ended and cancelled ones', async () => {
    // A message that is held (its destination never answers in time) and then cancelled.
    const cancelled = uniqueId('cancelled');
    fixture.downstream.script('/slow', [{ delayMs: 30_000 }]);
    const sent = await sendMultipart(
      fixture.api.url,
      { id: cancelled, destination: { url: fixture.downstream.url('/slow') } },
      generatedBody(1 * MiB, 8).stream(),
    );
    expect(sent.status).toBe(202);
    const sweep = (now: number) =>
      sweepBlobs({
        blobs,
        client: fixture.herald.client,
        store: fixture.herald.store,
        retentionMs: 60_000,
        orphanGraceMs: 60_000,
        now: () => now,
      });
    const mine = async (id: string) => (await storedBlobs()).filter((blob) => blob.messageId === id);
    expect(await mine(cancelled)).toHaveLength(1);
    await sweep(Date.now() + 10 * 60_000);
    expect(await mine(cancelled)).toHaveLength(1); // running: kept however old

    const cancel = await fixture.api.call('POST', `/v1/messages/${cancelled}/cancel`, { json: {} });
    expect(cancel.status).toBeLessThan(300);
    await fixture.herald.waitForState(cancelled, 'cancelled');
    await eventually(
      async () => (await fixture.herald.client.workflow.getHandle(cancelled).describe()).status.name !== 'RUNNING',
      { what: 'the cancelled run to close' },
    );
    await sweep(Date.now());
    expect(await mine(cancelled)).toHaveLength(1); // ended just now: within retention
    const swept = await sweep(Date.now() + 2 * 60_000);
    expect(swept.deleted).toBeGreaterThanOrEqual(1);
    expect(await mine(cancelled)).toHaveLength(0);

    // A reply blob whose message ended long ago, while a callback of it waits as a dead letter: kept
    // (a redrive of the callback hands out a pointer to it), then deleted once the callback is discarded.
    const owing = uniqueId('owes-callback');
    const replyBlob = await blobs.put(generatedBody(1000, 10).stream(), {
      messageId: owing,
      kind: 'reply',
      contentType: 'application/json',
      maxBytes: 10_000,
    });
    const callbackId = `${owing}.callback-1`;
    await fixture.herald.store.put({
      id: callbackId,
      kind: 'callback',
      callback: { messageId: owing, url: 'http://127.0.0.1:9/cb', sender: null, payload: {} },
      message: { id: owing, destination: { url: 'http://127.0.0.1:9/hook' } },
      reason: 'callback_failed',
      lastError: { type: 'RetryableDeliveryError', message: 'callback receiver answered HTTP 503' },
      attempts: [],
      round: 1,
      destination: '127.0.0.1:9',
      messageCreatedAt: new Date().toISOString(),
      deadLetteredAt: new Date().toISOString(),
    });
    await sweep(Date.now() + 2 * 60_000);
    expect(await blobs.get(replyBlob.id)).toBeDefined();
    await fixture.herald.store.markDiscarded(callbackId, new Date().toISOString());
    await sweep(Date.now() + 2 * 60_000);
    expect(await blobs.get(replyBlob.id)).toBeUndefined();

    // An orphan: a blob whose message never started (the API died between the upload and the start).
    const orphan = await blobs.put(generatedBody(1000, 9).stream(), {
      messageId: uniqueId('never-started'),
      kind: 'body',
      contentType: 'application/octet-stream',
      maxBytes: 10_000,
    });
    await sweep(Date.now());
    expect(await blobs.get(orphan.id)).toBeDefined(); // within the grace: its start may be on the way
    await sweep(Date.now() + 2 * 60_000);
    expect(await blobs.get(orphan.id)).toBeUndefined();
  }, 60_000);
});

describe('a large reply', () => {
  test('reaches the sender’s callback as a pointer that works, and is refused without authority', async () => {
    const callbacks: { body: string; headers: Record<string, string> }[] = [];
    fixture.downstream.handle('/callback', (received) => {
      callbacks.push({ body: received.body, headers: received.headers as Record<string, string> });
      return { status: 200 };
    });
    const id = uniqueId('large-reply');
    const sent = await fixture.api.call('POST', '/v1/messages', {
      json: {
        id,
        destination: { url: fixture.downstream.url('/hook') },
        body: { question: 'a big answer, please' },
        reply: { timeout: '1m' },
        callback: { url: fixture.downstream.url('/callback') },
      },
    });
    expect(sent.status).toBe(202);
    await fixture.herald.waitForState(id, 'awaiting_reply');
    const answer = { rows: Array.from({ length: 4000 }, (_, i) => ({ i, text: `row ${i} `.repeat(10) })) };
    const signed = signedReply(id, { body: answer, status: 200 });
    const replied = await fixture.api.call('POST', `/v1/messages/${id}/reply`, {
      raw: signed.raw,
      headers: signed.headers,
    });
    expect(replied.status).toBe(200);
    const status = replied.body as { state: string; reply: { body?: unknown; bodyRef?: { id: string; size: number } } };
    expect(status.state).toBe('replied');
    expect(status.reply.body).toBeUndefined();
    expect(status.reply.bodyRef?.size).toBe(Buffer.byteLength(JSON.stringify(answer)));
    expect(Math.max(...(await payloadSizes(id)))).toBeLessThan(16 * 1024);

    await eventually(() => callbacks.length > 0, { what: 'the callback' });
    const callback = callbacks[0]!;
    // Signed as every callback is; the pointer is inside what is signed.
    new Webhook(CALLBACK_SECRET).verify(callback.body, callback.headers);
    const payload = JSON.parse(callback.body) as { data: { reply: { bodyUrl: string; body?: unknown } } };
    expect(payload.data.reply.body).toBeUndefined();
    const pointer = new URL(payload.data.reply.bodyUrl);
    expect(pointer.origin).toBe(fixture.api.config.api.publicUrl);
    expect(pointer.pathname).toBe(`/v1/messages/${id}/reply/body`);

    // The pointer opens it, with no API key.
    const opened = await request(`${fixture.api.url}${pointer.pathname}${pointer.search}`);
    expect(opened.statusCode).toBe(200);
    expect(opened.headers['content-type']).toContain('application/json');
    expect(await opened.body.json()).toEqual(answer);
    // So does an API key, with no pointer.
    const keyed = await fixture.api.call('GET', `/v1/messages/${id}/reply/body`);
    expect(keyed.status).toBe(200);
    expect(keyed.body).toEqual(answer);

    // Refused: no key and no pointer, a tampered signature, another message's id, an expired pointer.
    // And a message that does not exist answers the same 401: a pointer's check asks Temporal nothing.
    const blob = pointer.searchParams.get('blob');
    const refusals = [
      `/v1/messages/${id}/reply/body`,
      `/v1/messages/${id}/reply/body?blob=${blob}&expires=${pointer.searchParams.get('expires')}&sig=${'A'.repeat(43)}`,
      `/v1/messages/${id}/reply/body?blob=${blob}&expires=1000&sig=${pointer.searchParams.get('sig')}`,
      `/v1/messages/no-such-message/reply/body${pointer.search}`,
    ];
    for (const path of refusals) {
      const refused = await request(`${fixture.api.url}${path}`);
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['content-type']).toContain('application/problem+json');
      await refused.body.dump();
    }
    const other = uniqueId('other');
    await fixture.api.call('POST', '/v1/messages', {
      json: { id: other, destination: { url: fixture.downstream.url('/hook') } },
    });
    const elsewhere = await request(`${fixture.api.url}/v1/messages/${other}/reply/body${pointer.search}`);
    expect(elsewhere.statusCode).toBe(401);
    await elsewhere.body.dump();
  }, 60_000);
});
