/** /v1/messages: send, follow, list, reply to and cancel messages. */
import { readsEveryMessage, requireMessageAccess, requireRole, ROUTE_ROLES } from '../access';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import {
  destinationHost,
  MessageInputSchema,
  validateMessage,
  type FieldError,
  type MessageInput,
  type OrderingDeadLetterMode,
} from '../../contract/message';
import { newMessageId } from '../../contract/ids';
import { createHash } from 'node:crypto';
import { isTerminal, MessageStatusWithSourceSchema, ReplyBodySchema } from '../../contract/message-status';
import { AcceptedMessageSchema, MessageListSchema } from '../../contract/operation-results';
import { checkDestination, type DestinationPolicy } from '../../destinations/destination-policy';
import { resolveDeliveryPlan } from '../../retry/delivery-plan';
import { urlErrors } from '../../contract/url-rules';
import type { OrderingStore } from '../../store/ordering-store';
import type { OrderingStart } from '../../workflows/ordering-turn';
import { ProblemError } from '../problem';
import { problemFromError } from '../error-mapping';
import { blobRef, intakeBody, spillJsonBody } from '../../blobs/body-intake';
import { BlobTooLargeError, type BlobRecord } from '../../blobs/blob-store';
import type { Message } from '../../contract/message';
import { drainUpload, malformedUpload, noPartsAfterBody, readUploadEnvelope, uploadedBody } from '../message-upload';
import { pointerRefusal } from '../../blobs/reply-pointer';
import { secretsFor } from '../../signing/standard-webhooks';
import { BLOB_ID_PATTERN } from '../../contract/blob-ref';
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import type { ReplyBody } from '../../contract/message-status';
import { verifyReplySignature } from '../reply-signature';
import {
  CancelInputSchema,
  IdParamsSchema,
  isoTime,
  ListMessagesQuerySchema,
  pageLimit,
  problemResponses as problems,
  rateLimitedResponse,
} from '../schemas';

const BLOB_ID = new RegExp(BLOB_ID_PATTERN);

