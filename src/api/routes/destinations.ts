/**
 * /v1/destinations and /v1/settings/retries: the run-time settings of destinations (pause, retry
 * override, rate and concurrency limits, circuit breaker), their current numbers and history, and the
 * global retry switch. A change that lets waiting messages go (a resume, a new retry override,
 * retries back on) wakes them in the background, paced, so it applies at once.
 */
import { ROUTE_ROLES } from '../access';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import {
  DestinationSettingsSchema,
  GLOBAL_DESTINATION,
  GlobalSettingsSchema,
  type DestinationRecord,
  type DestinationSettings,
} from '../../contract/destination';
import type { DestinationStore } from '../../store/destination-store';
import { VersionConflictError } from '../../store/destination-store';
import { ProblemError } from '../problem';
import {
  DestinationChangedSchema,
  DestinationHistorySchema,
  DestinationViewSchema,
  RetriesChangedSchema,
} from '../destination-schemas';
import { pageLimit, problemResponses as problems } from '../schemas';

/**
 * A destination as in HeraldDestination (`new URL(url).host`): a lower-case host name, an IPv4 literal
 * or a bracketed IPv6 literal, with an optional port.
 */
export const DESTINATION_HOST_PATTERN =
  '^(?:(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?)(?:\\.(?:[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?))*|\\[[0-9a-f:.]+\\])(?::[0-9]{1,5})?$';

const HostParamsSchema = Type.Object({
  host: Type.String({ pattern: DESTINATION_HOST_PATTERN, maxLength: 260, description: 'host or host:port' }),
});
const IfMatchHeadersSchema = Type.Object({ 'if-match': Type.Optional(Type.String({ maxLength: 100 })) });
const HistoryQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,3}$', description: '1 to 500, default 50' })),
    before: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'an entry id: older ones' })),
  },
  { additionalProperties: false },
);
const SetRetriesSchema = Type.Object(
  { ...GlobalSettingsSchema.properties, note: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);

/** The record of a destination never configured: its defaults. */
function unconfigured(host: string): DestinationRecord {
  return { host, settings: {}, version: 0, updatedAt: new Date(0).toISOString(), updatedBy: 'herald' };
}

/** The version an If-Match names (`"3"`, `W/"3"` or `3`); a 400 naming the header otherwise. */
function expectedVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?([0-9]{1,15})"?$/.exec(header.trim());
  if (!match) {
    throw new ProblemError('validation-failed', 'the request does not match the schema', {
      errors: [{ field: 'headers:/if-match', message: 'must be an ETag of this destination, e.g. "3"' }],
    });
  }
  return Number(match[1]);
}

const etag = (version: number) => `"${version}"`;

/** Whether a change lets held messages go: a resume, or a changed retry override. */
export function changeReleasesMessages(before: DestinationSettings, after: DestinationSettings): boolean {
  const resumed = before.paused === true && after.paused !== true;
  const retryChanged = JSON.stringify(before.retry ?? null) !== JSON.stringify(after.retry ?? null);
  return resumed || retryChanged;
}

