/**
 * `herald tail` against a real Server-Sent Events server on 127.0.0.1 speaking the API's wire format
 * (`id: <n>`, `event: state`, `data: {"id","state","at","seq","destination"}`), so reconnection with
 * Last-Event-ID, the end of a stream and refusals can be driven exactly.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closedPort } from '../helpers/downstream';
import { runCli } from './run-cli';

const KEY = 'tail-test-key-0123456789';

interface StateEvent {
  id: string;
  state: string;
  at: string;
  seq: number;
  destination: string;
}

const EVENTS: StateEvent[] = [
  {
    id: 'msg_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    state: 'accepted',
    at: '2026-11-24T17:00:00.000Z',
    seq: 1,
    destination: 'api.example.com',
  },
  {
    id: 'msg_aaaaaaaaaaaaaaaaaaaaaaaaaa',
    state: 'delivering',
    at: '2026-11-24T17:00:00.100Z',
    seq: 2,
    destination: 'api.example.com',
  },
  {
    id: 'msg_bbbbbbbbbbbbbbbbbbbbbbbbbb',
    state: 'delivered',
    at: '2026-11-24T17:00:00.200Z',
    seq: 1,
    destination: 'b.example.com:8443',
  },
];

/**
 * Connection 1 sends events 1 and 2 and ends (a dropped connection); connection 2 must resume after
 * 2 and gets event 3, then ends; connection 3, resuming after 3, gets 204: the stream is over.
 */
async function startSseServer(): Promise<{ url: string; requests: IncomingHttpHeaders[]; close(): Promise<void> }> {
  const requests: IncomingHttpHeaders[] = [];
  const write = (res: ServerResponse, index: number) =>
    res.write(`id: ${index + 1}\nevent: state\ndata: ${JSON.stringify(EVENTS[index])}\n\n`);
  const server: Server = createServer((req, res) => {
    if (req.url !== '/v1/events') {
      res.writeHead(404).end();
      return;
    }
    requests.push(req.headers);
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(
        JSON.stringify({ type: 'urn:herald:problem:unauthorized', title: 'Missing or unknown API key', status: 401 }),
      );
      return;
    }
    const resumeAfter = req.headers['last-event-id'];
    if (resumeAfter === '3') {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write('retry: 50\n\n');
    if (resumeAfter === undefined) {
      write(res, 0);
      res.write(': keep-alive\n\n');
      res.write('event: ping\ndata: {}\n\n');
      write(res, 1);
    } else if (resumeAfter === '2') {
      write(res, 2);
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('tail prints one line per state event, reconnects with Last-Event-ID, and ends when the server does', async () => {
  const server = await startSseServer();
  try {
    const run = await runCli(['tail'], { env: { HERALD_URL: server.url, HERALD_API_KEY: KEY } });
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      '2026-11-24T17:00:00.000Z  accepted        msg_aaaaaaaaaaaaaaaaaaaaaaaaaa  api.example.com',
      '2026-11-24T17:00:00.100Z  delivering      msg_aaaaaaaaaaaaaaaaaaaaaaaaaa  api.example.com',
      '2026-11-24T17:00:00.200Z  delivered       msg_bbbbbbbbbbbbbbbbbbbbbbbbbb  b.example.com:8443',
      '',
    ]);
    expect(run.stderr).toContain(`following ${server.url}/v1/events`);
    expect(run.stderr).toContain('reconnecting');
    expect(run.stderr).toContain('reconnected');
    expect(server.requests.map((headers) => headers.authorization)).toEqual(Array(3).fill(`Bearer ${KEY}`));
    expect(server.requests.map((headers) => headers['last-event-id'])).toEqual([undefined, '2', '3']);
    expect(server.requests[0]?.accept).toBe('text/event-stream');
  } finally {
    await server.close();
  }
});

test('tail --json prints each event’s data as one JSON line', async () => {
  const server = await startSseServer();
  try {
    const run = await runCli(['tail', '--json', '--api-url', server.url, '--api-key', KEY]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(EVENTS);
  } finally {
    await server.close();
  }
});

test('tail exits 3 when the API refuses the stream and 4 when it cannot be reached', async () => {
  const server = await startSseServer();
  try {
    const refused = await runCli(['tail', '--url', server.url, '--api-key', 'wrong-key-0123456789']);
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('refused the event stream: 401 Missing or unknown API key');
    expect(server.requests).toHaveLength(1);
  } finally {
    await server.close();
  }
  const port = await closedPort();
  const unreachable = await runCli(['tail', '--url', `http://127.0.0.1:${port}`, '--api-key', KEY]);
  expect(unreachable.code).toBe(4);
  expect(unreachable.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/events`);
});
