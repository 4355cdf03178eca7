/**
 * An API that closes (SIGTERM runs the same close) stops accepting, ends its event streams cleanly
 * instead of cutting them, and answers the requests in flight; a client that reconnects to another API
 * process over the same event log with Last-Event-ID gets exactly the events after it. Real API
 * processes' worth (each its own connection to the log), real HTTP on 127.0.0.1, events appended by
 * another connection as a worker would.
 */
import { get, request, type IncomingMessage } from 'node:http';
import { API_KEY, OTHER_API_KEY, type TestApi } from '../helpers/api';
import { eventually } from '../helpers/eventually';
import { startFixture, type HeraldFixture } from '../helpers/fixture';
import { uniqueId } from '../helpers/herald';

let fixture: HeraldFixture;

beforeAll(async () => {
  fixture = await startFixture({ worker: false });
});

interface Stream {
  status: Promise<number>;
  /** Log positions and message ids received, in order. */
  events: { id: number; messageId: string }[];
  /** 'end' when the server ended the response cleanly, 'cut' when the connection broke. */
  ended: Promise<'end' | 'cut'>;
  destroy(): void;
}

/** A raw SSE client (node:http), so a clean end and a cut connection can be told apart. */
function openStream(api: TestApi, key: string, lastEventId?: number): Stream {
  const events: Stream['events'] = [];
  let resolveStatus!: (status: number) => void;
  let resolveEnded!: (how: 'end' | 'cut') => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const ended = new Promise<'end' | 'cut'>((resolve) => (resolveEnded = resolve));
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (lastEventId !== undefined) headers['last-event-id'] = String(lastEventId);
  const req = get(`${api.url}/v1/events`, { headers, agent: false }, (response: IncomingMessage) => {
    resolveStatus(response.statusCode ?? 0);
    let buffer = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const id = /^id: (\d+)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id && data) events.push({ id: Number(id), messageId: (JSON.parse(data) as { id: string }).id });
      }
    });
    response.on('end', () => resolveEnded('end'));
    response.on('aborted', () => resolveEnded('cut'));
    response.on('error', () => resolveEnded('cut'));
  });
  req.on('error', () => {
    resolveStatus(0);
    resolveEnded('cut');
  });
  return { status, events, ended, destroy: () => req.destroy() };
}

/** Appends one event through the fixture's own connection to the log (another process's, for the APIs). */
async function publish(sender: 'tests' | 'other'): Promise<string> {
  const messageId = uniqueId('msg');
  await fixture.herald.events.append({
    messageId,
    runId: 'run',
    seq: 1,
    state: 'delivering',
    destination: 'api.example.com',
    sender,
    at: new Date().toISOString(),
  });
  return messageId;
}

test('closing an API ends its streams cleanly; a reconnect elsewhere with Last-Event-ID resumes exactly', async () => {
  // A drain far longer than the test: open streams must not hold the close for it.
  const first = await fixture.startApi({ HERALD_REPLY_WAIT: '2m' });
  const streams = [openStream(first, API_KEY), openStream(first, API_KEY), openStream(first, API_KEY)];
  const theirs = openStream(first, OTHER_API_KEY);
  try {
    expect(await Promise.all([...streams, theirs].map((s) => s.status))).toEqual([200, 200, 200, 200]);
    const before = [await publish('tests'), await publish('other'), await publish('tests'), await publish('tests')];
    await eventually(() => streams.every((s) => s.events.length === 3) && theirs.events.length === 1, {
      what: 'every stream to get its events',
    });
    for (const stream of streams)
      expect(stream.events.map((e) => e.messageId)).toEqual([before[0], before[2], before[3]]);

    const startedClosing = Date.now();
    const closing = first.close();
    // Every stream ends, cleanly (the chunked response is terminated), rather than being cut.
    expect(await Promise.all([...streams, theirs].map((s) => s.ended))).toEqual(['end', 'end', 'end', 'end']);
    await closing;
    // Ended streams are not requests in flight: the close did not wait out its two-minute drain.
    expect(Date.now() - startedClosing).toBeLessThan(30_000);
    // It no longer accepts connections.
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();

    // While nobody listens, more events; then each client reconnects to another API process.
    await publish('tests');
    await publish('other');
    await publish('tests');
    const second = await fixture.startApi();
    const resumed = streams.map((s) => openStream(second, API_KEY, s.events[s.events.length - 1]!.id));
    const resumedTheirs = openStream(second, OTHER_API_KEY, theirs.events[0]!.id);
    try {
      expect(await Promise.all([...resumed, resumedTheirs].map((s) => s.status))).toEqual([200, 200, 200, 200]);
      await publish('tests'); // and one live, after the catch-up
      const last = streams[0]!.events[2]!.id;
      const expected = (await fixture.herald.events.read({ afterId: last, sender: 'tests' })).map((e) => e.id);
      expect(expected).toHaveLength(3);
      await eventually(() => resumed.every((s) => s.events.length >= 3), { what: 'the resumed streams to catch up' });
      await eventually(() => resumedTheirs.events.length >= 1, { what: 'the other key’s missed event' });
      await new Promise((resolve) => setTimeout(resolve, 500)); // nothing more arrives
      for (const stream of resumed) expect(stream.events.map((e) => e.id)).toEqual(expected);
      const theirsExpected = await fixture.herald.events.read({ afterId: theirs.events[0]!.id, sender: 'other' });
      expect(resumedTheirs.events.map((e) => e.id)).toEqual(theirsExpected.map((e) => e.id));
    } finally {
      for (const stream of [...resumed, resumedTheirs]) stream.destroy();
      await second.close();
    }
  } finally {
    for (const stream of [...streams, theirs]) stream.destroy();
    await first.close();
  }
});

test('a request in flight when the API closes is answered before it stops; new connections are refused', async () => {
  const api = await fixture.startApi();
  const body = JSON.stringify({ destination: { url: fixture.downstream.url('/in-flight') }, body: { n: 1 } });
  let closing: Promise<void> | undefined;
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      `${api.url}/v1/messages`,
      {
        method: 'POST',
        agent: false,
        headers: {
          authorization: `Bearer ${API_KEY}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
        response.on('error', reject);
      },
    );
    req.on('error', reject);
    // Half the body now (the request is in flight), the rest once the close has begun.
    req.write(body.slice(0, 10));
    setTimeout(() => {
      closing = api.close();
      setTimeout(() => req.end(body.slice(10)), 300);
    }, 300);
  });
  try {
    const response = await answered;
    expect(response.status).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({ state: 'accepted' });
    await expect(fetch(`${api.url}/healthz`)).rejects.toThrow();
    await closing;
  } finally {
    await (closing ?? api.close());
  }
});
