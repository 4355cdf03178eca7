/**
 * Every row of the classification table, against a real HTTP server on 127.0.0.1 and the real dev server:
 * retryable transport failures and statuses, token refresh on 401, permanent errors, and delivery.
 */
import { DELIVER_MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import type { MessageStatus } from '../../src/contract/message-status';
import { closedPort, startDownstream, type Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { recordHistory } from '../helpers/histories';

let herald: TestHerald;
let downstream: Downstream;

beforeAll(async () => {
  ({ herald, downstream } = await startFixture({ env: { HERALD_RESPONSE_EXCERPT_BYTES: '16' } }));
});

async function deliverTo(url: string, retry: Record<string, unknown> = {}): Promise<string> {
  const id = uniqueId('msg');
  await herald.send({ id, destination: { url }, body: { hello: 'world' }, retry });
  return id;
}

const settled = (status: MessageStatus) => status.state === 'delivered' || status.state === 'dead_lettered';

describe('retryable statuses are retried, then delivered', () => {
  test.each([500, 502, 503, 504, 408, 409, 425, 429])('HTTP %i', async (code) => {
    const path = `/retryable-${code}`;
    downstream.script(path, [{ status: code }, { status: 200 }]);
    const id = await deliverTo(downstream.url(path));
    const status = await herald.waitFor(id, settled);
    expect(status.state).toBe('delivered');
    expect(status.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'retryable',
        status: code,
        cause: `http_${code}`,
        errorType: 'RetryableDeliveryError',
        nextDelayMs: 50,
      }),
      expect.objectContaining({ attempt: 2, outcome: 'delivered', status: 200 }),
    ]);
    expect(downstream.requests(path)).toHaveLength(2);
    if (code === 503) await recordHistory(herald.client, id, 'retried-then-delivered');
  });
});

describe('transport failures are retryable', () => {
  async function expectRetriedCause(id: string, cause: string, attempts = 3) {
    const status = await herald.waitForState(id, 'dead_lettered');
    expect(status.deadLetter?.reason).toBe('max_attempts_exhausted');
    expect(status.attempts).toHaveLength(attempts);
    for (const attempt of status.attempts) {
      expect(attempt).toMatchObject({ outcome: 'retryable', cause, errorType: 'RetryableDeliveryError' });
    }
    expect(status.attempts[attempts - 1]?.nextDelayMs).toBeNull();
    expect(status.lastError?.type).toBe('RetryableDeliveryError');
    return status;
  }

  test('connection refused', async () => {
    const id = await deliverTo(`http://127.0.0.1:${await closedPort()}/hook`);
    await expectRetriedCause(id, 'connection_refused');
  });

  test('connection reset', async () => {
    downstream.script('/reset', [{ reset: true }]);
    const id = await deliverTo(downstream.url('/reset'));
    await expectRetriedCause(id, 'connection_reset');
    expect(downstream.requests('/reset')).toHaveLength(3);
  });

  test('DNS failure', async () => {
    // A DNS label longer than 63 characters fails inside the system resolver (ENOTFOUND) without any
    // query leaving the machine: a real resolution failure that needs no network.
    const host = `${'a'.repeat(70)}.example`;
    const id = await deliverTo(`http://${host}/hook`);
    await expectRetriedCause(id, 'dns_failure');
  });

  test('TLS failure', async () => {
    // https:// to a plain-HTTP server: the TLS handshake fails.
    const id = await deliverTo(`https://127.0.0.1:${downstream.port}/tls`);
    await expectRetriedCause(id, 'tls_failure');
  });

  test('no response within the attempt timeout', async () => {
    downstream.script('/slow', [{ delayMs: 5_000 }]);
    const id = await deliverTo(downstream.url('/slow'), { attemptTimeout: '1s', maximumAttempts: 2 });
    const status = await expectRetriedCause(id, 'timeout', 2);
    for (const attempt of status.attempts) expect(attempt.durationMs).toBeLessThan(1_000);
  });
});

