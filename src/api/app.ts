/**
 * The HTTP API as a Fastify app (a plugin tree; `server.ts` only listens). Every route declares its
 * schemas, one error handler maps every error to RFC 9457 problem+json, and API keys guard everything
 * but health and documentation.
 */
import { codecRoutes } from './routes/codec';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { HeraldConfig } from '../config/config';
import { createApiKeyVerifier } from './auth';
import { requireRole } from './access';
import { keyRateLimitOptions } from './key-limits';
import { problemResponses, rateLimitedResponse } from './schemas';
import rateLimit from '@fastify/rate-limit';
import { problemClientErrorHandler } from './client-errors';
import { dependencyDecorations, type ApiDependencies } from './decorations';
import type { EventHub } from './event-hub';
import { problemFromError } from './error-mapping';
import { jsonNestsDeeperThan, MAX_JSON_DEPTH } from './json-depth';
import { refuseMessageBreakingWireRules } from './message-wire-rules';
import { refuseMultipartElsewhere } from './message-upload';
import { ProblemError } from './problem';
import { refuseKeyInQuery, withLoggableUrls } from './query-credentials';
import { traceRequests } from '../observability/api-tracing';
import { deadLetterRoutes } from './routes/dead-letters';
import { destinationRoutes } from './routes/destinations';
import { eventRoutes } from './routes/events';
import { activityRoutes } from './routes/activity';
import { healthRoutes } from './routes/health';
import { consoleRoutes } from './routes/console';
import { metricsRoutes } from './routes/metrics';
import { messageRoutes } from './routes/messages';

export type { ApiDependencies };

export type HeraldApp = Awaited<ReturnType<typeof buildApp>>;

