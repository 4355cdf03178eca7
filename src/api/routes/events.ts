/** Live event streams (Server-Sent Events): one message's state changes, or all of an API key's messages. */
import { followsEveryMessage, requireMessageAccess, ROUTE_ROLES } from '../access';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { isTerminal, type MessageState } from '../../contract/message-status';
import { lastEventId, streamEvents } from '../event-stream';
import { IdParamsSchema, problemResponses as problems } from '../schemas';

const SseResponse = {
  description:
    'text/event-stream. Each event: `id: <log position>`, `event: state`, `data: {"id","state","at","seq","destination"}`. Send `Last-Event-ID` to resume.',
  content: { 'text/event-stream': { schema: Type.String() } },
};

/** Event stream routes; the event log and the Temporal operations come from the instance. */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { temporal, eventLog: events, eventHub: hub } = app;

  app.get(
    '/messages/:id/events',
    {
      config: { roles: ROUTE_ROLES.readMessages },
      schema: {
        operationId: 'streamMessageEvents',
        summary: 'Follow one message',
        description:
          'Server-Sent Events: first the current state, then every state change until a terminal state, then the stream ends. With `Last-Event-ID`, resumes after that event instead.',
        tags: ['events'],
        params: IdParamsSchema,
        response: {
          200: SseResponse,
          204: { description: 'resumed after the terminal event: the stream is over', type: 'null' },
          ...problems(400, 401, 404),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const caller = request.caller!;
      await requireMessageAccess(caller, () => temporal.messageSender(id), 'read');
      const resumeAfter = lastEventId(request);
      const latest = await events.latest(id);
      // Resuming after the terminal event: nothing more will come. 204 tells EventSource to stop reconnecting.
      if (resumeAfter !== undefined && latest && latest.id <= resumeAfter && isTerminal(latest.state as MessageState)) {
        return reply.status(204).send();
      }
      if (resumeAfter !== undefined) {
        await temporal.requireMessage(id);
        return streamEvents(request, reply, {
          hub,
          query: { messageId: id },
          afterId: resumeAfter,
          endOnTerminal: true,
        });
      }
      if (latest) {
        return streamEvents(request, reply, {
          hub,
          query: { messageId: id },
          afterId: latest.id,
          initial: latest,
          endOnTerminal: true,
        });
      }
      // Nothing published yet: the workflow publishes each state change through an activity, so its
      // status may already be ahead of the log (on a fleet, by a worker on another host). Starting from
      // the status and then reading the log from 0 would show a later state before earlier ones; a
      // message that is still going starts from the log, which will hold its whole life in order.
      const status = await temporal.readStatus(id);
      if (!isTerminal(status.state)) {
        return streamEvents(request, reply, { hub, query: { messageId: id }, afterId: 0, endOnTerminal: true });
      }
      // Ended with nothing in the log (a message from before the event log): its status is the whole stream.
      const initial = {
        id: 0,
        messageId: id,
        runId: '',
        seq: 0,
        state: status.state,
        destination: status.destination,
        sender: null,
        at: status.updatedAt,
      };
      return streamEvents(request, reply, {
        hub,
        query: { messageId: id },
        afterId: 0,
        initial,
        endOnTerminal: true,
      });
    },
  );

  app.get(
    '/events',
    {
      config: { roles: ROUTE_ROLES.readMessages },
      schema: {
        operationId: 'streamEvents',
        summary: 'Follow all messages',
        description:
          'Server-Sent Events for every message sent with this API key (every message, for an operator or reader key), from now on (or after `Last-Event-ID`). The stream stays open; an API process that stops ends it, and a reconnect with `Last-Event-ID` (to any API process) misses nothing.',
        tags: ['events'],
        response: { 200: SseResponse, ...problems(401) },
      },
    },
    async (request, reply) => {
      const afterId = lastEventId(request) ?? (await events.lastId());
      return streamEvents(request, reply, {
        hub,
        // Operators and readers follow every message; a sender (or unscoped) key the ones it sent.
        query: followsEveryMessage(request.caller!) ? {} : { sender: request.caller!.name },
        afterId,
        endOnTerminal: false,
      });
    },
  );
};
