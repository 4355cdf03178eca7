/**
 * Bad input an attacker would try, against the real API and real Temporal: each gets a precise
 * RFC 9457 problem and changes nothing (issue 9 §5): unscoped bulk redrives, JSON nested deep enough to
 * crash recursive code, header and URL smuggling, API keys in query strings (refused and never logged),
 * oversized headers (431 as problem+json), and URLs that are not URLs (400, not 422).
 */
import { connect } from 'node:net';
import pino from 'pino';
import { DELIVER_MESSAGE_WORKFLOW } from '../../src/contract/definitions';
import type { MessageStatus } from '../../src/contract/message-status';
import { API_KEY, type TestApi, type TestResponse } from '../helpers/api';
import { startFixture } from '../helpers/fixture';
import { startDownstream, type Downstream } from '../helpers/downstream';
import { uniqueId, type TestHerald } from '../helpers/herald';

let herald: TestHerald;
let api: TestApi;
let downstream: Downstream;
/** Every line the API logged, as written (JSON). */
const logLines: string[] = [];

beforeAll(async () => {
  const logger = pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) });
  ({ herald, api, downstream } = await startFixture({ env: { HERALD_REDRIVE_RATE: '200' }, api: true, logger }));
});

type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { field: string; message: string }[];
  [extension: string]: unknown;
};

function expectProblem(response: TestResponse<unknown>, status: number, kind: string): Problem {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = response.body as Problem;
  expect(problem).toMatchObject({ type: `urn:herald:problem:${kind}`, status, title: expect.any(String) });
  return problem;
}

const send = (json: unknown) => api.call('POST', '/v1/messages', { json });

/** Asserts nothing was started for this id: the refusal changed nothing. */
async function expectNotStarted(id: string): Promise<void> {
  expect((await api.call('GET', `/v1/messages/${id}`)).status).toBe(404);
}

describe('1. a bulk redrive names what it touches', () => {
  let bulk: Downstream;
  let ids: string[];
  const parked = async () =>
    (
      await api.call<{ items: { id: string }[] }>(
        'GET',
        `/v1/dead-letters?state=dead_lettered&destination=127.0.0.1:${bulk.port}&limit=500`,
      )
    ).body.items.map((item) => item.id);

  beforeAll(async () => {
    // A receiver of its own, so the filter matches exactly these dead letters.
    bulk = await startDownstream();
    bulk.script('/bulk', [{ status: 400 }]);
    ids = [];
    for (let i = 0; i < 2; i++) {
      const response = await send({ destination: { url: bulk.url('/bulk') }, body: { i } });
      expect(response.status).toBe(202);
      ids.push((response.body as { id: string }).id);
    }
    for (const id of ids) await herald.waitForState(id, 'dead_lettered', 60_000);
  });
  afterAll(async () => {
    await bulk?.close();
  });

  test('an empty body, {}, a limit alone or all: false is 400 naming the rule, and redrives nothing', async () => {
    const unscoped = [
      await api.call('POST', '/v1/dead-letters/redrive'),
      await api.call('POST', '/v1/dead-letters/redrive', { raw: '', headers: { 'content-type': 'application/json' } }),
      await api.call('POST', '/v1/dead-letters/redrive', { json: {} }),
      await api.call('POST', '/v1/dead-letters/redrive', { json: { limit: 5 } }),
      await api.call('POST', '/v1/dead-letters/redrive', { json: { all: false } }),
      await api.call('POST', '/v1/dead-letters/redrive', { json: { dryRun: true } }),
    ];
    for (const response of unscoped) {
      const problem = expectProblem(response, 400, 'validation-failed');
      expect(problem.detail).toContain('needs a filter (kind, reason, destination, since, until) or "all": true');
      expect(problem.errors?.map((e) => e.field)).toEqual(['/all']);
    }
    expect((await parked()).sort()).toEqual([...ids].sort());
    expect(bulk.requests('/bulk')).toHaveLength(2);
  });

  test('dryRun answers how many match and redrives nothing', async () => {
    const filtered = await api.call('POST', '/v1/dead-letters/redrive', {
      json: { destination: `127.0.0.1:${bulk.port}`, dryRun: true },
    });
    expect(filtered.status).toBe(200);
    expect(filtered.body).toEqual({ matched: 2, redriven: 0, failed: [] });
    const limited = await api.call('POST', '/v1/dead-letters/redrive', {
      json: { destination: `127.0.0.1:${bulk.port}`, dryRun: true, limit: 1 },
    });
    expect(limited.body).toEqual({ matched: 1, redriven: 0, failed: [] });
    const everything = await api.call<{ matched: number }>('POST', '/v1/dead-letters/redrive', {
      json: { all: true, dryRun: true },
    });
    expect(everything.status).toBe(200);
    expect(everything.body.matched).toBeGreaterThanOrEqual(2);
    expect((await parked()).sort()).toEqual([...ids].sort());
    for (const id of ids) expect((await herald.status(id)).state).toBe('dead_lettered');
  });

  test('all: true redrives every parked dead letter and says how many', async () => {
    bulk.script('/bulk', [{ status: 200 }]);
    const before = (
      await api.call<{ matched: number }>('POST', '/v1/dead-letters/redrive', { json: { all: true, dryRun: true } })
    ).body.matched;
    const response = await api.call('POST', '/v1/dead-letters/redrive', { json: { all: true } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ matched: before, redriven: before, failed: [] });
    for (const id of ids) await herald.waitForState(id, 'delivered', 60_000);
    expect(await parked()).toEqual([]);
  });
});

