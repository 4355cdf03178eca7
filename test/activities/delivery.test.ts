/**
 * The deliver activity on its own, in @temporalio/testing's MockActivityEnvironment: built by its
 * factory with real dependencies (token cache, destination policy, undici) against a real HTTP server
 * on 127.0.0.1, and a recording `reportAttempt`. Failures are asserted down to the ApplicationFailure's
 * type, nonRetryable flag, nextRetryDelay and the attempt record in details[0].
 */
import { ActivityCancellationDetails, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger } from '@temporalio/worker';
import {
  createDeliveryActivities,
  type DeliverInput,
  type DeliveryDependencies,
  type DeliveryReceipt,
  WORKER_SHUTDOWN_RETRY_DELAY_MS,
} from '../../src/activities/delivery';
import { DestinationControl } from '../../src/activities/destination-control';
import { createTokenCache } from '../../src/activities/token-provider';
import { openSqliteDestinationStore } from '../../src/store/sqlite-destination-store';
import {
  INVALID_DESTINATION_ERROR,
  PERMANENT_DELIVERY_ERROR,
  RETRYABLE_DELIVERY_ERROR,
} from '../../src/contract/error-types';
import type { Message } from '../../src/contract/message';
import type { AttemptRecord } from '../../src/contract/message-status';
import { parseAllowlist } from '../../src/destinations/destination-policy';
import { createLogger } from '../../src/observability/logger';
import type { DeliveryPlan } from '../../src/retry/delivery-plan';
import { closedPort, startDownstream, type Downstream } from '../helpers/downstream';
import { createWorkerMetrics } from '../../src/observability/worker-metrics';

const PLAN: DeliveryPlan = {
  retry: {
    initialIntervalMs: 100,
    backoffCoefficient: 2,
    maximumIntervalMs: 10_000,
    maximumAttempts: 5,
    jitter: 0,
    attemptTimeoutMs: 10_000,
    deadlineMs: 60_000,
  },
  replyTimeoutMs: null,
  maxRetryAfterMs: 30_000,
  deadLetterRetentionMs: 60_000,
  responseExcerptBytes: 64,
};

let downstream: Downstream;
beforeAll(async () => {
  downstream = await startDownstream();
});
afterAll(() => downstream.close());

interface Harness {
  env: MockActivityEnvironment;
  /** Runs the deliver activity in the mock context. */
  run: (input: DeliverInput) => Promise<DeliveryReceipt>;
  /** Every reportAttempt call, in order. */
  reported: { messageId: string; attempt: AttemptRecord }[];
}

/** The activity from its factory, in a mock activity context whose attempt and deadline a test chooses. */
function harness(
  options: {
    attempt?: number;
    deadlineMs?: number;
    startToCloseMs?: number;
    deps?: Partial<DeliveryDependencies>;
  } = {},
): Harness {
  const reported: Harness['reported'] = [];
  const env = new MockActivityEnvironment(
    {
      attempt: options.attempt ?? 1,
      scheduledTimestampMs: Date.now(),
      scheduleToCloseTimeoutMs: options.deadlineMs ?? 60_000,
      ...(options.startToCloseMs !== undefined ? { startToCloseTimeoutMs: options.startToCloseMs } : {}),
    },
    // The SDK logs every failed activity at WARN; the failures here are the point of the tests.
    { logger: new DefaultLogger('ERROR') },
  );
  const { deliver } = createDeliveryActivities({
    tokens: createTokenCache({}),
    destinationPolicy: parseAllowlist(['127.0.0.1']),
    logger: createLogger('silent'),
    reportAttempt: async (messageId, attempt) => {
      reported.push({ messageId, attempt });
    },
    metrics: createWorkerMetrics({ maxDestinations: 10 }),
    ...options.deps,
  });
  const run = (activityInput: DeliverInput) =>
    env.run<[DeliverInput], DeliveryReceipt, typeof deliver>(deliver, activityInput);
  return { env, run, reported };
}

let counter = 0;
function message(path: string, extra: Partial<Message> = {}): Message {
  counter += 1;
  return { id: `msg_delivery_${counter}`, destination: { url: downstream.url(path) }, body: { n: counter }, ...extra };
}

function input(msg: Message, plan: DeliveryPlan = PLAN, round = 1): DeliverInput {
  return { message: msg, round, plan };
}

