// Registries Flotilla checks and pulls from (SPEC S15): credentials are sealed
// at rest and never returned; plain HTTP and unverified TLS only when asked.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { registryViewSchema } from '../../store/registries-repo.ts';

const hostParam = z.object({ registry: z.string().min(1).max(300).describe('id or host[:port]') });
const fields = {
  username: z.string().min(1).max(256), password: z.string().min(1).max(4096),
  insecure: z.boolean(), skipTlsVerify: z.boolean(), concurrency: z.number().int(),
};

export const registryRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const repo = ctx.store.registries;
  const admin = (action: string) => ({ permission: 'updates.admin' as const, audit: `registry.${action}` });

  app.get('/registries', {
    config: { permission: 'updates.read' },
    schema: { tags: ['registries'], summary: 'Registries with their settings (never their passwords) and request counters', response: { 200: z.array(registryViewSchema.extend({ stats: z.object({ requests: z.number(), errors: z.number(), rateLimited: z.number() }).optional() })) } },
  }, async () => {
    const stats = ctx.updates.registry.stats();
    return (await repo.list()).map((r) => ({ ...r, stats: stats[r.host] }));
  });

  app.post('/registries', {
    config: admin('add'),
    schema: {
      tags: ['registries'], summary: 'Add a registry (host[:port] as in image references; docker.io for Docker Hub)',
      body: z.object({ host: z.string().min(1).max(300), ...Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v.optional()])) }).strict(),
      response: { 201: registryViewSchema },
    },
  }, async (req, reply) => {
    req.auditDetail = `host=${req.body.host}`;
    return reply.status(201).send(await repo.add(req.body as never));
  });

  app.get('/registries/:registry', {
    config: { permission: 'updates.read' },
    schema: { tags: ['registries'], summary: 'One registry', params: hostParam, response: { 200: registryViewSchema } },
  }, async (req) => repo.get(req.params.registry));

  app.patch('/registries/:registry', {
    config: admin('update'),
    schema: {
      tags: ['registries'], summary: 'Change a registry; username/password null clears them',
      params: hostParam,
      body: z.object({ username: fields.username.nullable().optional(), password: fields.password.nullable().optional(), insecure: fields.insecure.optional(), skipTlsVerify: fields.skipTlsVerify.optional(), concurrency: fields.concurrency.optional() }).strict(),
      response: { 200: registryViewSchema },
    },
  }, async (req) => repo.update(req.params.registry, req.body));

  app.delete('/registries/:registry', {
    config: admin('remove'),
    schema: { tags: ['registries'], summary: 'Remove a registry', params: hostParam, response: { 204: z.null() } },
  }, async (req, reply) => {
    await repo.remove(req.params.registry);
    return reply.status(204).send(null);
  });
};
