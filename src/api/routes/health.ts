// Liveness, readiness and Prometheus metrics.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sql } from 'kysely';
import type { AppContext } from '../context.ts';

export const healthRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/healthz', {
    config: { access: 'health' },
    schema: { tags: ['health'], summary: 'Liveness: the process answers', response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { access: 'health' },
    schema: {
      tags: ['health'], summary: 'Readiness: the store answers',
      response: { 200: z.object({ status: z.literal('ready') }), 503: z.object({ status: z.literal('not_ready'), reason: z.string() }) },
    },
  }, async (_req, reply) => {
    try {
      await sql`select 1`.execute(ctx.store.db);
      return { status: 'ready' as const };
    } catch (err) {
      return reply.status(503).send({ status: 'not_ready' as const, reason: `store: ${(err as Error).message}` });
    }
  });

  app.get('/metrics', {
    config: { permission: 'metrics.read' },
    schema: { tags: ['health'], summary: 'Prometheus metrics (send a bearer token)' },
  }, async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
};