/** The ApplicationFailure an activity run rejected with (fails the test if it resolved or threw anything else). */
async function failureOf(run: Promise<unknown>): Promise<ApplicationFailure & { details: [AttemptRecord] }> {
  const error = await run.then(
    (value) => {
      throw new Error(`expected the activity to fail, it returned ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.details).toHaveLength(1);
  return failure as ApplicationFailure & { details: [AttemptRecord] };
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

describe('delivered', () => {
  it('returns a receipt with the attempt record, sends the id as idempotency key and drops transport headers', async () => {
    downstream.script('/ok', [{ status: 201, body: 'created' }]);
    const { run, reported } = harness({ attempt: 3 });
    const msg = message('/ok', {
      destination: {
        url: downstream.url('/ok'),
        method: 'PUT',
        headers: { 'X-Tenant': 'acme', Host: 'evil.example', 'Transfer-Encoding': 'chunked' },
      },
    });

    const receipt = await run(input(msg, PLAN, 2));

    expect(receipt).toEqual({
      attempt: {
        round: 2,
        attempt: 3,
        outcome: 'delivered',
        status: 201,
        responseExcerpt: 'created',
        durationMs: expect.any(Number),
        nextDelayMs: null,
        startedAt: expect.stringMatching(ISO),
        finishedAt: expect.stringMatching(ISO),
      },
    });
    expect(receipt.attempt).not.toHaveProperty('errorType');
    expect(receipt.attempt).not.toHaveProperty('cause');
    // Delivered attempts travel with the result; only failed ones are signalled.
    expect(reported).toEqual([]);
    const [request] = downstream.requests('/ok').slice(-1);
    expect(request).toMatchObject({ method: 'PUT', body: JSON.stringify(msg.body) });
    expect(request?.headers).toMatchObject({
      'idempotency-key': msg.id,
      'webhook-id': `${msg.id}.delivery`,
      'content-type': 'application/json',
      'x-tenant': 'acme',
      host: `127.0.0.1:${downstream.port}`,
    });
    expect(request?.headers['transfer-encoding']).toBeUndefined();
  });

  it('sends bodyBase64 as bytes with its content type', async () => {
    downstream.script('/bytes', [{ status: 200 }]);
    const { run } = harness();
    const msg = message('/bytes', {
      body: undefined,
      bodyBase64: Buffer.from('raw bytes').toString('base64'),
      contentType: 'text/plain',
    });
    await run(input(msg));
    expect(downstream.requests('/bytes').slice(-1)[0]).toMatchObject({
      body: 'raw bytes',
      headers: expect.objectContaining({ 'content-type': 'text/plain' }),
    });
  });
});

describe('retryable', () => {
  it('a 503 with Retry-After: RetryableDeliveryError whose nextRetryDelay is the Retry-After, reported at once', async () => {
    downstream.script('/busy', [{ status: 503, headers: { 'retry-after': '7' }, body: 'try later' }]);
    const { run, reported } = harness({ attempt: 2 });
    const msg = message('/busy');

    const failure = await failureOf(run(input(msg)));

    expect(failure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(failure.nonRetryable).toBe(false);
    expect(failure.nextRetryDelay).toBe(7_000);
    expect(failure.message).toBe('destination answered HTTP 503');
    expect(failure.details[0]).toEqual({
      round: 1,
      attempt: 2,
      outcome: 'retryable',
      status: 503,
      cause: 'http_503',
      errorType: RETRYABLE_DELIVERY_ERROR,
      responseExcerpt: 'try later',
      durationMs: expect.any(Number),
      nextDelayMs: 7_000,
      startedAt: expect.stringMatching(ISO),
      finishedAt: expect.stringMatching(ISO),
    });
    expect(reported).toEqual([{ messageId: msg.id, attempt: failure.details[0] }]);
  });

  it('a Retry-After beyond the cap is capped; without one the delay is the backoff for this attempt', async () => {
    downstream.script('/limited', [{ status: 429, headers: { 'retry-after': '3600' } }]);
    const capped = harness();
    const cappedFailure = await failureOf(capped.run(input(message('/limited'), { ...PLAN, maxRetryAfterMs: 5_000 })));
    expect(cappedFailure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(cappedFailure.nextRetryDelay).toBe(5_000);
    expect(cappedFailure.details[0]).toMatchObject({ cause: 'http_429', nextDelayMs: 5_000 });

    downstream.script('/down', [{ status: 502 }]);
    const backoff = harness({ attempt: 3 });
    const backoffFailure = await failureOf(backoff.run(input(message('/down'))));
    expect(backoffFailure.nextRetryDelay).toBe(400); // 100ms × 2^(3−1), no jitter
    expect(backoffFailure.details[0]).toMatchObject({ cause: 'http_502', nextDelayMs: 400 });
  });

  it('the last attempt, or one whose delay passes the deadline, records no next delay', async () => {
    downstream.script('/still-down', [{ status: 500 }]);
    const last = harness({ attempt: PLAN.retry.maximumAttempts });
    const lastFailure = await failureOf(last.run(input(message('/still-down'))));
    expect(lastFailure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(lastFailure.details[0]).toMatchObject({ attempt: 5, nextDelayMs: null });

    downstream.script('/later', [{ status: 503, headers: { 'retry-after': '20' } }]);
    const nearDeadline = harness({ deadlineMs: 10_000 });
    const deadlineFailure = await failureOf(nearDeadline.run(input(message('/later'))));
    expect(deadlineFailure.details[0]).toMatchObject({ attempt: 1, nextDelayMs: null });
  });

  it('a refused connection is retryable (connection_refused)', async () => {
    const port = await closedPort();
    const { run } = harness();
    const msg = message('/', { destination: { url: `http://127.0.0.1:${port}/hook` } });
    const failure = await failureOf(run(input(msg)));
    expect(failure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(failure.details[0]).toMatchObject({ outcome: 'retryable', cause: 'connection_refused', nextDelayMs: 100 });
    expect(failure.details[0].status).toBeUndefined();
    expect(failure.details[0].error).toContain('ECONNREFUSED');
  });

  it('a failing reportAttempt does not change the failure', async () => {
    downstream.script('/flaky', [{ status: 503 }]);
    const { run } = harness({
      deps: {
        reportAttempt: () => Promise.reject(new Error('workflow not found')),
      },
    });
    const failure = await failureOf(run(input(message('/flaky'))));
    expect(failure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(failure.details[0]).toMatchObject({ cause: 'http_503' });
  });
});

describe('permanent', () => {
  it('a 4xx other than 408/409/425/429: PermanentDeliveryError, non-retryable, reported', async () => {
    downstream.script('/missing', [{ status: 404, body: 'no such hook' }]);
    const { run, reported } = harness();
    const msg = message('/missing');

    const failure = await failureOf(run(input(msg)));

    expect(failure.type).toBe(PERMANENT_DELIVERY_ERROR);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.message).toBe('destination answered HTTP 404');
    expect(failure.details[0]).toEqual({
      round: 1,
      attempt: 1,
      outcome: 'permanent',
      status: 404,
      cause: 'http_404',
      errorType: PERMANENT_DELIVERY_ERROR,
      responseExcerpt: 'no such hook',
      durationMs: expect.any(Number),
      nextDelayMs: null,
      startedAt: expect.stringMatching(ISO),
      finishedAt: expect.stringMatching(ISO),
    });
    expect(reported).toEqual([{ messageId: msg.id, attempt: failure.details[0] }]);
  });

  it('a redirect is permanent and is not followed', async () => {
    downstream.script('/moved', [{ status: 302, headers: { location: downstream.url('/elsewhere') } }]);
    const { run } = harness();
    const failure = await failureOf(run(input(message('/moved'))));
    expect(failure.type).toBe(PERMANENT_DELIVERY_ERROR);
    expect(failure.details[0]).toMatchObject({ status: 302, cause: 'http_302' });
    expect(downstream.requests('/elsewhere')).toEqual([]);
  });
});

describe('invalid destination', () => {
  it.each([
    ['not a URL', 'not-a-url', 'invalid_destination', 'is not a URL'],
    ['whitespace in the URL', 'not a url', 'invalid_destination', 'may not hold control characters or whitespace'],
    ['another scheme', 'ftp://127.0.0.1/file', 'invalid_destination', 'scheme ftp: is not http or https'],
    [
      'credentials in the URL',
      'http://user:secret@127.0.0.1/hook',
      'invalid_destination',
      'must not contain credentials',
    ],
    ['a private IP literal', 'http://10.1.2.3/hook', 'destination_blocked', 'private, loopback or reserved'],
  ])('%s: InvalidDestinationError, non-retryable, and no request is sent', async (_name, url, cause, error) => {
    const before = downstream.requests().length;
    const { run, reported } = harness();
    const msg = message('/', { destination: { url } });

    const failure = await failureOf(run(input(msg)));

    expect(failure.type).toBe(INVALID_DESTINATION_ERROR);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain(error);
    expect(failure.details[0]).toMatchObject({
      outcome: 'permanent',
      cause,
      errorType: INVALID_DESTINATION_ERROR,
      error: expect.stringContaining(error),
      nextDelayMs: null,
    });
    expect(failure.details[0].status).toBeUndefined();
    expect(reported).toEqual([{ messageId: msg.id, attempt: failure.details[0] }]);
    expect(downstream.requests()).toHaveLength(before);
  });

  it('loopback is refused when the policy does not allow it', async () => {
    const { run } = harness({ deps: { destinationPolicy: parseAllowlist([]) } });
    const failure = await failureOf(run(input(message('/ok'))));
    expect(failure.type).toBe(INVALID_DESTINATION_ERROR);
    expect(failure.details[0]).toMatchObject({ cause: 'destination_blocked' });
  });
});

describe('attempt timeout and cancellation', () => {
  it('no answer within the attempt timeout: RetryableDeliveryError (timeout), before the server answers', async () => {
    // The server would answer 200 after 10 s; the timeout cause (not a receipt) shows the attempt gave up first.
    downstream.script('/slow', [{ status: 200, delayMs: 10_000 }]);
    const { run } = harness();
    const started = Date.now();
    const failure = await failureOf(
      run(input(message('/slow'), { ...PLAN, retry: { ...PLAN.retry, attemptTimeoutMs: 500 } })),
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(failure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(failure.details[0]).toMatchObject({ outcome: 'retryable', cause: 'timeout', nextDelayMs: 100 });
    expect(failure.details[0].status).toBeUndefined();
    // 500ms less the reporting margin (10%), so the activity times out before Temporal's startToClose.
    expect(failure.details[0].durationMs).toBeGreaterThanOrEqual(440);
    expect(failure.details[0].durationMs).toBeLessThan(10_000);
  });

  it('an attempt that waited for its rate-limit slot gives the request only what is left of its start-to-close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-slot-wait-'));
    const store = openSqliteDestinationStore(join(dir, 'destinations.sqlite'));
    try {
      const host = new URL(downstream.url('/')).host;
      await store.update(host, { mode: 'replace', settings: { rateLimit: 2 }, actor: 'tests', at: new Date() });
      const control = new DestinationControl({ store, logger: createLogger('silent'), refreshMs: 60_000 });
      downstream.script('/slot-wait', [{ status: 200 }, { status: 200, delayMs: 5_000 }]);
      const plan = { ...PLAN, retry: { ...PLAN.retry, attemptTimeoutMs: 1_000 } };
      // The first takes the slot now; the second's is about 525 ms later, waited for in the activity.
      await harness({ startToCloseMs: 1_000, deps: { control } }).run(input(message('/slot-wait'), plan));
      const started = Date.now();
      const failure = await failureOf(
        harness({ startToCloseMs: 1_000, deps: { control } }).run(input(message('/slot-wait'), plan)),
      );
      // It reported its own timeout before Temporal's start-to-close (1 s) would have cut it unreported.
      expect(failure.details[0]).toMatchObject({ outcome: 'retryable', cause: 'timeout' });
      // (Without the wait deducted: about 525 ms of wait and 900 ms of request.)
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(failure.details[0].durationMs).toBeLessThan(1_000);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** Runs an attempt to a hanging destination and cancels it once the request is on the wire. */
  async function cancelInFlight(reason?: 'WORKER_SHUTDOWN', details?: ActivityCancellationDetails) {
    downstream.script('/hang', [{ status: 200, delayMs: 5_000 }]);
    const { env, run, reported } = harness();
    const msg = message('/hang');
    const started = Date.now();
    const running = run(input(msg));
    // Cancel once the request is on the wire, so the abort has a connection to close.
    while (downstream.requests('/hang').every((request) => request.body !== JSON.stringify(msg.body))) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    env.cancel(reason, details);
    const error = await running.then(
      () => {
        throw new Error('expected the cancelled activity to fail');
      },
      (failure: unknown) => failure,
    );
    return { error, reported, elapsedMs: Date.now() - started };
  }

  it('a cancelled message: the request is aborted at once, the attempt recorded as cancelled, the activity ends cancelled', async () => {
    const { error, reported, elapsedMs } = await cancelInFlight();
    expect(elapsedMs).toBeLessThan(3_000);
    // A CancelledFailure, so the SDK completes the activity as cancelled (not as a failed, retried attempt).
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.attempt).toMatchObject({
      outcome: 'retryable',
      cause: 'cancelled',
      errorType: 'CancelledFailure',
      nextDelayMs: null,
    });
    expect(reported[0]!.attempt.status).toBeUndefined();
  });

  it('a worker shutdown: the attempt is recorded as worker_shutdown and retried at once, not as a network error', async () => {
    const { error, reported, elapsedMs } = await cancelInFlight(
      'WORKER_SHUTDOWN',
      new ActivityCancellationDetails({ workerShutdown: true }),
    );
    expect(elapsedMs).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure & { details: [AttemptRecord] };
    expect(failure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(failure.nextRetryDelay).toBe(WORKER_SHUTDOWN_RETRY_DELAY_MS);
    expect(failure.details[0]).toMatchObject({
      outcome: 'retryable',
      cause: 'worker_shutdown',
      errorType: 'RetryableDeliveryError',
      nextDelayMs: WORKER_SHUTDOWN_RETRY_DELAY_MS,
    });
    expect(reported.map((r) => r.attempt)).toEqual([failure.details[0]]);
  });
});

describe('token refresh', () => {
  /** A token endpoint on the downstream that hands out tok-1, tok-2, … */
  function tokenEndpoint(path: string): { issued: () => number } {
    let issued = 0;
    downstream.handle(path, () => {
      issued += 1;
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: `tok-${issued}`, expires_in: 3600 }),
      };
    });
    return { issued: () => issued };
  }

  function tokens(tokenPath: string) {
    return createTokenCache({
      [`127.0.0.1:${downstream.port}`]: {
        tokenUrl: downstream.url(tokenPath),
        clientId: 'herald',
        clientSecret: 's3cret',
      },
    });
  }

  it('a 401 drops the cached token, fetches a new one and sends again within the same attempt', async () => {
    const endpoint = tokenEndpoint('/token-refresh');
    downstream.handle('/protected', (request) =>
      request.headers.authorization === 'Bearer tok-2' ? { status: 200, body: 'welcome' } : { status: 401 },
    );
    const { run, reported } = harness({ deps: { tokens: tokens('/token-refresh') } });

    const receipt = await run(input(message('/protected')));

    expect(receipt.attempt).toMatchObject({
      attempt: 1,
      outcome: 'delivered',
      status: 200,
      responseExcerpt: 'welcome',
    });
    expect(endpoint.issued()).toBe(2);
    expect(downstream.requests('/protected').map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
    expect(downstream.requests('/token-refresh')[0]?.body).toBe('grant_type=client_credentials');
    expect(reported).toEqual([]);
  });

  it('a 401 to the fresh token too is permanent (http_401)', async () => {
    tokenEndpoint('/token-refused');
    downstream.script('/always-401', [{ status: 401, body: 'nope' }]);
    const { run } = harness({ deps: { tokens: tokens('/token-refused') } });
    const failure = await failureOf(run(input(message('/always-401'))));
    expect(failure.type).toBe(PERMANENT_DELIVERY_ERROR);
    expect(failure.details[0]).toMatchObject({ status: 401, cause: 'http_401' });
    expect(downstream.requests('/always-401')).toHaveLength(2);
  });

  it('a token endpoint that refuses the credentials is permanent; one that is down is retryable', async () => {
    downstream.script('/token-bad-credentials', [{ status: 401 }]);
    const refused = harness({ deps: { tokens: tokens('/token-bad-credentials') } });
    const refusedFailure = await failureOf(refused.run(input(message('/never-called'))));
    expect(refusedFailure.type).toBe(PERMANENT_DELIVERY_ERROR);
    expect(refusedFailure.details[0]).toMatchObject({ cause: 'token_rejected', error: 'token endpoint answered 401' });

    downstream.script('/token-down', [{ status: 503 }]);
    const down = harness({ deps: { tokens: tokens('/token-down') } });
    const downFailure = await failureOf(down.run(input(message('/never-called'))));
    expect(downFailure.type).toBe(RETRYABLE_DELIVERY_ERROR);
    expect(downFailure.details[0]).toMatchObject({ cause: 'token_unavailable', error: 'token endpoint answered 503' });
    expect(downstream.requests('/never-called')).toEqual([]);
  });
});

describe('response excerpt', () => {
  it('keeps at most responseExcerptBytes of the body, on success and on failure', async () => {
    const big = 'abcdefghij'.repeat(100_000); // 1 MB, so the rest must be dropped, not read
    downstream.script('/big', [{ status: 200, body: big }]);
    downstream.script('/big-error', [{ status: 500, body: big }]);
    const { run } = harness();

    const receipt = await run(input(message('/big'), { ...PLAN, responseExcerptBytes: 16 }));
    expect(receipt.attempt.responseExcerpt).toBe('abcdefghijabcdef');

    const failure = await failureOf(run(input(message('/big-error'), { ...PLAN, responseExcerptBytes: 5 })));
    expect(failure.details[0].responseExcerpt).toBe('abcde');
  });

  it('keeps nothing when responseExcerptBytes is 0', async () => {
    downstream.script('/quiet', [{ status: 200, body: 'something' }]);
    const { run } = harness();
    const receipt = await run(input(message('/quiet'), { ...PLAN, responseExcerptBytes: 0 }));
    expect(receipt.attempt.responseExcerpt).toBe('');
    // The unread body is dropped; an unhandled error from that would crash the process a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
  });
});
