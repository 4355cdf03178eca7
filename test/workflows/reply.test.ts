/** The reply wait: by signal or by validating update, refusals, ignored signals, and the reply timeout. */
import { cancelMessage, submitReply } from '../../src/temporal/message-operations';
import { replySignal } from '../../src/contract/definitions';
import { ReplyNotAcceptedError } from '../../src/temporal/operation-errors';
import type { Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture());
});

async function sendExpectingReply(timeout = '30s', path = '/ask'): Promise<string> {
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url(path) },
    body: { question: 'ping?' },
    reply: { timeout },
  });
  return id;
}

/** The reason a reply was refused (the client's typed error). */
async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReplyNotAcceptedError);
  return (error as ReplyNotAcceptedError).reason;
}

test('a reply signal completes the message as replied', async () => {
  const id = await sendExpectingReply();
  await herald.waitForState(id, 'awaiting_reply');
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: { answer: 'pong' }, status: 200 });
  const status = await herald.waitForState(id, 'replied');
  expect(status.reply).toMatchObject({ body: { answer: 'pong' }, status: 200, via: 'signal' });
  expect((await herald.client.workflow.getHandle(id).result()).state).toBe('replied');
  await recordHistory(herald.client, id, 'reply-by-signal');
});

test('a reply update is validated and answered with the replied status', async () => {
  const id = await sendExpectingReply();
  await herald.waitForState(id, 'awaiting_reply');
  const status = await submitReply(herald.client, id, { body: 'pong', headers: { 'x-trace': 'abc' } });
  expect(status.state).toBe('replied');
  expect(status.reply).toMatchObject({ body: 'pong', headers: { 'x-trace': 'abc' }, via: 'update' });
  await recordHistory(herald.client, id, 'reply-by-update');
});

test('a malformed reply update is refused and the message keeps waiting', async () => {
  const id = await sendExpectingReply();
  await herald.waitForState(id, 'awaiting_reply');
  expect(await refusal(submitReply(herald.client, id, { body: 1, status: 42 }))).toBe(
    'reply status must be an integer from 100 to 599',
  );
  expect((await herald.status(id)).state).toBe('awaiting_reply');
  await cancelMessage(herald.client, id);
  await herald.waitForState(id, 'cancelled');
});

test('a second reply is refused by update and recorded as ignored by signal, never merged', async () => {
  const id = await sendExpectingReply();
  await herald.waitForState(id, 'awaiting_reply');
  const handle = herald.client.workflow.getHandle(id);
  // Both arrive before the workflow acts on either: the first is taken, the second must not replace it.
  await handle.signal(replySignal, { body: 'first' });
  await handle.signal(replySignal, { body: 'second' });
  const status = await herald.waitForState(id, 'replied');
  expect(status.reply?.body).toBe('first');
  // Which reason depends on whether the second signal came before or after the first was recorded.
  expect(status.ignored).toEqual([
    expect.objectContaining({
      kind: 'reply',
      reason: expect.stringMatching(/^(a reply was already received|the message has ended \(replied\))$/),
    }),
  ]);
});

test('a second reply update after the first is refused with a clear error', async () => {
  const id = await sendExpectingReply();
  await herald.waitForState(id, 'awaiting_reply');
  await submitReply(herald.client, id, { body: 'first' });
  expect(await refusal(submitReply(herald.client, id, { body: 'second' }))).toBe('the message has ended (replied)');
  expect((await herald.status(id)).reply?.body).toBe('first');
});

test('a reply to a message that expects none is refused', async () => {
  downstream.script('/no-reply-expected', [{ status: 503 }]);
  const id = uniqueId('msg');
  await herald.send({
    id,
    destination: { url: downstream.url('/no-reply-expected') },
    body: {},
    retry: { initialInterval: '10s', maximumInterval: '10s', maximumAttempts: 5 },
  });
  await herald.waitFor(id, (s) => s.attempts.length === 1);
  expect(await refusal(submitReply(herald.client, id, { body: 'unexpected' }))).toBe(
    'this message does not expect a reply',
  );
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: 'unexpected' });
  const status = await herald.waitFor(id, (s) => s.ignored.length === 1);
  expect(status.ignored[0]).toMatchObject({ kind: 'reply', reason: 'this message does not expect a reply' });
  expect(status.reply).toBeNull();
  await cancelMessage(herald.client, id);
  await herald.waitForState(id, 'cancelled');
});

test('a reply to a message that has ended is refused', async () => {
  const id = await sendExpectingReply('1s');
  await herald.waitForState(id, 'dead_lettered');
  expect(await refusal(submitReply(herald.client, id, { body: 'too late' }))).toBe(
    'the message has ended (dead_lettered)',
  );
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: 'too late' });
  const status = await herald.waitFor(id, (s) => s.ignored.length === 1);
  expect(status.ignored[0]?.reason).toBe('the message has ended (dead_lettered)');
  expect(status.reply).toBeNull();
});

test('no reply within the timeout dead-letters the message', async () => {
  const id = await sendExpectingReply('1500ms');
  const waiting = await herald.waitForState(id, 'awaiting_reply');
  const status = await herald.waitForState(id, 'dead_lettered');
  expect(Date.parse(status.deadLetter!.at) - Date.parse(waiting.updatedAt)).toBeGreaterThanOrEqual(1400);
  expect(status.deadLetter?.reason).toBe('reply_timeout');
  expect(status.lastError?.type).toBe('ReplyTimeoutError');
  expect(status.attempts).toEqual([expect.objectContaining({ outcome: 'delivered' })]);
  expect(await herald.store.get(id)).toMatchObject({ reason: 'reply_timeout', state: 'dead_lettered' });
  await recordHistory(herald.client, id, 'reply-timeout-dead-lettered');
});

test('a reply that arrives while delivery is still retrying proves delivery and stops the retries', async () => {
  downstream.script('/replies-early', [{ status: 503 }]);
  const id = await sendExpectingReply('30s', '/replies-early');
  // The retry is 50ms away in test config; make the wait long enough to be sure we are in between.
  await herald.waitFor(id, (s) => s.attempts.length >= 1 && s.state === 'delivering');
  await herald.client.workflow.getHandle(id).signal(replySignal, { body: 'got it' });
  const status = await herald.waitForState(id, 'replied');
  expect(status.reply?.body).toBe('got it');
  // The retries stopped: no further attempt reaches the destination.
  const seen = downstream.requests('/replies-early').length;
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(downstream.requests('/replies-early')).toHaveLength(seen);
});
