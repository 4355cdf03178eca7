/** /healthz (the process is up) and /readyz (Temporal reachable, a worker polling, the store writable). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { problemType } from '../problem';

const CHECK_TIMEOUT_MS = 3_000;

const CheckSchema = Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) });
const ReadinessSchema = Type.Object(
  {
    type: Type.Optional(Type.String()),
    title: Type.Optional(Type.String()),
    status: Type.Union([Type.Integer(), Type.String()]),
    checks: Type.Object({ temporal: CheckSchema, worker: CheckSchema, deadLetterStore: CheckSchema }),
  },
  { additionalProperties: true },
);

/** Health routes; Temporal, the store and config come from the instance. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { deadLetterStore: store, config } = app;

  async function check(
    probe: () => Promise<boolean | void>,
    failure: string,
  ): Promise<{ ok: boolean; detail?: string }> {
    try {
      const result = await Promise.race([
        probe(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS)),
      ]);
      return result === false ? { ok: false, detail: failure } : { ok: true };
    } catch (error) {
      return { ok: false, detail: `${failure}: ${(error as Error).message}` };
    }
  }

  app.get(
    '/healthz',
    {
      config: { public: true },
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness',
        tags: ['health'],
        security: [],
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { public: true },
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness',
        description:
          '200 when Temporal answers, a worker polls the task queue and the dead-letter store takes writes; 503 (problem+json) otherwise.',
        tags: ['health'],
        security: [],
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const [temporal, worker, deadLetterStore] = await Promise.all([
        check(() => app.temporal.ping(), 'Temporal is not reachable'),
        check(() => app.temporal.workerIsPolling(), `no worker is polling task queue ${config.taskQueue}`),
        check(() => store.ping(), 'the dead-letter store does not take writes'),
      ]);
      const checks = { temporal, worker, deadLetterStore };
      if (temporal.ok && worker.ok && deadLetterStore.ok) return { status: 'ready', checks };
      return reply
        .status(503)
        .type('application/problem+json')
        .send({ type: problemType('not-ready'), title: 'Not ready', status: 503, checks });
    },
  );
};