describe('2. JSON nested too deep is refused before anything recurses over it', () => {
  const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

  test('10,000 levels is 400 json-too-deep naming the limit, not a 500', async () => {
    const id = uniqueId('deep');
    const raw = `{"id":"${id}","destination":{"url":"${downstream.url('/deep')}"},"body":${nested(10_000)}}`;
    const problem = expectProblem(
      await api.call('POST', '/v1/messages', { raw, headers: { 'content-type': 'application/json' } }),
      400,
      'json-too-deep',
    );
    expect(problem.detail).toBe('JSON nests deeper than 64 levels of objects and arrays');
    expect(problem.maxDepth).toBe(64);
    await expectNotStarted(id);
  });

  test('on every route that takes JSON', async () => {
    const deep = { raw: nested(65), headers: { 'content-type': 'application/json' } };
    expectProblem(await api.call('POST', '/v1/dead-letters/redrive', deep), 400, 'json-too-deep');
    expectProblem(await api.call('POST', `/v1/messages/${uniqueId('x')}/reply`, deep), 400, 'json-too-deep');
  });

  test('64 levels in all is accepted and delivered', async () => {
    const id = uniqueId('deep-ok');
    // The message object is level 1, so its body may nest 63 levels.
    const raw = `{"id":"${id}","destination":{"url":"${downstream.url('/deep-ok')}"},"body":${nested(63)}}`;
    const response = await api.call('POST', '/v1/messages', { raw, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(202);
    await herald.waitForState(id, 'delivered');
    expect(downstream.requests('/deep-ok')[0]?.body).toBe(nested(63));
  });
});

describe('3. headers and URLs go out exactly as given, or are refused at submit time', () => {
  test('a Content-Type header goes out as given; one that contradicts contentType is 400', async () => {
    const id = uniqueId('ctype');
    const headers = { 'Content-Type': 'application/cloudevents+json' };
    expect((await send({ id, destination: { url: downstream.url('/ctype'), headers }, body: {} })).status).toBe(202);
    await herald.waitForState(id, 'delivered');
    expect(downstream.requests('/ctype')[0]?.headers['content-type']).toBe('application/cloudevents+json');

    const contradicted = uniqueId('ctype');
    const problem = expectProblem(
      await send({
        id: contradicted,
        destination: { url: downstream.url('/ctype'), headers },
        body: {},
        contentType: 'application/json',
      }),
      400,
      'validation-failed',
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(['/destination/headers/Content-Type']);
    await expectNotStarted(contradicted);
  });

  test.each([
    ['CR LF (a second header)', { 'X-Foo': 'a\r\nX-Injected: 1' }, '/destination/headers/X-Foo'],
    ['a lone LF', { 'X-Foo': 'a\nb' }, '/destination/headers/X-Foo'],
    ['a lone CR', { 'X-Foo': 'a\rb' }, '/destination/headers/X-Foo'],
    ['NUL', { 'X-Foo': 'a\u0000b' }, '/destination/headers/X-Foo'],
    ['Host', { Host: 'internal.example' }, '/destination/headers/Host'],
    ['Transfer-Encoding', { 'Transfer-Encoding': 'chunked' }, '/destination/headers/Transfer-Encoding'],
    ['Content-Length', { 'Content-Length': '0' }, '/destination/headers/Content-Length'],
    ['Connection', { Connection: 'close' }, '/destination/headers/Connection'],
    ['Upgrade', { Upgrade: 'websocket' }, '/destination/headers/Upgrade'],
    ['TE', { TE: 'trailers' }, '/destination/headers/TE'],
    ['Trailer', { Trailer: 'X-Foo' }, '/destination/headers/Trailer'],
    ['Keep-Alive', { 'Keep-Alive': 'timeout=5' }, '/destination/headers/Keep-Alive'],
    ['Proxy-Authorization', { 'Proxy-Authorization': 'Basic eA==' }, '/destination/headers/Proxy-Authorization'],
    ['one name in two spellings', { 'X-Tenant': 'a', 'x-tenant': 'b' }, '/destination/headers/x-tenant'],
    // Herald sets these from the message; a sender's value would be replaced silently.
    ['Idempotency-Key', { 'Idempotency-Key': 'k-1' }, '/destination/headers/Idempotency-Key'],
    ['webhook-id', { 'webhook-id': 'w-1' }, '/destination/headers/webhook-id'],
    ['Webhook-Signature', { 'Webhook-Signature': 'v1,x' }, '/destination/headers/Webhook-Signature'],
    ['a name that is not a token', { 'X Foo': 'a' }, '/destination/headers/X Foo'],
  ])('a header with %s is 400 naming it, and never started', async (_label, headers, field) => {
    const id = uniqueId('hdr');
    const problem = expectProblem(
      await send({ id, destination: { url: downstream.url('/hdr'), headers }, body: {} }),
      400,
      'validation-failed',
    );
    expect(problem.errors?.map((e) => e.field)).toEqual([field]);
    await expectNotStarted(id);
  });

  test.each([
    ['CR LF', 'http://127.0.0.1:9/a\r\nHost: evil'],
    ['a tab', 'http://127.0.0.1:9/a\tb'],
    ['a space', 'http://127.0.0.1:9/a b'],
    ['a leading space', ' http://127.0.0.1:9/a'],
    ['NUL', 'http://127.0.0.1:9/a\u0000'],
  ])('a destination URL with %s is 400 naming it, and never started', async (_label, url) => {
    const id = uniqueId('url');
    const problem = expectProblem(await send({ id, destination: { url }, body: {} }), 400, 'validation-failed');
    expect(problem.errors).toEqual([{ field: '/destination/url', message: expect.stringContaining('contains U+00') }]);
    await expectNotStarted(id);
  });

  test('a callback URL with a newline is 400 naming it', async () => {
    const id = uniqueId('cb');
    const problem = expectProblem(
      await send({ id, destination: { url: downstream.url('/x') }, callback: { url: `${downstream.url('/cb')}\n` } }),
      400,
      'validation-failed',
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(['/callback/url']);
    await expectNotStarted(id);
  });

  test('a message started directly through Temporal with such headers or URL ends rejected, sending nothing', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ headers: { 'X-Foo': 'a\r\nX-Injected: 1' } }, ['/destination/headers/X-Foo']],
      [
        { headers: { Host: 'internal.example', 'Proxy-Connection': 'x' } },
        ['/destination/headers/Host', '/destination/headers/Proxy-Connection'],
      ],
    ];
    for (const [destination, fields] of cases) {
      const id = uniqueId('direct');
      const handle = await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
        workflowId: id,
        taskQueue: herald.taskQueue,
        args: [{ id, destination: { url: downstream.url('/direct'), ...destination }, body: {} }],
      });
      const status = (await handle.result()) as MessageStatus;
      expect(status.state).toBe('rejected');
      expect(status.rejection?.reason).toBe('the message does not match the message schema');
      expect(status.rejection?.errors.map((e) => e.field)).toEqual(fields);
    }
    const id = uniqueId('direct');
    const handle = await herald.client.workflow.start(DELIVER_MESSAGE_WORKFLOW, {
      workflowId: id,
      taskQueue: herald.taskQueue,
      args: [{ id, destination: { url: `${downstream.url('/direct')}\r\nX: y` }, body: {} }],
    });
    expect(((await handle.result()) as MessageStatus).rejection?.errors.map((e) => e.field)).toEqual([
      '/destination/url',
    ]);
    expect(downstream.requests('/direct')).toHaveLength(0);
  });
});

