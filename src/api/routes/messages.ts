/** /v1/messages: send, follow, list, reply to and cancel messages. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import { MessageEndedError } from '../../temporal/operation-errors';
import { cancelMessage, messageInput, startMessage, submitReply, subscribe } from '../../temporal/message-operations';
import { notifyFinishedMessage } from '../callbacks';
import { resolveDeliveryPlan } from '../../retry/delivery-plan';
import { DELIVER_MESSAGE_WORKFLOW } from '../../contract/definitions';
import { checkDestination } from '../../destinations/destination-policy';
import { destinationHost, type FieldError, type MessageInput } from '../../contract/message';
import { isTerminal } from '../../contract/message-status';
import { HERALD_DESTINATION, HERALD_STATE } from '../../contract/search-attributes';
import type { ApiContext } from '../app';
import { readMessageStatus } from '../message-status-reader';
import { ProblemError } from '../problem';
import { verifyReplySignature } from '../reply-signature';
import {
  AcceptedSchema,
  CancelInputSchema,
  IdParamsSchema,
  ListMessagesQuerySchema,
  MessageInputSchema,
  MessageListSchema,
  isoTime,
  MessageStatusSchema,
  pageLimit,
  problemResponses as problems,
  ReplyInputSchema,
} from '../schemas';

export function messageRoutes(context: ApiContext): FastifyPluginAsyncTypebox {
  const { client, config } = context;
  const { statusDeps } = context;

  /**
   * Only the API key that sent a message may cancel it or point its outcome at a new URL (a callback
   * carries the reply and is signed with the sender's secret). Messages started outside the API have
   * no sender and are open to every key.
   */
  async function requireSender(id: string, apiKeyName: string | undefined): Promise<void> {
    const message = await messageInput(client, id);
    if (message?.sender && message.sender !== apiKeyName) {
      throw new ProblemError('forbidden', 'only the API key that sent this message may do that');
    }
  }

  return async (app) => {
    app.post(
      '/messages',
      {
        schema: {
          operationId: 'sendMessage',
          summary: 'Send a message',
          description:
            'Validates the message, checks its destination, and starts its delivery. The id (body `id` or `Idempotency-Key` header) makes sending idempotent: the same content again answers 200 with the existing message, other content 409.',
          tags: ['messages'],
          headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
          body: MessageInputSchema,
          response: { 200: AcceptedSchema, 202: AcceptedSchema, ...problems(400, 401, 409, 413, 415, 422, 503) },
        },
      },
      async (request, reply) => {
        const headerKey = request.headers['idempotency-key'];
        const body = request.body;
        if (headerKey !== undefined && body.id !== undefined && headerKey !== body.id) {
          throw new ProblemError('validation-failed', 'the body id and the Idempotency-Key header differ', {
            errors: [{ field: '/id', message: 'must equal the Idempotency-Key header' }],
          });
        }
        // The sender is the API key's name: it picks the key's callback secret and scopes /v1/events.
        const message: MessageInput & { sender?: string } = {
          ...body,
          id: body.id ?? headerKey,
          sender: request.apiKeyName,
        };
        const planned = resolveDeliveryPlan(message, config.delivery);
        if (!planned.ok) {
          throw new ProblemError('unprocessable-message', 'the message breaks a configured limit', {
            errors: planned.errors,
          });
        }
        const refused = await destinationErrors(context, message);
        if (refused.length > 0) {
          throw new ProblemError('destination-not-allowed', refused.map((e) => `${e.field} ${e.message}`).join('; '), {
            errors: refused,
          });
        }
        const started = await startMessage(client, message, config.taskQueue);
        request.log.info(
          { messageId: started.id, existing: started.existing, apiKey: request.apiKeyName },
          'message accepted',
        );
        return reply
          .status(started.existing ? 200 : 202)
          .header('location', `/v1/messages/${encodeURIComponent(started.id)}`)
          .header('retry-after', '1')
          .send(started);
      },
    );

    app.get(
      '/messages/:id',
      {
        schema: {
          operationId: 'getMessage',
          summary: 'Get a message’s status',
          description:
            'The workflow’s status. While the message has not ended the response carries Retry-After (poll again then). When no worker answers, the response says so (`source: visibility`).',
          tags: ['messages'],
          params: IdParamsSchema,
          response: { 200: MessageStatusSchema, ...problems(400, 401, 404, 503) },
        },
      },
      async (request, reply) => {
        const status = await readMessageStatus(statusDeps, request.params.id);
        if (!isTerminal(status.state)) reply.header('retry-after', String(retryAfterSeconds(status.nextAttemptAt)));
        return status;
      },
    );

    app.get(
      '/messages',
      {
        schema: {
          operationId: 'listMessages',
          summary: 'List messages',
          description: 'Through Temporal visibility, newest first. Page with `cursor` (from `nextCursor`).',
          tags: ['messages'],
          querystring: ListMessagesQuerySchema,
          response: { 200: MessageListSchema, ...problems(400, 401, 503) },
        },
      },
      async (request) => {
        const { state, destination, since, cursor } = request.query;
        const limit = pageLimit(request.query.limit, 100, 20);
        // Values are schema-checked (enums, host pattern, date-time), so they cannot break out of the quotes.
        const clauses = [`WorkflowType = '${DELIVER_MESSAGE_WORKFLOW}'`];
        if (state) clauses.push(`${HERALD_STATE.name} = '${state}'`);
        if (destination) clauses.push(`${HERALD_DESTINATION.name} = '${destination}'`);
        if (since) clauses.push(`StartTime >= '${isoTime(since, 'since')}'`);
        const query = clauses.join(' AND ');
        const page = await client.workflowService.listWorkflowExecutions({
          namespace: config.temporal.namespace,
          query,
          pageSize: limit,
          nextPageToken: cursor ? openCursor(cursor, query) : undefined,
        });
        const items = (page.executions ?? []).map((execution) => {
          const attributes = decodeTypedSearchAttributes(execution.searchAttributes?.indexedFields);
          return {
            id: execution.execution?.workflowId ?? '',
            state: attributes.get(HERALD_STATE) ?? null,
            destination: attributes.get(HERALD_DESTINATION) ?? null,
            workflowStatus: workflowStatusName(execution.status),
            startedAt: (optionalTsToDate(execution.startTime) ?? new Date(0)).toISOString(),
            closedAt: optionalTsToDate(execution.closeTime)?.toISOString() ?? null,
          };
        });
        const token = page.nextPageToken;
        return { items, nextCursor: token && token.length > 0 ? sealCursor(token, query) : null };
      },
    );

    app.post(
      '/messages/:id/reply',
      {
        schema: {
          operationId: 'replyToMessage',
          summary: 'Reply to a message',
          description:
            'Hands the downstream’s reply to the waiting message. The body must be signed like a Standard Webhook (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over `id.timestamp.body`) with the reply secret configured for the message’s destination; otherwise 401 and the message never sees it.',
          tags: ['messages'],
          params: IdParamsSchema,
          body: ReplyInputSchema,
          response: { 200: MessageStatusSchema, ...problems(400, 401, 404, 409, 413, 415) },
        },
      },
      async (request) => {
        const { id } = request.params;
        const description = await client.workflow.getHandle(id).describe();
        const host = description.typedSearchAttributes.get(HERALD_DESTINATION) ?? '';
        verifyReplySignature(config.replySecrets, id, host, request.rawBody ?? '', request.headers);
        const status = await submitReply(client, id, request.body);
        return { ...status, source: 'workflow' as const };
      },
    );

    app.post(
      '/messages/:id/subscriptions',
      {
        schema: {
          operationId: 'subscribeToMessage',
          summary: 'Register a callback',
          description:
            'Adds a callback URL to a message: when it reaches its outcome (replied, delivered, dead-lettered, cancelled) Herald POSTs the outcome there, signed per Standard Webhooks with this API key’s callback secret. A message that already has its outcome is reported at once.',
          tags: ['messages'],
          params: IdParamsSchema,
          body: Type.Object({ url: Type.String({ minLength: 1, maxLength: 2048 }) }, { additionalProperties: false }),
          response: {
            201: Type.Object({ id: Type.String(), url: Type.String(), notifiedNow: Type.Boolean() }),
            ...problems(400, 401, 403, 404, 409, 422),
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const { url } = request.body;
        await requireSender(id, request.apiKeyName);
        const check = await checkDestination(url, context.destinationPolicy);
        if (!check.ok) {
          throw new ProblemError('destination-not-allowed', `/url ${check.reason}`, {
            errors: [{ field: '/url', message: check.reason }],
          });
        }
        let notifiedNow: boolean;
        try {
          ({ notifiedNow } = await subscribe(client, id, url));
        } catch (error) {
          if (!(error instanceof MessageEndedError)) throw error;
          await notifyFinishedMessage(client, config.taskQueue, await readMessageStatus(statusDeps, id), url);
          notifiedNow = true;
        }
        return reply.status(201).send({ id, url, notifiedNow });
      },
    );

    app.post(
      '/messages/:id/cancel',
      {
        schema: {
          operationId: 'cancelMessage',
          summary: 'Cancel a message',
          description:
            'Stops a message that has not ended. Answers 202: the message becomes `cancelled` shortly after.',
          tags: ['messages'],
          params: IdParamsSchema,
          body: CancelInputSchema,
          response: {
            202: Type.Object({ id: Type.String(), cancelRequested: Type.Literal(true) }),
            ...problems(400, 401, 403, 404, 409),
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        await requireSender(id, request.apiKeyName);
        await cancelMessage(client, id, request.body?.reason);
        return reply
          .status(202)
          .header('location', `/v1/messages/${encodeURIComponent(id)}`)
          .send({ id, cancelRequested: true });
      },
    );
  };
}

async function destinationErrors(context: ApiContext, message: MessageInput): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const targets: [string, string | undefined][] = [
    ['/destination/url', message.destination.url],
    ['/callback/url', message.callback?.url],
  ];
  for (const [field, url] of targets) {
    if (url === undefined) continue;
    const check = await checkDestination(url, context.destinationPolicy);
    if (!check.ok) errors.push({ field, message: check.reason });
  }
  if (errors.length === 0 && destinationHost(message.destination.url) === '') {
    errors.push({ field: '/destination/url', message: 'has no host' });
  }
  return errors;
}

/**
 * Cursors wrap Temporal's page token with a hash of the query it belongs to: a cursor that is not one
 * of ours, or is used with other filters, is refused at once (400) instead of reaching Temporal.
 */
function sealCursor(token: Uint8Array, query: string): string {
  return Buffer.from(JSON.stringify({ q: queryHash(query), t: Buffer.from(token).toString('base64') })).toString(
    'base64url',
  );
}

function openCursor(cursor: string, query: string): Buffer {
  try {
    const { q, t } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { q?: unknown; t?: unknown };
    if (q === queryHash(query) && typeof t === 'string') return Buffer.from(t, 'base64');
  } catch {
    // fall through
  }
  throw new ProblemError('validation-failed', 'invalid cursor', {
    errors: [{ field: 'query:/cursor', message: 'is not a cursor from a previous page of this same query' }],
  });
}

function queryHash(query: string): string {
  return createHash('sha256').update(query).digest('base64url').slice(0, 16);
}

/** Seconds until the next attempt (between 1 and 30), or 1 when nothing is scheduled. */
function retryAfterSeconds(nextAttemptAt: string | null): number {
  if (!nextAttemptAt) return 1;
  return Math.min(30, Math.max(1, Math.ceil((Date.parse(nextAttemptAt) - Date.now()) / 1000)));
}

const WORKFLOW_STATUS_NAMES = [
  'UNSPECIFIED',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TERMINATED',
  'CONTINUED_AS_NEW',
  'TIMED_OUT',
];

function workflowStatusName(status: number | null | undefined): string {
  return WORKFLOW_STATUS_NAMES[status ?? 0] ?? 'UNKNOWN';
}
