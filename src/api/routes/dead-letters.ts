/** /v1/dead-letters: inspect, redrive (one or in bulk) and discard dead letters. */
import { ROUTE_ROLES } from '../access';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DeadLetterRecordSchema } from '../../contract/dead-letter';
import { BulkRedriveResultSchema, RedriveResultSchema } from '../../contract/operation-results';
import { MessageNotFoundError } from '../../temporal/operation-errors';
import { redactMessage } from '../redaction';
import { requireBulkRedriveScope } from '../bulk-redrive-scope';
import {
  BulkRedriveInputSchema,
  DeadLetterListSchema,
  DiscardResultSchema,
  IdParamsSchema,
  isoTime,
  ListDeadLettersQuerySchema,
  pageLimit,
  problemResponses as problems,
} from '../schemas';

/** /v1/dead-letters routes; the store and the Temporal operations come from the instance. */
export const deadLetterRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, temporal, deadLetterStore: store } = app;

  app.get(
    '/dead-letters',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'listDeadLetters',
        summary: 'List dead letters',
        description: 'Oldest first. Filter by reason, destination host, state and time range; page with `cursor`.',
        tags: ['dead letters'],
        querystring: ListDeadLettersQuerySchema,
        response: { 200: DeadLetterListSchema, ...problems(400, 401) },
      },
    },
    async (request) => {
      const { since, until, limit, ...rest } = request.query;
      const page = await store.list({
        ...rest,
        since: isoTime(since, 'since'),
        until: isoTime(until, 'until'),
        limit: pageLimit(limit, 500, 50),
      });
      return {
        items: page.records.map((record) => ({ ...record, message: redactMessage(record.message) })),
        nextCursor: page.nextCursor,
      };
    },
  );

  app.get(
    '/dead-letters/:id',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'getDeadLetter',
        summary: 'Get a dead letter',
        tags: ['dead letters'],
        params: IdParamsSchema,
        response: { 200: DeadLetterRecordSchema, ...problems(400, 401, 404) },
      },
    },
    async (request) => {
      const record = await store.get(request.params.id);
      if (!record) throw new MessageNotFoundError(request.params.id);
      return { ...record, message: redactMessage(record.message) };
    },
  );

  app.post(
    '/dead-letters/:id/redrive',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'redriveDeadLetter',
        summary: 'Redrive a dead letter',
        description:
          'Delivers the message again with the same id. A parked workflow resumes (same history); one whose retention ended is restarted as a new run linked to the old one.',
        tags: ['dead letters'],
        params: IdParamsSchema,
        response: { 200: RedriveResultSchema, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => {
      const result = await temporal.redriveDeadLetter(request.params.id);
      app.metrics.redriven('single');
      return result;
    },
  );

  app.post(
    '/dead-letters/redrive',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'redriveDeadLetters',
        summary: 'Redrive dead letters in bulk',
        description: `Redrives every dead letter matching the filters, paced at HERALD_REDRIVE_RATE per second (now ${config.redriveRatePerSecond}), and answers how many matched and were redriven. It needs a filter or \`all: true\` (an empty body is a 400); \`dryRun: true\` answers how many match and redrives nothing.`,
        tags: ['dead letters'],
        body: BulkRedriveInputSchema,
        response: { 200: BulkRedriveResultSchema, ...problems(400, 401, 415) },
      },
    },
    async (request) => {
      requireBulkRedriveScope(request.body);
      const { since, until, limit, all: _all, dryRun, ...rest } = request.body;
      const result = await temporal.redriveMatching(
        { ...rest, since: isoTime(since, 'since'), until: isoTime(until, 'until') },
        limit ?? 1000,
        { dryRun },
      );
      if (!dryRun) app.metrics.redriven('bulk', result.redriven);
      return result;
    },
  );

  app.delete(
    '/dead-letters/:id',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'discardDeadLetter',
        summary: 'Discard a dead letter',
        description: 'Gives up on the message: the record is marked discarded and its parked workflow ends.',
        tags: ['dead letters'],
        params: IdParamsSchema,
        response: { 200: DiscardResultSchema, ...problems(400, 401, 404, 409) },
      },
    },
    async (request) => {
      await temporal.discardDeadLetter(request.params.id);
      app.metrics.discarded();
      return { id: request.params.id, state: 'discarded' as const };
    },
  );
};
