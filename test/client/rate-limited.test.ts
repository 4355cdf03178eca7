/**
 * The client and its outbox against a real HTTP server that answers 429 with Retry-After, as Herald's
 * admission control does while Temporal is behind: the client reports it as transient with its
 * Retry-After, and the outbox keeps every message, waits the Retry-After (capped by its maximum
 * interval), stops a pass at the first 429, and sends everything once the API accepts again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HeraldApiError,
  HeraldClient,
  isTransientFailure,
  type OutboxBackoffEvent,
  type OutboxOptions,
  type OutboxSentEvent,
} from '../../src/client';
import { eventually } from '../helpers/eventually';

const API_KEY = 'test-key-0123456789abcdef';

/** A stand-in for the API: refuses POST /v1/messages with 429 while `refusing` is above 0 (and counts down). */
interface SheddingApi {
  url: string;
  /** How many of the next POSTs get 429 (Infinity: all until changed). */
  refusing: number;
  retryAfterSeconds: number;
  /** Ids of every POST, in order, with the status it got. */
  requests: { id: string; status: number }[];
  close(): Promise<void>;
}

async function startSheddingApi(): Promise<SheddingApi> {
  const api: Omit<SheddingApi, 'url' | 'close'> = { refusing: Infinity, retryAfterSeconds: 2, requests: [] };
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const id = String((JSON.parse(body) as { id: string }).id);
      if (api.refusing > 0) {
        api.refusing -= 1;
        api.requests.push({ id, status: 429 });
        response.writeHead(429, {
          'content-type': 'application/problem+json',
          'retry-after': String(api.retryAfterSeconds),
        });
        response.end(
          JSON.stringify({
            type: 'urn:herald:problem:rate-limited',
            title: 'Too many requests',
            status: 429,
            detail: `Temporal is behind: 250 workflow tasks wait for a worker (limit 200); retry after ${api.retryAfterSeconds} s`,
            reason: 'backlog',
            retryAfterSeconds: api.retryAfterSeconds,
          }),
        );
        return;
      }
      api.requests.push({ id, status: 202 });
      response.writeHead(202, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id, existing: false, state: 'accepted' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(api, {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

let api: SheddingApi;
let dir: string;
const clients: HeraldClient[] = [];

beforeEach(async () => {
  api = await startSheddingApi();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await api.close();
});
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'herald-rate-limited-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function client(outbox?: Partial<OutboxOptions>) {
  files += 1;
  const made = new HeraldClient({
    baseUrl: api.url,
    apiKey: API_KEY,
    requestTimeoutMs: 3_000,
    ...(outbox ? { outbox: { path: join(dir, `outbox-${files}.sqlite`), ...outbox } } : {}),
  });
  clients.push(made);
  return made;
}

const message = (id: string) => ({ id, destination: { url: 'https://api.example.com/hook' }, body: { id } });

test('without an outbox, send() rejects with a transient HeraldApiError carrying the Retry-After', async () => {
  const error = await client()
    .send(message('msg_rl_direct'))
    .catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HeraldApiError);
  const apiError = error as HeraldApiError;
  expect(apiError).toMatchObject({ status: 429, type: 'urn:herald:problem:rate-limited', retryAfterMs: 2000 });
  expect(apiError.problem).toMatchObject({ reason: 'backlog', retryAfterSeconds: 2 });
  expect(isTransientFailure(apiError)).toBe(true);
});

test('the outbox keeps a refused message, waits the Retry-After, and sends it once the API accepts', async () => {
  const herald = client({ retry: { initialIntervalMs: 50, maximumIntervalMs: 60_000, jitter: 0 } });
  const backoffs: OutboxBackoffEvent[] = [];
  const sent: OutboxSentEvent[] = [];
  herald.outbox.on('backoff', (event) => backoffs.push(event));
  herald.outbox.on('sent', (event) => sent.push(event));
  api.retryAfterSeconds = 1;
  const handle = await herald.send(message('msg_rl_kept'));
  expect(handle.state).toBe('queued');
  expect(herald.outbox.pending()).toBe(1);
  // A pass now is refused again: the wait is the Retry-After (1 s), not the 50 ms backoff.
  expect(await herald.outbox.drain()).toEqual({ sent: 0, failed: 0, pending: 1 });
  expect(backoffs.map((b) => b.delayMs)).toEqual([1000]);
  expect((backoffs[0]!.error as HeraldApiError).status).toBe(429);
  api.refusing = 0;
  await eventually(() => sent.length === 1, { what: 'the queued message to be sent', timeoutMs: 10_000 });
  expect(sent[0]).toMatchObject({ id: 'msg_rl_kept', existing: false });
  expect(api.requests).toEqual([
    { id: 'msg_rl_kept', status: 429 },
    { id: 'msg_rl_kept', status: 429 },
    { id: 'msg_rl_kept', status: 202 },
  ]);
  expect(herald.outbox.pending()).toBe(0);
});

test('a Retry-After longer than the outbox maximum interval waits the maximum', async () => {
  const herald = client({ enabled: false, retry: { initialIntervalMs: 50, maximumIntervalMs: 400, jitter: 0 } });
  const backoffs: OutboxBackoffEvent[] = [];
  herald.outbox.on('backoff', (event) => backoffs.push(event));
  api.retryAfterSeconds = 30;
  await herald.send(message('msg_rl_capped'));
  expect(await herald.outbox.drain()).toEqual({ sent: 0, failed: 0, pending: 1 });
  expect(backoffs.map((b) => b.delayMs)).toEqual([400]);
});

test('a 429 stops a pass even when the API took part of the batch; nothing queued is lost', async () => {
  const herald = client({
    enabled: false,
    concurrency: 2,
    retry: { initialIntervalMs: 50, maximumIntervalMs: 60_000, jitter: 0 },
  });
  const backoffs: OutboxBackoffEvent[] = [];
  herald.outbox.on('backoff', (event) => backoffs.push(event));
  const ids = Array.from({ length: 6 }, (_, i) => `msg_rl_batch_${i}`);
  for (const id of ids) await herald.send(message(id));
  // The first request of the batch is refused, the second accepted (a shedding API host answers so).
  api.refusing = 1;
  api.retryAfterSeconds = 3;
  const pass = await herald.outbox.drain();
  expect(pass).toEqual({ sent: 1, failed: 0, pending: 5 });
  // One batch of two, not the whole queue offered to an API that asked for less.
  expect(api.requests.map((r) => r.status)).toEqual([429, 202]);
  expect(backoffs.map((b) => b.delayMs)).toEqual([3000]);
  // The API accepts again: the next pass sends everything still queued, each message once.
  expect(await herald.outbox.drain()).toEqual({ sent: 5, failed: 0, pending: 0 });
  const accepted = api.requests.filter((r) => r.status === 202).map((r) => r.id);
  expect(accepted.sort()).toEqual([...ids].sort());
});