/** /v1/messages routes; dependencies come from the instance (see ../decorations.ts). */
export const messageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config, temporal, admission, inFlightLimit, orderingStore, blobs } = app;

  /**
   * A sender key reaches only its own messages; operators act on and read any, readers read any.
   * The sender comes from the memo (a describe()): the history of a long-lived message can be megabytes.
   * Messages with no sender in their memo (started outside the API) are open to every key.
   */
  async function requireAccess(request: FastifyRequest, id: string, kind: 'read' | 'act'): Promise<void> {
    await requireMessageAccess(request.caller!, () => temporal.messageSender(id), kind);
  }

  app.post(
    '/messages',
    {
      config: { multipart: true, roles: ROUTE_ROLES.send },
      schema: {
        operationId: 'sendMessage',
        summary: 'Send a message',
        description:
          'Validates the message, checks its destination, and starts its delivery. The id (body `id` or `Idempotency-Key` header) makes sending idempotent: the same content again answers 200 with the existing message, other content 409. While Temporal is behind, a new message is refused with 429 and `Retry-After` (admission control): keep it and send it again, with the same id, after that many seconds. A message with `orderingKey` takes the next place on its key and destination host when it is accepted, and is delivered only after the one before it has its outcome. A body larger than the JSON limit (HERALD_BODY_LIMIT_BYTES) goes as `multipart/form-data`: a `message` field (this JSON, without a body) and then a `body` file, streamed, up to HERALD_MAX_BODY_BYTES. A body above HERALD_INLINE_BODY_BYTES is kept in the blob store and delivered from there.',
        tags: ['messages'],
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) }),
        body: MessageInputSchema,
        response: {
          200: AcceptedMessageSchema,
          202: AcceptedMessageSchema,
          ...problems(400, 401, 409, 413, 415, 422, 503),
          ...rateLimitedResponse(),
        },
      },
      preValidation: readUploadEnvelope,
      // A refused upload is read to its end, so the client hears why (see drainUpload).
      onError: async (request) => drainUpload(request),
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
      if (request.upload && (body.body !== undefined || body.bodyBase64 !== undefined)) {
        const detail = 'a multipart message has its body in the "body" file, not in the message field';
        throw new ProblemError('validation-failed', detail, { errors: [{ field: '/body', message: detail }] });
      }
      // A body the blob store may keep is kept under the message's id, so the id is known before the start.
      const storesBody = request.upload !== undefined || (request.rawBody?.length ?? 0) > config.blobs.inlineBytes;
      const message: MessageInput & { sender?: string } = {
        ...body,
        // A message with an ordering key needs its id before it starts: its place is claimed under it.
        id: body.id ?? headerKey ?? (body.orderingKey !== undefined || storesBody ? newMessageId() : undefined),
        sender: request.caller!.name,
      };
      const planned = resolveDeliveryPlan(message, config.delivery);
      if (!planned.ok) {
        throw new ProblemError('unprocessable-message', 'the message breaks a configured limit', {
          errors: planned.errors,
        });
      }
      const refused = await destinationErrors(app.destinationPolicy, message);
      if (refused.length > 0) {
        throw new ProblemError('destination-not-allowed', refused.map((e) => `${e.field} ${e.message}`).join('; '), {
          errors: refused,
        });
      }
      // Admission control last: a message that would be refused anyway is told why first, and only a
      // start that would happen is weighed against the backlog.
      const id = message.id;
      const isResend = async () => id !== undefined && (await temporal.messageExists(id));
      // A slot for the message, given back unless it starts (a refusal, a failure, or a resend).
      const release = (await inFlightLimit?.reserve(request.caller!.name, isResend)) ?? (() => undefined);
      let started;
      try {
        started = await admitAndStart(message as Message, request, isResend, storesBody);
      } catch (error) {
        release();
        throw error;
      }
      if (started.existing) release();
      request.log.info(
        { messageId: started.id, existing: started.existing, apiKey: request.caller!.name },
        'message accepted',
      );
      return reply
        .status(started.existing ? 200 : 202)
        .header('location', `/v1/messages/${encodeURIComponent(started.id)}`)
        .header('retry-after', '1')
        .send(started);
    },
  );

  /** Whether a request was refused for good (a 4xx), so what it stored can go. */
  const refusedForGood = (error: unknown) => problemFromError(error).status < 500;

  /** Takes the body (into the blob store when large), then starts the message if admission control lets it. */
  async function admitAndStart(
    message: Message,
    request: FastifyRequest,
    isResend: () => Promise<boolean>,
    storesBody: boolean,
  ) {
    const { message: toStart, blob } = storesBody ? await takeBody(message, request) : { message, blob: undefined };
    let started;
    try {
      started = await admission.admitStart(
        async () => temporal.startMessage(toStart, await claimPlace(orderingStore, toStart, config.orderingDeadLetter)),
        isResend,
      );
    } catch (error) {
      // Refused (a 4xx): no blob is left behind for a message that does not exist. Not after a 5xx:
      // the start may have reached Temporal (a timed-out call), and the sweeper deletes an orphan.
      if (blob && refusedForGood(error)) await blobs.delete(blob.id);
      throw error;
    }
    // A resend: the message that runs has the body it was first sent with.
    if (blob && started.existing) await blobs.delete(blob.id);
    return started;
  }

  /**
   * The body of a multipart send (streamed: inline up to the threshold, else into the blob store), or
   * a JSON body above the threshold moved to the blob store.
   */
  async function takeBody(message: Message, request: FastifyRequest): Promise<{ message: Message; blob?: BlobRecord }> {
    const sender = { sender: request.caller!.name };
    const limits = { inlineBytes: config.blobs.inlineBytes, maxBytes: config.blobs.maxBodyBytes, ...sender };
    if (!request.upload) {
      return spillJsonBody(message, request.rawBody?.length ?? 0, blobs, limits);
    }
    const file = await uploadedBody(request);
    if (!file) return { message };
    const contentType = message.contentType ?? file.mimetype ?? 'application/octet-stream';
    const taken = await intakeBody(file.file, blobs, {
      ...limits,
      messageId: message.id,
      kind: 'body',
      contentType,
    }).catch((error: unknown) => {
      // The upload broke off or did not parse (the file stream failed), unlike the store failing.
      throw file.file.errored ? malformedUpload(error) : error;
    });
    if (file.file.truncated) {
      // busboy cut the file at its limit: what was read is not the body that was sent.
      if (taken.kind === 'stored') await blobs.delete(taken.blob.id);
      throw new BlobTooLargeError(config.blobs.maxBodyBytes);
    }
    try {
      await noPartsAfterBody(request);
    } catch (error) {
      if (taken.kind === 'stored') await blobs.delete(taken.blob.id);
      throw error;
    }
    request.upload = undefined; // read to its end
    if (taken.kind === 'inline') {
      return { message: { ...message, bodyBase64: taken.bytes.toString('base64'), contentType } };
    }
    return { message: { ...message, bodyRef: blobRef(taken.blob) }, blob: taken.blob };
  }

  app.get(
    '/messages/:id',
    {
      config: { roles: ROUTE_ROLES.readMessages },
      schema: {
        operationId: 'getMessage',
        summary: 'Get a message’s status',
        description:
          'The workflow’s status. While the message has not ended the response carries Retry-After (poll again then). When no worker answers, the response says so (`source: visibility`).',
        tags: ['messages'],
        params: IdParamsSchema,
        response: { 200: MessageStatusWithSourceSchema, ...problems(400, 401, 404, 503) },
      },
    },
    async (request, reply) => {
      await requireAccess(request, request.params.id, 'read');
      const status = await temporal.readStatus(request.params.id);
      if (!isTerminal(status.state)) reply.header('retry-after', String(retryAfterSeconds(status.nextAttemptAt)));
      return status;
    },
  );

  app.get(
    '/messages',
    {
      config: { roles: ROUTE_ROLES.readMessages },
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
      // Values are schema-checked (enums, host pattern, date-time), so they cannot break out of the query's quotes.
      // A sender key lists the messages it sent; operators and readers list every one.
      const sender = readsEveryMessage(request.caller!) ? {} : { sender: request.caller!.name };
      return temporal.listMessages({ state, destination, since: isoTime(since, 'since'), ...sender }, limit, cursor);
    },
  );

  app.post(
    '/messages/:id/reply',
    {
      config: { roles: ROUTE_ROLES.reply },
      schema: {
        operationId: 'replyToMessage',
        summary: 'Reply to a message',
        description:
          'Hands the downstream’s reply to the waiting message. The body must be signed like a Standard Webhook (`webhook-id`, `webhook-timestamp`, `webhook-signature`: HMAC-SHA256 over `id.timestamp.body`) with the reply secret configured for the message’s destination; otherwise 401 and the message never sees it. The `webhook-id` is the message id or `<id>#<suffix>`. Answers 200 with the status once the message has taken the reply; an identical resend (same `webhook-id`, same body) answers 200 too, another reply to a message that has one 409. When the message has not settled within `HERALD_REPLY_WAIT`, or Temporal could not run the update at once, answers 202 with `Location` and the status so far: the reply is held by Temporal and the message takes it shortly.',
        tags: ['messages'],
        params: IdParamsSchema,
        body: ReplyBodySchema,
        response: {
          200: MessageStatusWithSourceSchema,
          202: MessageStatusWithSourceSchema,
          ...problems(400, 401, 404, 409, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const rawBody = request.rawBody ?? '';
      const host = await temporal.messageDestination(id);
      const webhookId = verifyReplySignature(config.replySecrets, id, host, rawBody, request.headers);
      // The signed webhook-id and the body's hash identify the reply, so an identical resend is recognised.
      const bodyHash = createHash('sha256').update(rawBody).digest('hex');
      // A large reply is kept in the blob store, and the workflow takes its reference (see storedReply).
      const { reply: taken, blob } = await storedReply(id, request.body, rawBody.length);
      let outcome;
      try {
        outcome = await temporal.submitReply(id, { ...taken, webhookId, bodyHash });
      } catch (error) {
        if (blob && refusedForGood(error)) await blobs.delete(blob.id);
        throw error;
      }
      // A resend of a reply the message took already: the message keeps the first one's blob.
      if (blob && outcome.kind === 'settled' && outcome.status.reply?.bodyRef?.id !== blob.id) {
        await blobs.delete(blob.id);
      }
      if (outcome.kind === 'settled') return { ...outcome.status, source: 'workflow' as const };
      request.log.info({ messageId: id, via: outcome.via }, 'reply held; the message has not settled yet');
      return reply
        .status(202)
        .header('location', `/v1/messages/${encodeURIComponent(id)}`)
        .header('retry-after', '1')
        .send(await temporal.readStatus(id));
    },
  );

  /** A reply whose body is above HERALD_INLINE_BODY_BYTES, with the body moved to the blob store. */
  async function storedReply(id: string, reply: ReplyBody, rawLength: number) {
    if (rawLength <= config.blobs.inlineBytes) return { reply, blob: undefined };
    const bytes = Buffer.from(JSON.stringify(reply.body));
    if (bytes.length <= config.blobs.inlineBytes) return { reply, blob: undefined };
    const sender = await temporal.messageSender(id);
    const blob = await blobs.put(Readable.from([bytes]), {
      messageId: id,
      kind: 'reply',
      contentType: 'application/json',
      ...(sender !== undefined ? { sender } : {}),
      maxBytes: config.blobs.maxBodyBytes,
    });
    const { body: _body, ...rest } = reply;
    return { reply: { ...rest, bodyRef: blobRef(blob) }, blob };
  }

  app.get(
    '/messages/:id/reply/body',
    {
      schema: {
        operationId: 'getReplyBody',
        summary: 'Get a large reply’s body',
        description:
          'Serves the body of a reply kept in the blob store (above HERALD_INLINE_BODY_BYTES: the status shows `reply.bodyRef` instead of `reply.body`), streamed, with its content type, length and `Repr-Digest` (SHA-256). With an API key; or without one, with the `blob`, `expires` and `sig` of the pointer (`reply.bodyUrl`) a callback carried, until it expires (HERALD_BLOB_POINTER_TTL).',
        tags: ['messages'],
        params: IdParamsSchema,
        querystring: Type.Object({
          blob: Type.Optional(Type.String({ maxLength: 40 })),
          expires: Type.Optional(Type.String({ maxLength: 20 })),
          sig: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: { 200: Type.Unknown({ description: 'the reply body, as it was sent' }), ...problems(401, 403, 404) },
      },
      // The pointer works without a key: the handler checks one or the other.
      config: { public: true, keyOptional: true },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { expires, sig, blob: pointed } = request.query;
      const caller = request.caller;
      if (caller) {
        requireRole(caller, ROUTE_ROLES.readMessages, 'GET /v1/messages/:id/reply/body');
        await requireAccess(request, id, 'read');
      }
      const blob = caller ? await replyBlobByStatus(id) : await replyBlobByPointer(id, pointed, expires, sig);
      return reply
        .type(blob.contentType)
        .header('content-length', String(blob.size))
        .header('repr-digest', `sha-256=:${Buffer.from(blob.sha256, 'hex').toString('base64')}:`)
        .send(await blobs.open(blob.id));
    },
  );

  /** With an API key: the blob the message's reply names (from its status). */
  async function replyBlobByStatus(id: string): Promise<BlobRecord> {
    const status = await temporal.readStatus(id);
    const ref = status.reply?.bodyRef;
    const blob = ref ? await blobs.get(ref.id) : undefined;
    // Only a reply blob of this message: a reference handed in by another client cannot open another's body.
    if (ref && blob && blob.messageId === id && blob.kind === 'reply') return blob;
    const detail = !status.reply
      ? 'the message has no reply'
      : !ref
        ? 'the reply’s body is inline: read it from the status'
        : 'the reply’s body is no longer kept (HERALD_BLOB_RETENTION)';
    throw new ProblemError('not-found', detail);
  }

  /**
   * Without a key: the pointer names the blob, and its signature is checked from the blob's own record
   * (message, kind, sender), asking Temporal nothing, so a caller without a valid pointer learns nothing
   * (every refusal is the same 401) and costs one store read.
   */
  async function replyBlobByPointer(id: string, blobId?: string, expires?: string, sig?: string) {
    if (blobId === undefined || expires === undefined || sig === undefined) {
      throw new ProblemError(
        'unauthorized',
        'send an API key as "Authorization: Bearer <key>", or use the pointer a callback carried',
      );
    }
    const blob = BLOB_ID.test(blobId) ? await blobs.get(blobId) : undefined;
    const refusal =
      !blob || blob.messageId !== id || blob.kind !== 'reply'
        ? 'it names no reply of this message that is still kept'
        : pointerRefusal({
            callbackSecrets: secretsFor(config.callbackSecrets, blob.sender),
            messageId: id,
            blobId,
            expires,
            sig,
            nowMs: Date.now(),
          });
    if (refusal) throw new ProblemError('unauthorized', `the pointer does not open this reply: ${refusal}`);
    return blob!;
  }

  app.post(
    '/messages/:id/subscriptions',
    {
      config: { roles: ROUTE_ROLES.actOnMessages },
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
      // A malformed URL is a bad request (400), as for a message's destination; a well-formed one the
      // destination policy refuses is the 422 below.
      const malformed = urlErrors(url, '/url');
      if (malformed.length > 0) {
        throw new ProblemError('validation-failed', 'the request does not match the schema', { errors: malformed });
      }
      await requireAccess(request, id, 'act');
      const check = await checkDestination(url, app.destinationPolicy);
      if (!check.ok) {
        throw new ProblemError('destination-not-allowed', `/url ${check.reason}`, {
          errors: [{ field: '/url', message: check.reason }],
        });
      }
      const { notifiedNow } = await temporal.subscribe(id, url);
      return reply.status(201).send({ id, url, notifiedNow });
    },
  );

  app.post(
    '/messages/:id/cancel',
    {
      config: { roles: ROUTE_ROLES.actOnMessages },
      schema: {
        operationId: 'cancelMessage',
        summary: 'Cancel a message',
        description: 'Stops a message that has not ended. Answers 202: the message becomes `cancelled` shortly after.',
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
      await requireAccess(request, id, 'act');
      await temporal.cancelMessage(id, request.body?.reason);
      return reply
        .status(202)
        .header('location', `/v1/messages/${encodeURIComponent(id)}`)
        .send({ id, cancelRequested: true });
    },
  );
};

async function destinationErrors(policy: DestinationPolicy, message: MessageInput): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const targets: [string, string | undefined][] = [
    ['/destination/url', message.destination.url],
    ['/callback/url', message.callback?.url],
  ];
  for (const [field, url] of targets) {
    if (url === undefined) continue;
    const check = await checkDestination(url, policy);
    if (!check.ok) errors.push({ field, message: check.reason });
  }
  if (errors.length === 0 && destinationHost(message.destination.url) === '') {
    errors.push({ field: '/destination/url', message: 'has no host' });
  }
  return errors;
}

/**
 * The message's place on its ordering key, claimed in the shared store just before its start (a resend
 * gets the place it had). None without a key, and none for a message its start will refuse as invalid.
 */
async function claimPlace(
  store: OrderingStore,
  message: MessageInput,
  defaultOnDeadLetter: OrderingDeadLetterMode,
): Promise<OrderingStart | undefined> {
  const key = message.orderingKey;
  if (key === undefined || message.id === undefined || !validateMessage(message).ok) return undefined;
  const claimed = await store.claim(message.id, destinationHost(message.destination.url), key);
  return { key, ...claimed, onDeadLetter: message.orderingDeadLetter ?? defaultOnDeadLetter };
}

/** Seconds until the next attempt (between 1 and 30), or 1 when nothing is scheduled. */
function retryAfterSeconds(nextAttemptAt: string | null): number {
  if (!nextAttemptAt) return 1;
  return Math.min(30, Math.max(1, Math.ceil((Date.parse(nextAttemptAt) - Date.now()) / 1000)));
}
