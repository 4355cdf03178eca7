/**
 * POST /v1/messages/{id}/reply under the conditions repliers meet: a resend after a timeout, a message
 * that cannot settle in time, Temporal answering a transient refusal, ids that look alike; and the
 * sender checks of cancel and subscribe, which must not read a message's (possibly huge) history.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { problemFromError } from '../../src/api/error-mapping';
import { ProblemError } from '../../src/api/problem';
import { verifyReplySignature } from '../../src/api/reply-signature';
import { DELIVER_MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import { MESSAGE_ID_PATTERN } from '../../src/contract/message';
import type { MessageStatus } from '../../src/contract/message-status';
import { messageInput } from '../../src/temporal/message-operations';
import { OTHER_API_KEY, REPLY_SECRET, signedReply, type TestApi } from '../helpers/api';
import type { Downstream } from '../helpers/downstream';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId, type TestHerald } from '../helpers/herald';

type Status = MessageStatus & { source: string };

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, api, downstream } = await startFixture({ api: true }));
});

/** A message (sent through the API, so with a sender) that is awaiting its reply. */
async function awaitingMessage(id = uniqueId('reply'), body: unknown = { n: 1 }): Promise<string> {
  downstream.script(`/${id}`, [{ status: 200 }]);
  const sent = await api.call('POST', '/v1/messages', {
    json: { id, destination: { url: downstream.url(`/${id}`) }, body, reply: { timeout: '1m' } },
  });
  expect(sent.status).toBe(202);
  await herald.waitForState(id, 'awaiting_reply');
  return id;
}

describe('an identical resend', () => {
  test('answers 200 with the status; a different reply to the replied message is a 409', async () => {
    const id = await awaitingMessage();
    const reply = signedReply(`${id}#r1`, { body: { ok: true }, status: 200 });
    const first = await api.call<Status>('POST', `/v1/messages/${id}/reply`, reply);
    expect(first.status).toBe(200);
    expect(first.body.state).toBe('replied');
    expect(first.body.reply).toMatchObject({ body: { ok: true }, webhookId: `${id}#r1`, via: 'update' });
    expect(first.body.reply?.bodyHash).toMatch(/^[0-9a-f]{64}$/);

    // The replier's first POST "timed out": it sends the very same request again.
    const again = await api.call<Status>('POST', `/v1/messages/${id}/reply`, reply);
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('replied');
    expect(again.body.reply).toEqual(first.body.reply);

    const sameIdOtherBody = signedReply(`${id}#r1`, { body: { ok: false } });
    const otherIdSameBody = signedReply(`${id}#r2`, { body: { ok: true }, status: 200 });
    for (const other of [sameIdOtherBody, otherIdSameBody]) {
      const refused = await api.call<{ type: string }>('POST', `/v1/messages/${id}/reply`, other);
      expect(refused.status).toBe(409);
      expect(refused.body.type).toBe('urn:herald:problem:reply-not-accepted');
    }
    const final = await herald.status(id);
    expect(final.reply).toEqual(first.body.reply);
    expect(final.ignored).toEqual([]);
  });
});

describe('transient Temporal failures', () => {
  const grpc = (code: number, details: string) => Object.assign(new Error(details), { code, details, metadata: {} });

  test.each([
    ['FAILED_PRECONDITION: workflow task failed', grpc(9, 'Workflow Task in failed state')],
    ['FAILED_PRECONDITION: workflow is busy', grpc(9, 'Workflow is busy')],
    ['RESOURCE_EXHAUSTED', grpc(8, 'grpc: received message larger than max')],
    ['DEADLINE_EXCEEDED', grpc(4, 'deadline exceeded')],
  ])('%s is a 503 temporal-unavailable with Retry-After, not a 500', (_name, error) => {
    const problem = problemFromError(error);
    expect(problem.status).toBe(503);
    expect(problem.kind).toBe('temporal-unavailable');
    expect(problem.headers()['retry-after']).toMatch(/^[1-9]\d*$/);
  });

  test('a problem that does not pass carries no Retry-After', () => {
    expect(problemFromError(new Error('boom')).headers()).toEqual({});
    expect(new ProblemError('conflict').headers()).toEqual({});
  });
});

describe('the webhook-id binds a reply to one message', () => {
  const body = JSON.stringify({ body: 1 });
  const headersFor = (webhookId: string): IncomingHttpHeaders => signedReply(webhookId, { body: 1 }).headers;
  const verify = (messageId: string, webhookId: string) =>
    verifyReplySignature({ '*': [REPLY_SECRET] }, messageId, 'example.com', body, headersFor(webhookId));

  test('the message id, or the id and "#" and a suffix, are accepted', () => {
    expect(verify('a', 'a')).toBe('a');
    expect(verify('a', 'a#2')).toBe('a#2');
    expect(verify('a:2', 'a:2#retry')).toBe('a:2#retry');
  });

  test('a reply signed for one message cannot be taken by another whose id extends it', () => {
    // Before, `a:2` was both "message a, reply 2" and "message a:2": now only the latter.
    expect(() => verify('a', 'a:2')).toThrow('webhook-id must be the message id (a), optionally followed by "#"');
    expect(() => verify('a:2', 'a#2')).toThrow(ProblemError);
    expect(() => verify('a', 'ab')).toThrow(ProblemError);
  });

  test('no message id can contain the separator', () => {
    expect(new RegExp(MESSAGE_ID_PATTERN).test('a#2')).toBe(false);
    expect(new RegExp(MESSAGE_ID_PATTERN).test('a:2')).toBe(true);
  });
});

