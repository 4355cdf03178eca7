/**
 * Secrets stay secret: distinct secrets are planted everywhere one can enter Herald (API keys, the
 * delivery, callback and reply secrets, the encryption key, the metrics token, a destination's
 * Authorization and X-Auth-Key headers, an OAuth client secret and the token it yields, a key sent in a
 * query string, a credential in a header value Herald refuses), then the real API and worker processes
 * run every path (delivered, replied, called back, dead-lettered, OAuth with a 401 and a refresh, bad
 * keys, bad signatures) and every log line they wrote, every response the API gave (headers and
 * bodies, the OpenAPI document and /metrics included), and every history and description Temporal
 * holds (payloads encrypted by the codec) is searched for each secret.
 */
import { temporal } from '@temporalio/proto';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { signedReply } from '../helpers/api';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture, type WorkerProcess } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

const token = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;
const webhookSecret = () => {
  const key = randomBytes(32).toString('base64');
  return { whsec: `whsec_${key}`, key };
};
const delivery = webhookSecret();
const callback = webhookSecret();
const reply = webhookSecret();
const encryptionKey = randomBytes(32).toString('base64');
const SECRETS = {
  apiKey: token('planted-api-key'),
  readerKey: token('planted-reader-key'),
  deliverySecret: delivery.key,
  callbackSecret: callback.key,
  replySecret: reply.key,
  encryptionKey,
  metricsToken: token('planted-metrics-token'),
  destinationAuthorization: token('planted-destination-bearer'),
  destinationAuthKey: token('planted-x-auth-key'),
  oauthClientSecret: token('planted-oauth-client-secret'),
  oauthAccessToken: token('planted-oauth-access-token'),
  refusedHeaderValue: token('planted-refused-header'),
  wrongApiKey: token('planted-wrong-api-key'),
};

let fixture: HeraldFixture;
let oauthHost: Downstream;
let api: WorkerProcess & { url: string };
let worker: WorkerProcess;
/** Every response the API gave: status line, headers and body, as text. */
const responses: string[] = [];
const ids: string[] = [];

async function call(
  method: string,
  path: string,
  options: { json?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { authorization: `Bearer ${SECRETS.apiKey}`, ...options.headers };
  let body = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  }
  const response = await request(`${api.url}${path}`, { method: method as 'GET', headers, body });
  const text = await response.body.text();
  // The request line is ours, not the API's: only what the API answered is searched.
  responses.push(`${response.statusCode}\n${JSON.stringify(response.headers)}\n${text}`);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.statusCode, body: parsed as Record<string, unknown> };
}

beforeAll(async () => {
  oauthHost = await startDownstream();
  oauthHost.handle('/token', () => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ access_token: SECRETS.oauthAccessToken, token_type: 'Bearer', expires_in: 3600 }),
  }));
  const env = {
    HERALD_API_KEYS: `planted:${SECRETS.apiKey},audit:${SECRETS.readerKey}:reader`,
    HERALD_DELIVERY_SECRETS: JSON.stringify({ '*': delivery.whsec }),
    HERALD_CALLBACK_SECRETS: JSON.stringify({ '*': callback.whsec }),
    HERALD_REPLY_SECRETS: JSON.stringify({ '*': reply.whsec }),
    HERALD_ENCRYPTION_KEYS: `k1:${encryptionKey}`,
    HERALD_METRICS_TOKEN: SECRETS.metricsToken,
    HERALD_TOKEN_PROVIDERS: JSON.stringify({
      [`127.0.0.1:${oauthHost.port}`]: {
        tokenUrl: oauthHost.url('/token'),
        clientId: 'herald-client',
        clientSecret: SECRETS.oauthClientSecret,
      },
    }),
  };
  fixture = await startFixture({ worker: false, api: false, env });
  // The real processes, logging at debug: the most they ever write.
  worker = await fixture.startWorkerProcess({ LOG_LEVEL: 'debug', HERALD_METRICS_PORT: '0' });
  api = await fixture.startApiProcess({ LOG_LEVEL: 'debug' });
}, 120_000);
afterAll(async () => {
  await fixture.close();
  await oauthHost.close();
});

