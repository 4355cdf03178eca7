/**
 * The delivery activity's own guard, for messages that started before the workflow refused such input
 * (the `herald-wire-rules-v1` patch): transport headers are still dropped, and a header or URL that could
 * not go on the wire as given fails permanently at once instead of being retried as a network error.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDeliveryActivities, type DeliveryReceipt } from '../../src/activities/delivery';
import { createTokenCache } from '../../src/activities/token-provider';
import { INVALID_DESTINATION_ERROR } from '../../src/contract/error-types';
import type { Message } from '../../src/contract/message';
import { parseAllowlist } from '../../src/destinations/destination-policy';
import { createLogger } from '../../src/observability/logger';
import type { DeliveryPlan } from '../../src/retry/delivery-plan';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { createWorkerMetrics } from '../../src/observability/worker-metrics';

let downstream: Downstream;
beforeAll(async () => {
  downstream = await startDownstream();
});
afterAll(async () => {
  await downstream?.close();
});

const plan: DeliveryPlan = {
  retry: {
    initialIntervalMs: 50,
    backoffCoefficient: 2,
    maximumIntervalMs: 1000,
    maximumAttempts: 3,
    jitter: 0,
    attemptTimeoutMs: 2000,
    deadlineMs: 30_000,
  },
  replyTimeoutMs: null,
  maxRetryAfterMs: 60_000,
  deadLetterRetentionMs: 60_000,
  responseExcerptBytes: 16,
};

const { deliver } = createDeliveryActivities({
  tokens: createTokenCache({}),
  destinationPolicy: parseAllowlist(['127.0.0.1']),
  logger: createLogger('silent'),
  reportAttempt: async () => undefined,
  metrics: createWorkerMetrics({ maxDestinations: 10 }),
});

const run = (message: Message): Promise<DeliveryReceipt> =>
  // The SDK logs every failed attempt; these failures are the point, so only errors are shown.
  new MockActivityEnvironment(
    { scheduledTimestampMs: Date.now(), scheduleToCloseTimeoutMs: 60_000, startToCloseTimeoutMs: 60_000 },
    { logger: new DefaultLogger('ERROR') },
  ).run(deliver, { message, round: 1, plan });

test('transport headers of an older message are dropped, the rest sent', async () => {
  const receipt = await run({
    id: 'msg_legacy_headers',
    destination: {
      url: downstream.url('/legacy-headers'),
      headers: {
        Host: 'internal.example',
        'Transfer-Encoding': 'chunked',
        'Proxy-Authorization': 'x',
        'X-Kept': 'yes',
      },
    },
    body: { ok: 1 },
  });
  expect(receipt.attempt.outcome).toBe('delivered');
  const [request] = downstream.requests('/legacy-headers');
  expect(request?.headers.host).toBe(`127.0.0.1:${downstream.port}`);
  expect(request?.headers['transfer-encoding']).toBeUndefined();
  expect(request?.headers['proxy-authorization']).toBeUndefined();
  expect(request?.headers['x-kept']).toBe('yes');
  expect(request?.body).toBe('{"ok":1}');
});

async function permanentFailure(message: Message): Promise<{ type?: string; nonRetryable?: boolean; message: string }> {
  const failure = await run(message).then(
    () => undefined,
    (thrown: unknown) => thrown as { type?: string; nonRetryable?: boolean; message: string },
  );
  if (!failure) throw new Error('expected the attempt to fail');
  return failure;
}

test('a header value with CR LF fails permanently at once, sending nothing', async () => {
  const failure = await permanentFailure({
    id: 'msg_legacy_crlf',
    destination: { url: downstream.url('/legacy-crlf'), headers: { 'X-Split': 'a\r\nX-Injected: 1' } },
    body: {},
  });
  expect(failure).toMatchObject({ type: INVALID_DESTINATION_ERROR, nonRetryable: true });
  expect(failure.message).toContain('destination header X-Split contains U+000D (CR) at position 1');
  expect(downstream.requests('/legacy-crlf')).toHaveLength(0);
});

test('a URL with a newline fails permanently instead of being called without it', async () => {
  const failure = await permanentFailure({
    id: 'msg_legacy_url',
    destination: { url: `${downstream.url('/legacy-url')}\n` },
    body: {},
  });
  expect(failure).toMatchObject({ type: INVALID_DESTINATION_ERROR, nonRetryable: true });
  expect(failure.message).toContain('destination URL contains U+000A (LF)');
  expect(downstream.requests('/legacy-url')).toHaveLength(0);
});