/** A route URL such as `/v1/messages/:id` as a regular expression over concrete paths. */
function routePattern(url: string): RegExp {
  const escaped = url
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}/?$`);
}

/**
 * How long a closing API lets requests in flight finish: the longest one a client is promised is a
 * reply POST waiting HERALD_REPLY_WAIT, plus time to answer.
 */
export function apiDrainMs(config: HeraldConfig): number {
  return config.replyWaitMs + 2_000;
}

/**
 * A graceful stop: on close, before Fastify cuts connections, the API stops accepting connections, ends
 * every event stream cleanly (the hub closes its subscribers: an EventSource reconnects, elsewhere, with
 * Last-Event-ID), and waits up to `drainMs` for the requests in flight to be answered.
 */
function drainOnClose(server: Server, hub: EventHub, log: FastifyBaseLogger, drainMs: number) {
  const open = new Set<ServerResponse>();
  let closing = false;
  server.on('request', (_request: IncomingMessage, response: ServerResponse) => {
    open.add(response);
    response.once('close', () => open.delete(response));
    // A request that came on a kept-alive connection while closing is answered, and its connection then
    // closed, so the client's next request opens one to another API process.
    if (closing) response.setHeader('connection', 'close');
  });
  return async () => {
    closing = true;
    // Fastify closes the server again after this hook; it ignores the "not running" that answers.
    if (server.listening) server.close();
    await hub.close();
    const deadline = Date.now() + drainMs;
    while (open.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    if (open.size > 0) log.warn({ requests: open.size, drainMs }, 'requests still open at close: cut');
  };
}

/** Builds the app; call `ready()` or `listen()` on it. */
export async function buildApp(deps: ApiDependencies) {
  const app = Fastify({
    loggerInstance: withLoggableUrls(deps.logger),
    clientErrorHandler: problemClientErrorHandler,
    bodyLimit: deps.config.api.bodyLimitBytes,
    // After the drain below (streams ended, requests finished or out of time), whatever connection is
    // left (idle keep-alive sockets, a request past the drain) is closed rather than waited for.
    forceCloseConnections: true,
    // A request on a kept-alive connection during the drain is served (and its connection closed above),
    // not refused with a 503: a rolling restart must give clients no 5xx (test/multi-host/rolling-restart).
    return503OnClosing: false,
    // Request ids in logs, and a client may pass its own for tracing.
    requestIdHeader: 'x-request-id',
    ajv: {
      // No type coercion: "5" is not 5, and a client should hear so.
      customOptions: { coerceTypes: false, allErrors: true, removeAdditional: false, useDefaults: true },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // First, so the span covers every hook after it and wraps every route's handler.
  if (deps.tracer) traceRequests(app, deps.tracer);
  const registeredRoutes: { method: string; url: string; hidden: boolean }[] = [];
  app.decorate('registeredRoutes', registeredRoutes);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const hidden = route.url.startsWith('/docs') || Boolean((route.schema as { hide?: boolean } | undefined)?.hide);
    for (const method of methods) registeredRoutes.push({ method, url: route.url, hidden });
    // A route for some roles can refuse a key (403); with a rate limit every keyed route can answer 429.
    const response = (route.schema as { response?: Record<string, unknown> } | undefined)?.response;
    if (route.config?.roles && response) {
      response['403'] ??= problemResponses(403)[403];
      if (deps.config.api.rateLimit) response['429'] ??= rateLimitedResponse()[429];
    }
  });
  // Decorated once; routes read them from the instance (fastify/demo's way), never from app.ts.
  const decorations = dependencyDecorations(deps);
  app.decorate('config', decorations.config);
  app.decorate('temporal', decorations.temporal);
  app.decorate('deadLetterStore', decorations.deadLetterStore);
  app.decorate('eventLog', decorations.eventLog);
  app.decorate('orderingStore', decorations.orderingStore);
  app.decorate('blobs', decorations.blobs);
  app.decorate('eventHub', decorations.eventHub);
  app.addHook('preClose', drainOnClose(app.server, decorations.eventHub, app.log, apiDrainMs(deps.config)));
  app.decorate('destinationPolicy', decorations.destinationPolicy);
  app.decorate('admission', decorations.admission);
  app.decorate('inFlightLimit', decorations.inFlightLimit);
  app.decorate('metrics', decorations.metrics);
  app.addHook('onClose', async () => decorations.admission.close());

  // JSON only, and keep the raw text: reply signatures are computed over the exact bytes sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    request.rawBody = text;
    if (text.trim() === '') return done(null, undefined);
    if (jsonNestsDeeperThan(text, MAX_JSON_DEPTH)) {
      const detail = `JSON nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`;
      return done(new ProblemError('json-too-deep', detail, { maxDepth: MAX_JSON_DEPTH }), undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (error) {
      done(new ProblemError('invalid-json', (error as Error).message), undefined);
    }
  });

  // A large body comes as multipart/form-data to POST /v1/messages (api/message-upload.ts), streamed:
  // one envelope field of at most the JSON body limit, one file of at most HERALD_MAX_BODY_BYTES.
  // No part-count limits: busboy stops delivering parts at one, leaving the request unread; a part
  // after the body is refused by the route instead (message-upload.ts). One byte over the largest body
  // is read, so the blob store sees it and refuses the body (a truncated file would look complete).
  await app.register(multipart, {
    limits: { fieldSize: deps.config.api.bodyLimitBytes, fileSize: deps.config.blobs.maxBodyBytes + 1 },
    throwFileSizeLimit: false,
  });

  // An absent body is an empty object: optional-body POSTs (cancel, bulk redrive) validate, and a
  // required field missing from an empty POST is named like any other missing field.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method !== 'GET' && request.method !== 'HEAD') request.body = {};
  });

  const verifyKey = createApiKeyVerifier(deps.config.api.keys);
  /** Methods served on a concrete path (empty when no route has the path). */
  const allowedMethods = (path: string) => [
    ...new Set(registeredRoutes.filter((route) => routePattern(route.url).test(path)).map((r) => r.method)),
  ];
  const methodNotAllowed = (method: string, allowed: string[]) =>
    new ProblemError('method-not-allowed', `${method} is not allowed here; use ${allowed.join(', ')}`);

  app.addHook('onRequest', async (request, reply) => {
    refuseKeyInQuery(request.url);
    await refuseMultipartElsewhere(request);
    // A known path with another method is 405 with Allow (RFC 9110 §15.5.6), decided before any body is
    // parsed: a method such as QUERY would otherwise fail on its missing Content-Type first.
    if (request.routeOptions.url === undefined) {
      const allowed = allowedMethods(request.url.split('?')[0] ?? '/');
      if (allowed.length > 0) {
        void reply.header('allow', allowed.join(', '));
        throw methodNotAllowed(request.method, allowed);
      }
    }
    if (request.routeOptions.config?.public || request.url.startsWith('/docs')) {
      const caller = request.routeOptions.config?.keyOptional ? verifyKey(request.headers.authorization) : undefined;
      if (caller) request.caller = caller;
      return;
    }
    const caller = verifyKey(request.headers.authorization);
    if (!caller) throw new ProblemError('unauthorized', 'send an API key as "Authorization: Bearer <key>"');
    request.caller = caller;
    // Before the body is read: a key without the role learns only that.
    const roles = request.routeOptions.config?.roles;
    if (roles) requireRole(caller, roles, `${request.method} ${request.routeOptions.url}`);
  });

  app.addHook('preHandler', refuseMessageBreakingWireRules);
  // Every answer to a send is counted, refusals included (a 429, a 400, a 5xx): the accept metrics.
  app.addHook('onResponse', async (request, reply) => {
    if (request.method === 'POST' && request.routeOptions.url === '/v1/messages') {
      decorations.metrics.sent(reply.statusCode, reply.elapsedTime / 1000);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = problemFromError(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    void reply.headers(problem.headers());
    void reply.status(problem.status).type('application/problem+json').send(problem.body(request.url));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    const allowed = allowedMethods(path);
    const problem =
      allowed.length > 0
        ? methodNotAllowed(request.method, allowed)
        : new ProblemError('not-found', `no route for ${request.method} ${path}`);
    if (allowed.length > 0) void reply.header('allow', allowed.join(', '));
    void reply.status(problem.status).type('application/problem+json').send(problem.body(request.url));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Herald API',
        version: '1.0.0',
        description:
          'Durable outbound messaging on Temporal: send messages, follow them, hand over replies, and operate the dead-letter queue. Errors are RFC 9457 problem+json.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'an API key from HERALD_API_KEYS' } },
      },
      security: [{ apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Before every route: the limit's hook is added to each route as it registers.
  const rateLimitOptions = keyRateLimitOptions(deps.config.api.rateLimit);
  if (rateLimitOptions) await app.register(rateLimit, rateLimitOptions);
  await app.register(healthRoutes);
  await app.register(consoleRoutes);
  await app.register(metricsRoutes);
  await app.register(codecRoutes);
  await app.register(messageRoutes, { prefix: '/v1' });
  await app.register(deadLetterRoutes, { prefix: '/v1' });
  await app.register(eventRoutes, { prefix: '/v1' });
  await app.register(activityRoutes, { prefix: '/v1' });
  if (deps.destinations) await app.register(destinationRoutes, { prefix: '/v1', destinations: deps.destinations });

  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  return app;
}
