/**
 * A server span for each API request, in three Fastify hooks rather than @opentelemetry/instrumentation-http
 * or -fastify: those patch `http` and `fastify` through a require hook that must load before them (a
 * `--require` preload in every entry, the tests included) and bring their own dependencies, while a
 * span per route is all the trace needs. The span continues a `traceparent` the client sent.
 *
 * The handler runs inside the span's context (the route's handler is wrapped when the route is
 * added), so the StartWorkflow span of Temporal's client interceptor becomes its child.
 */
import { context, propagation, SpanKind, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify';

/** Any app, whatever its logger and type provider: the hooks read only the request and reply. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFastifyInstance = FastifyInstance<any, any, any, any, any>;

const spans = new WeakMap<FastifyRequest, Span>();

/** Adds the hooks to an app (before its routes are registered); probes and docs (public routes) are not traced. */
export function traceRequests(app: AnyFastifyInstance, tracer: Tracer): void {
  app.addHook('onRoute', (route) => {
    if ((route.config as { public?: boolean } | undefined)?.public || route.url.startsWith('/docs')) return;
    const handler = route.handler as (...args: unknown[]) => unknown;
    route.handler = function (this: unknown, request: FastifyRequest, ...rest: unknown[]) {
      const span = spans.get(request);
      if (!span) return handler.call(this, request, ...rest);
      return context.with(trace.setSpan(context.active(), span), () => handler.call(this, request, ...rest));
    } as RouteHandlerMethod;
  });
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || (request.routeOptions.config as { public?: boolean } | undefined)?.public) return;
    if (route.startsWith('/docs')) return;
    const parent = propagation.extract(context.active(), request.headers);
    // Named by the route template, never the concrete path (ids stay out of span names).
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'http.route': route, 'url.scheme': request.protocol },
      },
      parent,
    );
    spans.set(request, span);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    spans.delete(request);
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
}