describe('4. API keys in a query string', () => {
  test.each(['api_key', 'key', 'token', 'access_token', 'apikey', 'API_KEY'])(
    '?%s=… is 400 telling the caller to use the Authorization header, with or without a valid key',
    async (name) => {
      for (const authorization of [`Bearer ${API_KEY}`, null]) {
        const problem = expectProblem(
          await api.call('GET', `/v1/messages?${name}=${API_KEY}`, { headers: { authorization } }),
          400,
          'api-key-in-query',
        );
        expect(problem.detail).toContain('"Authorization: Bearer <key>"');
        expect(problem.errors).toEqual([
          { field: `query:/${name}`, message: 'credentials are not accepted in the query string' },
        ]);
      }
    },
  );

  test('a message sent with a key in the query string is refused and never started', async () => {
    const id = uniqueId('qkey');
    const response = await api.call('POST', `/v1/messages?api_key=${API_KEY}`, {
      json: { id, destination: { url: downstream.url('/qkey') }, body: {} },
    });
    expectProblem(response, 400, 'api-key-in-query');
    await expectNotStarted(id);
  });

  test('no key ever reaches the log: logged URLs keep parameter names, never values', async () => {
    const secret = `hk_${uniqueId('secret')}`;
    logLines.length = 0;
    await api.call('GET', `/v1/messages?api_key=${secret}`);
    await api.call('GET', `/v1/messages?access_token=${secret}&state=delivered`, { headers: { authorization: null } });
    await api.call('GET', `/v1/messages?state=${secret}`);
    await api.call('GET', `/v1/messages?${secret}`);
    await api.call('GET', `/v1/nothing-here?token=${secret}`);
    const entries = logLines.map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string } });
    const urls = entries.filter((entry) => entry.msg === 'incoming request').map((entry) => entry.req?.url);
    expect(urls).toEqual([
      '/v1/messages?api_key=[redacted]',
      '/v1/messages?access_token=[redacted]&state=[redacted]',
      '/v1/messages?state=[redacted]',
      '/v1/messages?[redacted]',
      '/v1/nothing-here?token=[redacted]',
    ]);
    expect(logLines.length).toBeGreaterThan(urls.length);
    for (const line of logLines) expect(line).not.toContain(secret);
  });
});