describe('the sender check of cancel and subscribe', () => {
  test('reads the memo, never the history, even of a large message; another key still gets 403', async () => {
    // Half a megabyte of body: the start event and the activity input each carry it.
    const id = await awaitingMessage(uniqueId('big'), { blob: 'x'.repeat(512 * 1024) });
    const service = herald.client.workflowService;
    const history = jest.spyOn(service, 'getWorkflowExecutionHistory');
    try {
      const foreignCancel = await api.call('POST', `/v1/messages/${id}/cancel`, {
        headers: { authorization: `Bearer ${OTHER_API_KEY}` },
      });
      expect(foreignCancel.status).toBe(403);
      const foreignSubscribe = await api.call('POST', `/v1/messages/${id}/subscriptions`, {
        json: { url: downstream.url('/cb') },
        headers: { authorization: `Bearer ${OTHER_API_KEY}` },
      });
      expect(foreignSubscribe.status).toBe(403);
      const ownCancel = await api.call('POST', `/v1/messages/${id}/cancel`);
      expect(ownCancel.status).toBe(202);
      expect(history).not.toHaveBeenCalled();

      // The spy sees history reads: the way the sender used to be found is one.
      await messageInput(herald.client, id);
      expect(history).toHaveBeenCalled();
    } finally {
      history.mockRestore();
    }
    await herald.waitForState(id, 'cancelled');
  });

  test('a message with no sender in its memo (started outside the API, or before) is open to every key', async () => {
    const id = uniqueId('no-memo');
    downstream.script(`/${id}`, [{ status: 200 }]);
    await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
      workflowId: id,
      taskQueue: herald.taskQueue,
      args: [
        { id, sender: 'tests', destination: { url: downstream.url(`/${id}`) }, body: 1, reply: { timeout: '1m' } },
      ],
    });
    await herald.waitForState(id, 'awaiting_reply');
    const cancel = await api.call('POST', `/v1/messages/${id}/cancel`, {
      headers: { authorization: `Bearer ${OTHER_API_KEY}` },
    });
    expect(cancel.status).toBe(202);
    await herald.waitForState(id, 'cancelled');
  });
});

describe('with no worker to take the update', () => {
  let fixture: HeraldFixture;

  beforeAll(async () => {
    // Worker processes only, so one can be stopped; a short wait so the bound shows.
    fixture = await startFixture({ worker: false, api: true, env: { HERALD_REPLY_WAIT: '1s' } });
  });

  afterAll(() => fixture.close());

  test('a reply answers 202 at the bound, goes by signal, and the message takes it once a worker is back', async () => {
    const { api: noWorkerApi, herald: h, downstream: d } = fixture;
    const worker = await fixture.startWorkerProcess();
    const id = uniqueId('held');
    d.script(`/${id}`, [{ status: 200 }]);
    const sent = await noWorkerApi.call('POST', '/v1/messages', {
      json: { id, destination: { url: d.url(`/${id}`) }, body: 1, reply: { timeout: '2m' } },
    });
    expect(sent.status).toBe(202);
    await h.waitForState(id, 'awaiting_reply', 30_000);
    worker.child.kill('SIGTERM');
    await worker.exited;

    const reply = signedReply(`${id}#late`, { body: { held: true } });
    const started = Date.now();
    const held = await noWorkerApi.call<Status>('POST', `/v1/messages/${id}/reply`, reply);
    const took = Date.now() - started;
    expect(held.status).toBe(202);
    expect(held.headers.location).toBe(`/v1/messages/${id}`);
    expect(held.body.id).toBe(id);
    expect(held.body.state).toBe('awaiting_reply');
    // The bound (1s), then the signal and the status so far (a query nobody answers gives up in a few seconds).
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(15_000);

    await fixture.startWorkerProcess();
    const replied = await h.waitForState(id, 'replied', 60_000);
    // Update and signal both reached the workflow: it took the reply once, and ignored nothing.
    expect(replied.reply).toMatchObject({ body: { held: true }, webhookId: `${id}#late` });
    expect(replied.ignored).toEqual([]);
    const resent = await noWorkerApi.call<Status>('POST', `/v1/messages/${id}/reply`, reply);
    expect(resent.status).toBe(200);
    expect(resent.body.state).toBe('replied');
  }, 150_000);
});
