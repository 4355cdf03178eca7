/**
 * Traffic for the multi-host suites (test/multi-host/): sends through a fleet's API processes the way
 * a client behind a load balancer would (retrying the same id on a connection error, so a restart loses
 * nothing), follows a Server-Sent Events stream on any API process, and reads the shared PostgreSQL
 * directly for what the processes wrote (not through the API under test).
 */
import { request } from 'undici';
import { TERMINAL_STATES } from '../../src/contract/message-status';
import { API_KEY, type TestResponse } from './api';
import { eventually } from './eventually';
import type { FleetApi } from './herald-fleet';
import { sqlOn } from './postgres';

/** One message to send: its id, and the path of the downstream it goes to. */
export interface Outgoing {
  id: string;
  url: string;
  body?: unknown;
}

/** What sending a batch saw: every status by id, and how many connection errors were retried. */
export interface SendReport {
  statusById: Map<string, number>;
  retriedConnectionErrors: number;
  /** Every response status the APIs gave (a retried request counts each time). */
  statuses: number[];
  /** Each 5xx, with the API that gave it and its body (what a failing test shows). */
  serverErrors: string[];
}

/** Errors a client sees while an API process restarts: the request never reached a listening process. */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'].includes(code ?? '');
}

/**
 * Sends every message through the APIs in turn (message i through API i mod n), `concurrency` at a
 * time, `perSecond` at most. A connection error is retried (same id: the API is idempotent per id) on
 * the next API after a short pause, up to 60 s; any response, even a 5xx, is final and reported.
 */
export async function sendThrough(
  apis: readonly FleetApi[],
  messages: readonly Outgoing[],
  options: { concurrency?: number; perSecond?: number } = {},
): Promise<SendReport> {
  const report: SendReport = { statusById: new Map(), retriedConnectionErrors: 0, statuses: [], serverErrors: [] };
  const concurrency = options.concurrency ?? 10;
  const gapMs = options.perSecond ? 1000 / options.perSecond : 0;
  const started = Date.now();
  let next = 0;
  const sendOne = async (index: number) => {
    const message = messages[index]!;
    const deadline = Date.now() + 60_000;
    for (let attempt = 0; ; attempt++) {
      const api = apis[(index + attempt) % apis.length]!;
      try {
        const response: TestResponse = await api.call('POST', '/v1/messages', {
          json: { id: message.id, destination: { url: message.url }, body: message.body ?? { n: index } },
        });
        report.statuses.push(response.status);
        if (response.status >= 500) report.serverErrors.push(`${api.name}: ${response.status} ${response.text}`);
        report.statusById.set(message.id, response.status);
        return;
      } catch (error) {
        if (!isConnectionError(error) || Date.now() > deadline) throw error;
        report.retriedConnectionErrors += 1;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < messages.length) {
        const index = next++;
        const due = started + index * gapMs;
        if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
        await sendOne(index);
      }
    }),
  );
  return report;
}

/** The terminal states the shared event log holds for `ids`: message id → its terminal events' states. */
export async function terminalEvents(databaseUrl: string, ids: readonly string[]): Promise<Map<string, string[]>> {
  const rows = await sqlOn<{ message_id: string; state: string }>(
    databaseUrl,
    'SELECT message_id, state FROM herald_message_events WHERE message_id = ANY($1) AND state = ANY($2) ORDER BY id',
    [ids, TERMINAL_STATES],
  );
  const byId = new Map<string, string[]>();
  for (const row of rows) byId.set(row.message_id, [...(byId.get(row.message_id) ?? []), row.state]);
  return byId;
}

/** Waits until every message of `ids` has a terminal event in the shared log; answers them. */
export async function waitForTerminal(
  databaseUrl: string,
  ids: readonly string[],
  timeoutMs: number,
): Promise<Map<string, string[]>> {
  return eventually(() => terminalEvents(databaseUrl, ids), {
    until: (byId) => byId.size === ids.length,
    what: `${ids.length} messages to end`,
    timeoutMs,
    intervalMs: 500,
  });
}

/** One SSE event as a client parses it. */
export interface SseEvent {
  id?: string;
  event?: string;
  data: { id: string; state: string; seq: number };
}

/** An open SSE stream: its events so far, whether it ended, and a way to hang up. */
export interface SseStream {
  events: SseEvent[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `path` on `api` as a Server-Sent Events stream; resolves once the response headers came. */
export async function openSse(api: FleetApi, path: string): Promise<SseStream> {
  const abort = new AbortController();
  const response = await request(`${api.url}${path}`, {
    headers: { authorization: `Bearer ${API_KEY}`, accept: 'text/event-stream' },
    signal: abort.signal,
  });
  if (response.statusCode !== 200) throw new Error(`${path}: ${response.statusCode} ${await response.body.text()}`);
  const events: SseEvent[] = [];
  let buffer = '';
  const ended = (async () => {
    try {
      for await (const chunk of response.body) {
        buffer += (chunk as Buffer).toString('utf8');
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of frame.split('\n')) {
            const colon = line.indexOf(':');
            if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
          }
          const data = fields.get('data');
          if (data !== undefined)
            events.push({ id: fields.get('id'), event: fields.get('event'), data: JSON.parse(data) });
        }
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  return { events, ended, close: () => abort.abort() };
}