describe('permanent failures are not retried', () => {
  test.each([400, 401, 403, 404, 410, 422, 301])('HTTP %i', async (code) => {
    const path = `/permanent-${code}`;
    downstream.script(path, [{ status: code, headers: code === 301 ? { location: '/elsewhere' } : {} }]);
    const id = await deliverTo(downstream.url(path));
    const status = await herald.waitForState(id, 'dead_lettered');
    expect(status.deadLetter?.reason).toBe('permanent_error');
    expect(status.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: 'permanent',
        status: code,
        errorType: 'PermanentDeliveryError',
        nextDelayMs: null,
      }),
    ]);
    expect(status.lastError).toEqual({ type: 'PermanentDeliveryError', message: `destination answered HTTP ${code}` });
    expect(downstream.requests(path)).toHaveLength(1);
    const record = await herald.store.get(id);
    expect(record).toMatchObject({ id, reason: 'permanent_error', round: 1, state: 'dead_lettered' });
    if (code === 404) await recordHistory(herald.client, id, 'permanent-error-dead-lettered');
  });

  test.each([['a scheme other than http/https', 'ftp://127.0.0.1/file']])('%s', async (_label, url) => {
    const id = await deliverTo(url);
    const status = await herald.waitForState(id, 'dead_lettered');
    expect(status.deadLetter?.reason).toBe('permanent_error');
    expect(status.attempts).toEqual([
      expect.objectContaining({ attempt: 1, outcome: 'permanent', cause: 'invalid_destination' }),
    ]);
    expect(status.lastError?.type).toBe('InvalidDestinationError');
  });
});

test('headers the transport owns, or a URL that is not a URL, reject the message; credentials in the URL are refused', async () => {
  // Started through Temporal directly: startMessage (and the API) refuse such input before it gets here.
  const start = async (destination: Record<string, unknown>) => {
    const id = uniqueId('msg');
    const handle = await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
      workflowId: id,
      taskQueue: herald.taskQueue,
      args: [{ id, destination, body: { ok: 1 } }],
    });
    return (await handle.result()) as MessageStatus;
  };
  const owned = await start({
    url: downstream.url('/own-headers'),
    headers: { Host: 'internal.example', 'Transfer-Encoding': 'chunked', 'X-Kept': 'yes' },
  });
  expect(owned.state).toBe('rejected');
  expect(owned.rejection?.errors.map((e) => e.field)).toEqual([
    '/destination/headers/Host',
    '/destination/headers/Transfer-Encoding',
  ]);
  expect(downstream.requests('/own-headers')).toHaveLength(0);
  const notAUrl = await start({ url: 'not a url' });
  expect(notAUrl.state).toBe('rejected');
  expect(notAUrl.attempts).toEqual([]);
  expect(notAUrl.rejection?.errors.map((e) => e.field)).toEqual(['/destination/url']);

  // Through the workflow directly (the API refuses such a URL before it gets here).
  const withCredentials = uniqueId('msg');
  await herald.send({
    id: withCredentials,
    destination: { url: `http://user:pw@127.0.0.1:${downstream.port}/creds` },
    body: {},
  });
  const status = await herald.waitForState(withCredentials, 'dead_lettered');
  expect(status.attempts[0]).toMatchObject({
    cause: 'invalid_destination',
    error: 'destination URL must not contain credentials',
  });
  expect(downstream.requests('/creds')).toHaveLength(0);
});

describe('2xx is delivered', () => {
  test.each([200, 201, 202, 204])(
    'HTTP %i, with status, duration, bounded excerpt and attempt number',
    async (code) => {
      const path = `/ok-${code}`;
      downstream.script(path, [{ status: code, body: code === 204 ? '' : 'x'.repeat(100) }]);
      const id = await deliverTo(downstream.url(path));
      const status = await herald.waitFor(id, settled);
      expect(status.state).toBe('delivered');
      const [attempt] = status.attempts;
      expect(attempt).toMatchObject({ attempt: 1, outcome: 'delivered', status: code, nextDelayMs: null });
      expect(attempt?.durationMs).toBeGreaterThanOrEqual(0);
      expect(attempt?.responseExcerpt).toBe(code === 204 ? '' : 'x'.repeat(16));
    },
  );
});

