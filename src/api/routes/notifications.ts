// Where update notices go (SPEC S15): webhooks (HMAC-SHA256 signed), Slack and
// ntfy. URLs and secrets are sealed at rest; answers show scheme://host/… only.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { NOTICE_KINDS, TARGET_KINDS } from '../../updates/notify/index.ts';

const targetSchema = z.object({
  id: z.string(), name: z.string(), kind: z.enum(TARGET_KINDS), url: z.string(), hasSecret: z.boolean(),
  events: z.array(z.enum(NOTICE_KINDS)), enabled: z.boolean(), createdAt: z.string(),
  lastDelivery: z.unknown().optional(),
});
const deliverySchema = z.object({
  targetId: z.string(), targetName: z.string(), event: z.string(), deliveryId: z.string(), ok: z.boolean(), attempts: z.number(),
  status: z.number().optional(), error: z.string().optional(), durationMs: z.number(),
});
const targetParam = z.object({ target: z.string().min(1).max(100).describe('id or name') });

export const notificationRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const repo = ctx.store.notifications;
  const notifier = ctx.updates.notifier;
  const admin = (action: string) => ({ permission: 'updates.admin' as const, audit: `notification.${action}` });

  app.get('/notifications', {
    config: { permission: 'updates.read' },
    schema: { tags: ['notifications'], summary: 'Notification targets (URLs redacted, secrets never shown) with their last delivery', response: { 200: z.array(targetSchema) } },
  }, async () => (await repo.list()).map((t) => ({ ...t, lastDelivery: notifier.lastDelivery(t.id) })));

  app.post('/notifications', {
    config: admin('add'),
    schema: {
      tags: ['notifications'], summary: 'Add a target: webhook (JSON, X-Flotilla-Signature), slack (incoming webhook) or ntfy (topic URL; secret = bearer token)',
      body: z.object({
        name: z.string().min(1).max(64), kind: z.enum(TARGET_KINDS), url: z.string().min(1).max(2048), secret: z.string().min(1).max(1024).optional(),
        events: z.array(z.enum(NOTICE_KINDS)).min(1).optional(), enabled: z.boolean().optional(),
      }).strict(),
      response: { 201: targetSchema },
    },
  }, async (req, reply) => {
    req.auditDetail = `name=${req.body.name} kind=${req.body.kind}`;
    return reply.status(201).send(await repo.add(req.body));
  });

  app.delete('/notifications/:target', {
    config: admin('remove'),
    schema: { tags: ['notifications'], summary: 'Remove a target', params: targetParam, response: { 204: z.null() } },
  }, async (req, reply) => {
    await repo.remove(req.params.target);
    return reply.status(204).send(null);
  });

  app.post('/notifications/:target/test', {
    config: admin('test'),
    schema: { tags: ['notifications'], summary: 'Send a test notice now and answer how the delivery went', params: targetParam, response: { 200: deliverySchema } },
  }, async (req) => notifier.test(req.params.target));
};
