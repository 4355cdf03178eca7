/** Live event streams (Server-Sent Events): one message's state changes, or all of an API key's messages. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MessageNotFoundError } from '../../temporal/operation-errors';
import { isTerminal, type MessageState } from '../../contract/message-status';
import type { ApiContext } from '../app';
import { closingRunsOf, tryRecordClosedRun } from '../closed-runs';
import { lastEventId, streamEvents } from '../event-stream';
import { readMessageStatus } from '../message-status-reader';
import { IdParamsSchema, problemResponses as problems } from '../schemas';

const SseResponse = {
  description:
    'text/event-stream. Each event: `id: <log position>`, `event: state`, `data: {"id","state","at","seq","destination"}`. Send `Last-Event-ID` to resume.',
  content: { 'text/event-stream': { schema: Type.String() } },
};

export function eventRoutes(context: ApiContext): FastifyPluginAsyncTypebox {
  const { client, events } = context;
  const { statusDeps } = context;

  return async (app) => {
    app.get(
      '/messages/:id/events',
      {
        schema: {
          operationId: 'streamMessageEvents',
          summary: 'Follow one message',
          description:
            'Server-Sent Events: first the current state, then every state change until a terminal state, then the stream ends (a message whose workflow was terminated or timed out in Temporal ends with `terminated` or `timed_out`). With `Last-Event-ID`, resumes after that event instead.',
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
        const resumeAfter = lastEventId(request);
        // A run Temporal terminated or timed out cannot publish that: the log is told here (and while streaming).
        const closedRuns = {
          client,
          events,
          readStatus: (messageId: string) => readMessageStatus(statusDeps, messageId),
        };
        let latest = await events.latest(id);
        if (!latest || !isTerminal(latest.state as MessageState)) {
          latest = (await tryRecordClosedRun(closedRuns, id, request.log)) ?? latest;
        }
        const stream = closingRunsOf(closedRuns, id, request.log);
        // Resuming after the terminal event: nothing more will come. 204 tells EventSource to stop reconnecting.
        if (
          resumeAfter !== undefined &&
          latest &&
          latest.id <= resumeAfter &&
          isTerminal(latest.state as MessageState)
        ) {
          return reply.status(204).send();
        }
        if (resumeAfter !== undefined) {
          await client.workflow
            .getHandle(id)
            .describe()
            .catch((error: unknown) => {
              throw (error as Error).name === 'WorkflowNotFoundError' ? new MessageNotFoundError(id) : error;
            });
          return streamEvents(request, reply, {
            events: stream,
            query: { messageId: id },
            afterId: resumeAfter,
            endOnTerminal: true,
          });
        }
        if (latest) {
          return streamEvents(request, reply, {
            events: stream,
            query: { messageId: id },
            afterId: latest.id,
            initial: latest,
            endOnTerminal: true,
          });
        }
        // Nothing published yet (or a message from before the event log): start from its status.
        const status = await readMessageStatus(statusDeps, id);
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
          events: stream,
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
        schema: {
          operationId: 'streamEvents',
          summary: 'Follow all messages',
          description:
            'Server-Sent Events for every message sent with this API key, from now on (or after `Last-Event-ID`). The stream stays open.',
          tags: ['events'],
          response: { 200: SseResponse, ...problems(401) },
        },
      },
      async (request, reply) => {
        const afterId = lastEventId(request) ?? (await events.lastId());
        return streamEvents(request, reply, {
          events,
          query: { sender: request.apiKeyName ?? '' },
          afterId,
          endOnTerminal: false,
        });
      },
    );
  };
}