describe('401 from a destination with an OAuth2 token provider', () => {
  let oauth: HeraldFixture;
  let oauthHerald: TestHerald;
  let api: Downstream;
  const issued: string[] = [];

  beforeAll(async () => {
    api = await startDownstream();
    api.handle('/token', (request) => {
      issued.push(request.headers.authorization ?? '');
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ access_token: `token-${issued.length}`, expires_in: 3600, token_type: 'Bearer' }),
      };
    });
    // token-1 has "expired" at the destination; token-2 is good.
    api.handle('/hook', (request) =>
      request.headers.authorization === 'Bearer token-2' ? { status: 200 } : { status: 401 },
    );
    oauth = await startFixture({
      env: {
        HERALD_TOKEN_PROVIDERS: JSON.stringify({
          [`127.0.0.1:${api.port}`]: { tokenUrl: api.url('/token'), clientId: 'herald', clientSecret: 's3cret' },
        }),
      },
    });
    oauthHerald = oauth.herald;
  });
  afterAll(async () => {
    await oauth?.close();
    await api?.close();
  });

  test('discards the cached token, fetches a new one and retries the request', async () => {
    const id = uniqueId('msg');
    await oauthHerald.send({ id, destination: { url: api.url('/hook') }, body: { n: 1 } });
    const status = await oauthHerald.waitFor(id, settled);
    expect(status.state).toBe('delivered');
    expect(status.attempts).toEqual([expect.objectContaining({ attempt: 1, outcome: 'delivered', status: 200 })]);
    expect(issued).toEqual([
      `Basic ${Buffer.from('herald:s3cret').toString('base64')}`,
      `Basic ${Buffer.from('herald:s3cret').toString('base64')}`,
    ]);
    expect(api.requests('/hook').map((r) => r.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-2']);
  });

  test('uses the cached token for the next message', async () => {
    const id = uniqueId('msg');
    await oauthHerald.send({ id, destination: { url: api.url('/hook') }, body: { n: 2 } });
    await oauthHerald.waitForState(id, 'delivered');
    expect(issued).toHaveLength(2);
    expect(api.requests('/hook').at(-1)?.headers.authorization).toBe('Bearer token-2');
  });
});

describe('destinations the policy refuses are permanent, checked where the connection is made', () => {
  let strict: HeraldFixture;
  let strictHerald: TestHerald;

  beforeAll(async () => {
    strict = await startFixture({ env: { HERALD_DESTINATION_ALLOWLIST: 'none' } });
    strictHerald = strict.herald;
  });
  afterAll(() => strict?.close());

  test('an IP literal in a refused range', async () => {
    const id = uniqueId('msg');
    await strictHerald.send({ id, destination: { url: downstream.url('/blocked-literal') }, body: {} });
    const status = await strictHerald.waitForState(id, 'dead_lettered');
    expect(status.attempts).toEqual([
      expect.objectContaining({
        outcome: 'permanent',
        cause: 'destination_blocked',
        errorType: 'InvalidDestinationError',
      }),
    ]);
    expect(downstream.requests('/blocked-literal')).toHaveLength(0);
  });

  test('a host name that resolves to a refused address (as a rebinding attack would)', async () => {
    const id = uniqueId('msg');
    await strictHerald.send({ id, destination: { url: `http://localhost:${downstream.port}/blocked-name` }, body: {} });
    const status = await strictHerald.waitForState(id, 'dead_lettered');
    expect(status.attempts).toEqual([
      expect.objectContaining({
        outcome: 'permanent',
        cause: 'destination_blocked',
        errorType: 'PermanentDeliveryError',
      }),
    ]);
    expect(downstream.requests('/blocked-name')).toHaveLength(0);
  });
});