test('no secret appears in any log, response, history or search attribute', async () => {
  const { downstream, herald } = fixture;
  const credentialHeaders = {
    authorization: `Bearer ${SECRETS.destinationAuthorization}`,
    'x-auth-key': SECRETS.destinationAuthKey,
  };
  // 1. Delivered, replied, called back.
  const replied = uniqueId('planted-replied');
  ids.push(replied);
  expect(
    (
      await call('POST', '/v1/messages', {
        json: {
          id: replied,
          destination: { url: downstream.url(`/${replied}`), headers: credentialHeaders },
          body: { n: 1 },
          reply: { timeout: '1m' },
          callback: { url: downstream.url(`/${replied}-cb`) },
        },
      })
    ).status,
  ).toBe(202);
  await herald.waitForState(replied, 'awaiting_reply', 30_000);
  const badReply = signedReply(replied, { body: 1 }, webhookSecret().whsec);
  expect(
    (await call('POST', `/v1/messages/${replied}/reply`, { raw: badReply.raw, headers: badReply.headers })).status,
  ).toBe(401);
  const goodReply = signedReply(replied, { body: { ok: true } }, reply.whsec);
  expect(
    (await call('POST', `/v1/messages/${replied}/reply`, { raw: goodReply.raw, headers: goodReply.headers })).status,
  ).toBe(200);
  await eventually(() => downstream.requests(`/${replied}-cb`).length > 0, { what: 'the callback', timeoutMs: 30_000 });

  // 2. Dead-lettered after a permanent refusal, with the credentials in its headers.
  const dead = uniqueId('planted-dead');
  ids.push(dead);
  downstream.script(`/${dead}`, [{ status: 400, body: 'no' }]);
  await call('POST', '/v1/messages', {
    json: { id: dead, destination: { url: downstream.url(`/${dead}`), headers: credentialHeaders }, body: { n: 2 } },
  });
  await herald.waitForState(dead, 'dead_lettered', 30_000);

  // 3. Through an OAuth token provider, a 401 first (the token is dropped and fetched again).
  const oauth = uniqueId('planted-oauth');
  ids.push(oauth);
  oauthHost.script(`/${oauth}`, [{ status: 401 }, { status: 200 }]);
  await call('POST', '/v1/messages', {
    json: { id: oauth, destination: { url: oauthHost.url(`/${oauth}`) }, body: { n: 3 } },
  });
  await herald.waitForState(oauth, 'delivered', 30_000);
  expect(oauthHost.requests(`/${oauth}`).map((r) => r.headers.authorization)).toEqual([
    `Bearer ${SECRETS.oauthAccessToken}`,
    `Bearer ${SECRETS.oauthAccessToken}`,
  ]);

  // 4. Refusals that could echo what they refuse.
  expect(
    (await call('GET', '/v1/messages', { headers: { authorization: `Bearer ${SECRETS.wrongApiKey}` } })).status,
  ).toBe(401);
  expect((await call('GET', `/v1/messages?api_key=${SECRETS.apiKey}`)).status).toBe(400);
  expect((await call('GET', `/v1/messages/${replied}?token=${SECRETS.apiKey}`)).status).toBe(400);
  const refused = await call('POST', '/v1/messages', {
    json: {
      destination: {
        url: downstream.url('/refused'),
        headers: { authorization: `Bearer ${SECRETS.refusedHeaderValue}\u0007` },
      },
      body: 1,
    },
  });
  expect(refused.status).toBe(400);
  expect(
    (
      await call('POST', '/v1/dead-letters/redrive', {
        json: {},
        headers: { authorization: `Bearer ${SECRETS.readerKey}` },
      })
    ).status,
  ).toBe(403);
  expect((await call('GET', '/metrics', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);

  // 5. Every read an operator or sender makes.
  for (const id of ids) {
    await call('GET', `/v1/messages/${id}`);
    await call('GET', `/v1/messages/${id}/events`);
  }
  await call('GET', '/v1/messages?limit=100');
  const letters = await call('GET', `/v1/dead-letters?destination=127.0.0.1:${downstream.port}`);
  expect((letters.body.items as unknown[]).length).toBeGreaterThanOrEqual(1);
  const letter = await call('GET', `/v1/dead-letters/${dead}`);
  expect((letter.body.message as { destination: { headers: Record<string, string> } }).destination.headers).toEqual({
    authorization: '[redacted]',
    'x-auth-key': '[redacted]',
  });
  await call('GET', `/v1/destinations/127.0.0.1:${oauthHost.port}`);
  await call('GET', '/openapi.json');
  const metrics = await call('GET', '/metrics', { headers: { authorization: `Bearer ${SECRETS.metricsToken}` } });
  expect(metrics.status).toBe(200);
  // The worker's own metrics (labels by destination host, outcome, status class).
  const workerMetricsUrl = String(worker.logs().find((line) => line.msg === 'worker metrics listening')!.url);
  const scraped = await request(workerMetricsUrl, { headers: { authorization: `Bearer ${SECRETS.metricsToken}` } });
  const workerMetrics = await scraped.body.text();
  expect(workerMetrics).toContain('herald_delivery_attempts_total');
  responses.push(workerMetrics);

  // 6. What Temporal holds: each history and description, as stored (payloads through the codec).
  const stored: Buffer[] = [];
  for (const id of ids) {
    const handle = herald.client.workflow.getHandle(id);
    const history = await handle.fetchHistory();
    stored.push(Buffer.from(temporal.api.history.v1.History.encode(history).finish()));
    const description = await herald.client.workflowService.describeWorkflowExecution({
      namespace: herald.config.temporal.namespace,
      execution: { workflowId: id },
    });
    stored.push(
      Buffer.from(temporal.api.workflowservice.v1.DescribeWorkflowExecutionResponse.encode(description).finish()),
    );
  }
  const histories = Buffer.concat(stored);
  // The sanity check that the search can find something: the message ids are in the histories.
  expect(histories.includes(Buffer.from(replied))).toBe(true);

  const haystacks: Record<string, string | Buffer> = {
    'API log': api.output(),
    'worker log': worker.output(),
    'API responses': responses.join('\n\n'),
    'Temporal histories and descriptions': histories,
  };
  const found: string[] = [];
  for (const [name, secret] of Object.entries(SECRETS)) {
    for (const [where, text] of Object.entries(haystacks)) {
      if (text.includes(secret)) found.push(`${name} in ${where}`);
    }
  }
  expect(found).toEqual([]);
  // And the logs did record the work (the search ran over something).
  expect(api.output()).toContain(replied);
  expect(worker.output()).toContain(dead);
}, 180_000);
