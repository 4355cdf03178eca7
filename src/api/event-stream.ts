/**
 * Server-Sent Events from the event log. Each stream is a subscriber of the process's event hub
 * (event-hub.ts), which tails the log once for all of them, so every API process serves every change
 * whichever worker published it; `Last-Event-ID` resumes from a position in the log without gaps.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isTerminal, type MessageState } from '../contract/message-status';
import type { MessageEvent } from '../store/event-log';
import type { EventFilter, EventHub, SubscriptionEnd } from './event-hub';

/** Comment lines keep proxies and load balancers from closing a quiet stream as idle. */
const HEARTBEAT_MS = 15_000;

export interface StreamOptions {
  hub: EventHub;
  query: EventFilter;
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

// One event goes to many streams: its SSE text is built once (the hub hands every stream the same object).
const frames = new WeakMap<MessageEvent, string>();
function frameOf(event: MessageEvent): string {
  let frame = frames.get(event);
  if (frame === undefined) {
    frame = `id: ${event.id}\nevent: state\ndata: ${JSON.stringify(eventData(event))}\n\n`;
    frames.set(event, frame);
  }
  return frame;
}

/** The Last-Event-ID a client sent, if it is a log position. */
export function lastEventId(request: FastifyRequest): number | undefined {
  const raw = request.headers['last-event-id'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value !== undefined && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

/** Serves one stream until its terminal state, the client leaving, or the hub ending it; resolves then. */
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
  let lastWrite = Date.now();
  const send = (event: MessageEvent): boolean => {
    // The events of one read go out in one write: corked until the hub's dispatch loop is done.
    if (out.writableCorked === 0) {
      out.cork();
      process.nextTick(() => out.uncork());
    }
    out.write(frameOf(event));
    lastWrite = Date.now();
    return !(options.endOnTerminal && isTerminal(event.state as MessageState));
  };
  if (options.initial && !send(options.initial)) {
    out.end();
    return;
  }

  await new Promise<void>((resolve) => {
    let unsubscribe: (() => void) | undefined;
    let over = false;
    const heartbeat = setInterval(() => {
      if (Date.now() - lastWrite < HEARTBEAT_MS) return;
      out.write(': keep-alive\n\n');
      lastWrite = Date.now();
    }, HEARTBEAT_MS / 3);
    const finish = (reason: SubscriptionEnd | 'gone') => {
      if (over) return;
      over = true;
      clearInterval(heartbeat);
      unsubscribe?.();
      if (reason === 'lagging') {
        // A client this far behind is not reading: drop what is queued for it. EventSource reconnects
        // with the last id it received, and the catch-up read of the new stream gives it the rest.
        out.destroy();
      } else if (!out.writableEnded) {
        // Ended with the terminal state, or the API is stopping: a clean end, so the client reconnects
        // (to this or another API process) with Last-Event-ID.
        out.end();
      }
      resolve();
    };
    // The response closes when the client leaves (or after our own end).
    out.once('close', () => finish('gone'));
    options.hub
      .subscribe({
        filter: options.query,
        afterId: options.afterId,
        deliver: send,
        backlog: () => out.writableLength,
        end: finish,
      })
      .then(
        (stop) => {
          if (over) stop();
          else unsubscribe = stop;
        },
        (error: unknown) => {
          request.log.error({ err: error }, 'event stream failed');
          finish('failed');
        },
      );
  });
}
