/**
 * GET /v1/activity: how many messages reached each state, minute by minute, from the event log (the
 * console's overview chart; any dashboard can use it). A sender key counts its own messages only.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { MESSAGE_STATES } from '../../contract/message-status';
import { parseDuration } from '../../contract/duration';
import { readsEveryMessage, ROUTE_ROLES } from '../access';
import { ProblemError } from '../problem';
import { problemResponses as problems } from '../schemas';

/** The longest window one request may ask for: 24 hours is 1,440 minutes, a chart's worth. */
const MAX_WINDOW_MS = 24 * 60 * 60 * 1000;

const StateCounts = Type.Object(
  Object.fromEntries(MESSAGE_STATES.map((state) => [state, Type.Integer({ minimum: 0 })])),
  { additionalProperties: false },
);

const ActivitySchema = Type.Object({
  from: Type.String({ format: 'date-time', description: 'the first minute counted' }),
  to: Type.String({ format: 'date-time', description: 'now' }),
  minutes: Type.Array(
    Type.Object({
      minute: Type.String({ description: '`YYYY-MM-DDTHH:MM`, UTC' }),
      counts: StateCounts,
    }),
    { description: 'every minute of the window, oldest first, each with the events of each state in it' },
  ),
});

export const activityRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { eventLog } = app;

  app.get(
    '/activity',
    {
      config: { roles: ROUTE_ROLES.readMessages },
      schema: {
        operationId: 'getActivity',
        summary: 'Messages by state, per minute',
        description:
          'How many messages reached each state in each minute of the window (from the event log, so within HERALD_EVENT_RETENTION). A sender key counts the messages it sent; operators and readers every message.',
        tags: ['messages'],
        querystring: Type.Object({
          window: Type.Optional(
            Type.String({ maxLength: 20, description: 'a duration up to 24h, such as 1h (the default) or 30m' }),
          ),
        }),
        response: { 200: ActivitySchema, ...problems(400, 401, 403) },
      },
    },
    async (request) => {
      const raw = request.query.window ?? '1h';
      const windowMs = parseDuration(raw);
      if (windowMs === undefined || windowMs < 60_000 || windowMs > MAX_WINDOW_MS) {
        throw new ProblemError('validation-failed', 'the request does not match the schema', {
          errors: [{ field: 'query:/window', message: 'must be a duration from 1m to 24h, such as 1h' }],
        });
      }
      const now = Date.now();
      const firstMinute = Math.floor((now - windowMs) / 60_000) * 60_000 + 60_000;
      const caller = request.caller!;
      const counted = await eventLog.countByMinute({
        since: new Date(firstMinute).toISOString(),
        ...(readsEveryMessage(caller) ? {} : { sender: caller.name }),
      });
      const empty = () => Object.fromEntries(MESSAGE_STATES.map((state) => [state, 0])) as Record<string, number>;
      const minutes = new Map<string, Record<string, number>>();
      for (let at = firstMinute; at <= now; at += 60_000) minutes.set(new Date(at).toISOString().slice(0, 16), empty());
      for (const { minute, state, count } of counted) {
        const counts = minutes.get(minute);
        if (counts && state in counts) counts[state] = count;
      }
      return {
        from: new Date(firstMinute).toISOString(),
        to: new Date(now).toISOString(),
        minutes: [...minutes].map(([minute, counts]) => ({ minute, counts })),
      };
    },
  );
};
