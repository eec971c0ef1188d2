// The audit log and stored Docker events, queryable.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';

const auditEntry = z.object({
  id: z.number(), at: z.string(), user_id: z.string().nullable(), username: z.string().nullable(), action: z.string(),
  target: z.string().nullable(), result: z.enum(['ok', 'error', 'denied']), detail: z.string().nullable(),
  request_id: z.string().nullable(), source_ip: z.string().nullable(),
});

export const auditRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/audit', {
    config: { permission: 'audit.read' },
    schema: {
      tags: ['audit'], summary: 'Audit log, newest first',
      querystring: z.object({
        limit: z.coerce.number().int().min(1).max(1000).default(100),
        before: z.coerce.number().int().min(1).optional(),
        username: z.string().max(64).optional(),
        action: z.string().max(200).optional(),
        target: z.string().max(300).optional(),
      }),
      response: { 200: z.array(auditEntry) },
    },
  }, async (req) => ctx.store.audit.query({ limit: req.query.limit, beforeId: req.query.before, username: req.query.username, action: req.query.action, target: req.query.target }));

  app.get('/events', {
    config: { permission: 'events.read' },
    schema: {
      tags: ['events'], summary: 'Docker events ingested from every host, newest first',
      querystring: z.object({
        host: z.string().max(128).optional(),
        type: z.string().max(64).optional(),
        after: z.coerce.number().int().min(0).optional(),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
    },
  }, async (req) => {
    const hostId = req.query.host ? (await ctx.fleet.getHost(req.query.host)).id : undefined;
    const rows = await ctx.store.events.query({ hostId, type: req.query.type, afterId: req.query.after, limit: req.query.limit });
    return rows.map((r) => ({ ...r, data: JSON.parse(r.data) as unknown }));
  });
};