/** /v1/destinations and /v1/settings routes; the stores and Temporal operations come from the instance. */
export const destinationRoutes: FastifyPluginAsyncTypebox<{ destinations: DestinationStore }> = async (
  app,
  { destinations },
) => {
  const { temporal, deadLetterStore } = app;

  /** Wakes in the background: the response does not wait, and the count is logged when done. */
  const wakeInBackground = (log: FastifyBaseLogger, host: string | undefined, identity: string) => {
    void temporal.wakeDestination(host, identity).then(
      (result) => log.info({ destination: host ?? GLOBAL_DESTINATION, ...result }, 'waiting messages woken'),
      (error: unknown) =>
        log.warn({ err: error, destination: host ?? GLOBAL_DESTINATION }, 'could not wake waiting messages'),
    );
  };

  const view = async (record: DestinationRecord, waiting: Map<string, number>) => {
    const now = new Date();
    const breaker = record.settings.circuitBreaker;
    const [leasesInFlight, breakerSnapshot, delivering, paused, awaitingReply] = await Promise.all([
      destinations.leasesInFlight(record.host, now),
      breaker ? destinations.breakerSnapshot(record.host, breaker, now) : Promise.resolve(undefined),
      temporal.countRunning(record.host, 'delivering'),
      temporal.countRunning(record.host, 'paused'),
      temporal.countRunning(record.host, 'awaiting_reply'),
    ]);
    return {
      ...record,
      ...(breakerSnapshot ? { breakerSnapshot } : {}),
      leasesInFlight,
      deadLettersWaiting: waiting.get(record.host) ?? 0,
      running: { delivering, paused, awaiting_reply: awaitingReply },
    };
  };

  /** Dead letters waiting, by destination (the store's grouped count the metrics read too). */
  const waitingByDestination = async () => {
    const counts = new Map<string, number>();
    for (const group of (await deadLetterStore.waiting()).groups) {
      counts.set(group.destination, (counts.get(group.destination) ?? 0) + group.count);
    }
    return counts;
  };

  const change = async (
    request: FastifyRequest,
    reply: FastifyReply,
    host: string,
    mode: 'replace' | 'merge',
    settings: DestinationSettings,
    ifMatch: string | undefined,
    note?: string,
  ) => {
    const expectVersion = expectedVersion(ifMatch);
    const before = (await destinations.get(host))?.settings ?? {};
    let record: DestinationRecord;
    try {
      record = await destinations.update(host, {
        mode,
        settings,
        actor: request.caller?.name ?? 'unknown',
        at: new Date(),
        ...(note !== undefined ? { note } : {}),
        ...(expectVersion !== undefined ? { expectVersion } : {}),
      });
    } catch (error) {
      if (error instanceof VersionConflictError) {
        throw new ProblemError(
          'precondition-failed',
          `destination ${host} is at version ${error.currentVersion}, not ${expectVersion}: read it again`,
          { currentVersion: error.currentVersion },
        );
      }
      throw error;
    }
    const requested = changeReleasesMessages(before, record.settings);
    if (requested) wakeInBackground(request.log, host, request.caller?.name ?? 'herald');
    void reply.header('etag', etag(record.version));
    return { ...record, woken: { requested } };
  };

  app.get(
    '/destinations',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'listDestinations',
        summary: 'List destinations with settings',
        description:
          'Every destination an operator configured, with its current numbers: breaker, leases in flight, dead letters waiting, and running messages by state.',
        tags: ['destinations'],
        response: { 200: Type.Object({ items: Type.Array(DestinationViewSchema) }), ...problems(401) },
      },
    },
    async () => {
      const waiting = await waitingByDestination();
      const records = await destinations.list();
      return { items: await Promise.all(records.map((record) => view(record, waiting))) };
    },
  );

  app.get(
    '/destinations/:host',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'getDestination',
        summary: 'Get a destination',
        description:
          'A destination never configured answers its defaults (settings {}, version 0). The ETag is its version.',
        tags: ['destinations'],
        params: HostParamsSchema,
        response: { 200: DestinationViewSchema, ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const { host } = request.params;
      const record = (await destinations.get(host)) ?? unconfigured(host);
      void reply.header('etag', etag(record.version));
      return view(record, await waitingByDestination());
    },
  );

  app.put(
    '/destinations/:host',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'putDestination',
        summary: 'Replace a destination’s settings',
        description:
          'The settings become exactly the body. With If-Match, refused (412) unless the destination is at that version.',
        tags: ['destinations'],
        params: HostParamsSchema,
        headers: IfMatchHeadersSchema,
        body: DestinationSettingsSchema,
        response: { 200: DestinationChangedSchema, ...problems(400, 401, 412, 415) },
      },
    },
    async (request, reply) =>
      change(request, reply, request.params.host, 'replace', request.body, request.headers['if-match']),
  );

  app.patch(
    '/destinations/:host',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'patchDestination',
        summary: 'Change some of a destination’s settings',
        description:
          'Fields given change, `null` clears one, others stay. With If-Match, refused (412) unless at that version.',
        tags: ['destinations'],
        params: HostParamsSchema,
        headers: IfMatchHeadersSchema,
        body: DestinationSettingsSchema,
        response: { 200: DestinationChangedSchema, ...problems(400, 401, 412, 415) },
      },
    },
    async (request, reply) =>
      change(request, reply, request.params.host, 'merge', request.body, request.headers['if-match']),
  );

  app.get(
    '/destinations/:host/history',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'destinationHistory',
        summary: 'A destination’s history',
        description:
          'Newest first: settings changes (who, when, before and after) and breaker transitions. Page with `before`.',
        tags: ['destinations'],
        params: HostParamsSchema,
        querystring: HistoryQuerySchema,
        response: { 200: DestinationHistorySchema, ...problems(400, 401) },
      },
    },
    async (request) => ({
      items: await destinations.history(request.params.host, {
        limit: pageLimit(request.query.limit, 500, 50),
        ...(request.query.before !== undefined ? { beforeId: Number(request.query.before) } : {}),
      }),
    }),
  );

  app.get(
    '/settings/retries',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'getRetries',
        summary: 'The global retry switch',
        tags: ['destinations'],
        response: { 200: GlobalSettingsSchema, ...problems(401) },
      },
    },
    async () => ({ retries: (await destinations.global()).retries }),
  );

  app.put(
    '/settings/retries',
    {
      config: { roles: ROUTE_ROLES.operate },
      schema: {
        operationId: 'setRetries',
        summary: 'Switch retries on or off for every destination',
        description:
          'off: failed attempts are not retried until on again (first attempts still go). Off → on wakes waiting messages, paced.',
        tags: ['destinations'],
        body: SetRetriesSchema,
        response: { 200: RetriesChangedSchema, ...problems(400, 401, 415) },
      },
    },
    async (request) => {
      const before = await destinations.global();
      const actor = request.caller?.name ?? 'unknown';
      const after = await destinations.setGlobal(
        { retries: request.body.retries },
        actor,
        new Date(),
        request.body.note,
      );
      const requested = before.retries === 'off' && after.retries === 'on';
      if (requested) wakeInBackground(request.log, undefined, actor);
      return { retries: after.retries, woken: { requested } };
    },
  );

  app.get(
    '/settings/retries/history',
    {
      config: { roles: ROUTE_ROLES.readOperations },
      schema: {
        operationId: 'retriesHistory',
        summary: 'The global switch’s history',
        tags: ['destinations'],
        querystring: HistoryQuerySchema,
        response: { 200: DestinationHistorySchema, ...problems(400, 401) },
      },
    },
    async (request) => ({
      items: await destinations.history(GLOBAL_DESTINATION, {
        limit: pageLimit(request.query.limit, 500, 50),
        ...(request.query.before !== undefined ? { beforeId: Number(request.query.before) } : {}),
      }),
    }),
  );
};
