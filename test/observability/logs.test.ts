/**
 * Logs that tell the story: a run that delivers, retries and dead-letters messages (with a callback, a
 * destination Authorization header and a token provider) logs one line per attempt and per outcome,
 * with the fields an operator needs, and none of the secrets, bodies or header values it was given.
 * Everything the API and the worker log (Herald's own lines, the SDK's, the workflows') is captured.
 */
import { createLogger } from '../../src/observability/logger';
import { API_KEY } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { startFixture, type HeraldFixture } from '../helpers/fixture';

const planted = {
  apiKey: 'planted-api-key-7f3a9c2e1b',
  callbackSecret: `whsec_${Buffer.from('planted-callback-secret-32bytes!').toString('base64')}`,
  authorization: 'Bearer planted-destination-authorization-5d2c',
  clientSecret: 'planted-client-secret-8e4f1a',
  accessToken: 'planted-access-token-2b9d7c',
  body: 'planted-body-marker-6a1e3f',
  responseBody: 'planted-response-body-9c4b2d',
};

const lines: string[] = [];
let fixture: HeraldFixture;
let tokenHost: Downstream;

beforeAll(async () => {
  tokenHost = await startDownstream();
  tokenHost.script('/token', [
    { status: 200, body: JSON.stringify({ access_token: planted.accessToken, expires_in: 3600 }) },
  ]);
  const logger = createLogger('debug', 'herald', { write: (line: string) => void lines.push(line) });
  fixture = await startFixture({
    api: true,
    logger,
    env: {
      LOG_LEVEL: 'debug',
      HERALD_API_KEYS: `tests:${API_KEY},planted:${planted.apiKey}`,
      HERALD_CALLBACK_SECRETS: JSON.stringify({ '*': planted.callbackSecret }),
      HERALD_TOKEN_PROVIDERS: JSON.stringify({
        [`127.0.0.1:${tokenHost.port}`]: {
          tokenUrl: tokenHost.url('/token'),
          clientId: 'herald',
          clientSecret: planted.clientSecret,
        },
      }),
    },
  });
}, 60_000);

afterAll(async () => {
  await fixture?.close();
  await tokenHost?.close();
});

const parsed = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
const attemptsOf = (id: string) => parsed().filter((line) => line.msg === 'delivery attempt' && line.messageId === id);

test('one line per attempt and per outcome, with its fields; no secret, body or header value anywhere', async () => {
  const { downstream, api } = fixture;
  const answer = { body: `{"echo":"${planted.responseBody}"}` };
  downstream.script('/ok', [{ status: 200, ...answer }]);
  downstream.script('/flaky', [{ status: 503, headers: { 'retry-after': '1' }, ...answer }, { status: 200 }]);
  downstream.script('/down', [{ status: 500, ...answer }]);
  downstream.script('/callback', [{ status: 204 }]);
  tokenHost.script('/tokened', [{ status: 200, ...answer }]);
  const send = async (url: string, extra: Record<string, unknown> = {}) => {
    const response = await api.call<{ id: string }>('POST', '/v1/messages', {
      headers: { authorization: `Bearer ${planted.apiKey}` },
      json: {
        destination: { url, headers: { authorization: planted.authorization, 'x-marker': planted.body } },
        body: { secret: planted.body },
        ...extra,
      },
    });
    expect(response.status).toBe(202);
    return response.body.id;
  };
  const delivered = await send(downstream.url('/ok'), { callback: { url: downstream.url('/callback') } });
  const retried = await send(downstream.url('/flaky'));
  const deadLettered = await send(downstream.url('/down'));
  const tokened = await send(tokenHost.url('/tokened'));
  await fixture.herald.waitForState(delivered, 'delivered');
  await fixture.herald.waitForState(retried, 'delivered');
  await fixture.herald.waitForState(deadLettered, 'dead_lettered');
  await fixture.herald.waitForState(tokened, 'delivered');
  await eventually(() => downstream.requests('/callback').length === 1, { what: 'the callback' });
  expect(tokenHost.requests('/tokened')[0]?.headers.authorization).toBe(`Bearer ${planted.accessToken}`);
  await eventually(() => parsed().filter((line) => line.msg === 'message ended').length >= 3, {
    what: 'the ended lines of the delivered messages',
  });
  await fixture.close();

  const host = `127.0.0.1:${downstream.port}`;
  const [retry, success] = attemptsOf(retried);
  expect(retry).toMatchObject({
    level: 30,
    destination: host,
    round: 1,
    attempt: 1,
    status: 503,
    outcome: 'retryable',
    cause: 'http_503',
    nextDelayMs: 1000,
    nextDelayBasis: 'retry-after',
  });
  expect(success).toMatchObject({
    destination: host,
    attempt: 2,
    status: 200,
    outcome: 'delivered',
    nextDelayMs: null,
  });
  expect(attemptsOf(retried)).toHaveLength(2);
  const down = attemptsOf(deadLettered);
  expect(down.map((line) => [line.attempt, line.outcome, line.status, typeof line.nextDelayMs])).toEqual([
    [1, 'retryable', 500, 'number'],
    [2, 'retryable', 500, 'number'],
    [3, 'retryable', 500, 'object'], // null: the last attempt, no next one
  ]);
  expect(down[0]).toMatchObject({ nextDelayBasis: 'backoff', destination: host });
  expect(parsed().filter((line) => line.msg === 'message dead-lettered' && line.messageId === deadLettered)).toEqual([
    expect.objectContaining({
      destination: host,
      reason: 'max_attempts_exhausted',
      attempts: 3,
      lastErrorType: 'RetryableDeliveryError',
      created: true,
    }),
  ]);
  expect(parsed().filter((line) => line.msg === 'callback attempt')).toEqual([
    expect.objectContaining({ destination: host, attempt: 1, outcome: 'delivered', status: 204, nextDelayMs: null }),
  ]);
  const ended = parsed().filter((line) => line.msg === 'message ended');
  for (const [id, destination] of [
    [delivered, host],
    [retried, host],
    [tokened, `127.0.0.1:${tokenHost.port}`],
  ]) {
    expect(ended.filter((line) => line.messageId === id)).toEqual([
      expect.objectContaining({ state: 'delivered', destination }),
    ]);
  }

  // Everything both logged: not one planted value, in any line, at debug. The capture holds the API's
  // request lines and the SDK's own (whose failed-activity line carries the attempt, redacted).
  const all = lines.join('\n');
  expect(parsed().some((line) => line.msg === 'incoming request')).toBe(true);
  expect(parsed().filter((line) => line.msg === 'Activity failed')).toContainEqual(
    expect.objectContaining({ error: expect.objectContaining({ details: '[Redacted]' }) }),
  );
  for (const [what, value] of Object.entries(planted)) expect([what, all.includes(value)]).toEqual([what, false]);
  // The callback secret's key part too (the whsec_ prefix is not the secret).
  expect(all).not.toContain(planted.callbackSecret.slice('whsec_'.length));
}, 90_000);