describe('5. request headers too large', () => {
  /** Sends raw bytes to the listening API and reads the whole answer (the server closes the connection). */
  async function rawExchange(request: string): Promise<{ status: number; headers: string; body: string }> {
    const { hostname, port } = new URL(api.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => socket.write(request));
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('error', (error: NodeJS.ErrnoException) => {
        // The server closes right after answering; a reset while we still write is expected.
        if (error.code === 'ECONNRESET' || error.code === 'EPIPE') resolve(Buffer.concat(chunks).toString('utf8'));
        else reject(error);
      });
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    const split = answer.indexOf('\r\n\r\n');
    const head = answer.slice(0, split);
    return { status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body: answer.slice(split + 4) };
  }

  test('a header over the server limit is 431 problem+json', async () => {
    const answer = await rawExchange(
      `GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${API_KEY}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.headers).toContain(`content-length: ${Buffer.byteLength(answer.body)}`);
    expect(JSON.parse(answer.body)).toEqual({
      type: 'urn:herald:problem:header-fields-too-large',
      title: 'Request header fields too large',
      status: 431,
      detail: 'the request line and headers together exceed the server limit',
    });
  });

  test('a request that is not HTTP is 400 problem+json', async () => {
    const answer = await rawExchange('GET /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ type: 'urn:herald:problem:malformed-request', status: 400 });
  });

  test('the server still answers afterwards', async () => {
    expect((await api.call('GET', '/healthz')).status).toBe(200);
  });
});

describe('6. a destination URL that is not a URL is a validation error', () => {
  test.each([
    'not a url',
    'not-a-url',
    'example.com/hook',
    'http://[::1',
    'http://127.0.0.1:99999/x',
    'http://exa%mple/',
  ])('%p is 400 validation-failed at /destination/url, never started', async (url) => {
    const id = uniqueId('nourl');
    const problem = expectProblem(await send({ id, destination: { url }, body: {} }), 400, 'validation-failed');
    expect(problem.errors?.map((e) => e.field)).toEqual(['/destination/url']);
    await expectNotStarted(id);
  });

  test('well-formed but refused destinations stay 422', async () => {
    for (const url of ['ftp://127.0.0.1/file', 'http://10.1.2.3/hook', 'http://user:pw@127.0.0.1/x']) {
      const problem = expectProblem(await send({ destination: { url }, body: {} }), 422, 'destination-not-allowed');
      expect(problem.errors?.[0]?.field).toBe('/destination/url');
    }
  });
});
