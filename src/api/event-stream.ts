/**
 * Server-Sent Events from the event log. The API tails the log (a short poll of an indexed table), so
 * every API process serves every change whichever worker published it; `Last-Event-ID` resumes from
 * a position in the log without gaps.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type MessageState } from '../contract/message-status';
import type { EventLog, EventLogQuery, MessageEvent } from '../store/event-log';

const POLL_MS = 200;
const HEARTBEAT_MS = 15_000;

export interface StreamOptions {
  events: EventLog;
  query: Omit<EventLogQuery, 'afterId' | 'limit'>;
  /** Stream events after this log position. */
  afterId: number;
  /** Sent first (the current state), when the client is not resuming. */
  initial?: MessageEvent;
  /** End the stream after a terminal state (per-message streams). */
  endOnTerminal: boolean;
}

/** What a client receives as `data:` (the same for every stream). */
export function eventData(event: MessageEvent) {
  return { id: event.messageId, state: event.state, at: event.at, seq: event.seq, destination: event.destination };
}

/** The Last-Event-ID a client sent, if it is a log position. */
export function lastEventId(request: FastifyRequest): number | undefined {
  const raw = request.headers['last-event-id'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

export async function streamEvents(
  request: FastifyRequest,
  reply: FastifyReply,
  options: StreamOptions,
): Promise<void> {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // Proxies such as nginx would otherwise buffer the stream.
    'x-accel-buffering': 'no',
  });
  out.write('retry: 2000\n\n');
  let closed = false;
  request.raw.on('close', () => (closed = true));
  const send = (event: MessageEvent) => {
    out.write(`id: ${event.id}\nevent: state\ndata: ${JSON.stringify(eventData(event))}\n\n`);
    return options.endOnTerminal && isTerminal(event.state as MessageState);
  };
  try {
    if (options.initial && send(options.initial)) return;
    let cursor = options.afterId;
    let lastWrite = Date.now();
    while (!closed) {
      const batch = await options.events.read({ ...options.query, afterId: cursor, limit: 200 });
      for (const event of batch) {
        cursor = event.id;
        lastWrite = Date.now();
        if (send(event)) return;
      }
      if (batch.length === 0) {
        if (Date.now() - lastWrite > HEARTBEAT_MS) {
          out.write(': keep-alive\n\n');
          lastWrite = Date.now();
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } catch (error) {
    request.log.error({ err: error }, 'event stream failed');
  } finally {
    if (!out.writableEnded) out.end();
  }
}
