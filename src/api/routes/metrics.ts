/**
 * GET /metrics: the API's Prometheus exposition (src/observability/api-metrics.ts). Outside the API
 * keys, as scrapers expect; with HERALD_METRICS_TOKEN set, a scrape must bring that token instead.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { bearerMatches } from '../../observability/metrics-listener';
import { ProblemError } from '../problem';

export const metricsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { metrics, config } = app;
  app.get(
    '/metrics',
    {
      config: { public: true },
      schema: {
        operationId: 'metrics',
        summary: 'Prometheus metrics',
        description:
          'The API process’s metrics in the Prometheus text format: sends by outcome and their latency, redrives, discards, and the dead letters waiting (read from the store at each scrape). Open unless HERALD_METRICS_TOKEN is set; then send it as `Authorization: Bearer <token>`.',
        tags: ['operations'],
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      if (config.metrics.token && !bearerMatches(request.headers.authorization, config.metrics.token)) {
        throw new ProblemError('unauthorized', 'send HERALD_METRICS_TOKEN as "Authorization: Bearer <token>"');
      }
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    },
  );
};
