// Host registry: register, list, change, remove, sync, maintenance, recovery.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { hostPatchSchema, newHostSchema } from '../../fleet/host-input.ts';
import { hostViewSchema } from '../../fleet/host-view.ts';
import { hostDiskUsageSchema } from '../../fleet/disk-usage.ts';
import { hostParam } from './params.ts';

const syncResultSchema = z.object({
  ok: z.boolean(), status: z.string(), durationMs: z.number(), error: z.string().optional(),
  counts: z.record(z.string(), z.number()).optional(),
});
const statusChangeSchema = z.object({ id: z.number(), host_id: z.string(), from_status: z.string(), to_status: z.string(), reason: z.string().nullable(), at: z.string() });

export const hostRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet } = ctx;

  app.get('/hosts', {
    config: { permission: 'hosts.read' },
    schema: { tags: ['hosts'], summary: 'List hosts', response: { 200: z.array(hostViewSchema) } },
  }, async () => fleet.listHosts());

  app.post('/hosts', {
    config: { permission: 'hosts.manage', audit: 'host.add' },
    schema: { tags: ['hosts'], summary: 'Register a direct host by its Docker API endpoint', body: newHostSchema, response: { 201: hostViewSchema } },
  }, async (req, reply) => {
    req.auditDetail = `name=${req.body.name} endpoint=${req.body.endpoint}`;
    return reply.status(201).send(await fleet.addHost(req.body));
  });

  app.get('/hosts/:host', {
    config: { permission: 'hosts.read' },
    schema: { tags: ['hosts'], summary: 'One host', params: hostParam, response: { 200: hostViewSchema } },
  }, async (req) => fleet.getHost(req.params.host));

  app.patch('/hosts/:host', {
    config: { permission: 'hosts.manage', audit: 'host.update' },
    schema: { tags: ['hosts'], summary: 'Change environment or sync interval', params: hostParam, body: hostPatchSchema, response: { 200: hostViewSchema } },
  }, async (req) => fleet.updateHost(req.params.host, req.body));

  app.delete('/hosts/:host', {
    config: { permission: 'hosts.manage', audit: 'host.remove' },
    schema: { tags: ['hosts'], summary: 'Forget a host (its engine is not touched)', params: hostParam, response: { 204: z.null() } },
  }, async (req, reply) => {
    const row = await fleet.getHostRow(req.params.host);
    // An agent's live channel ends with its host; its reconnects then find no host and are refused.
    if (row.kind === 'agent') ctx.cluster?.disconnect(row.id, 'removed');
    await fleet.removeHost(row.id);
    return reply.status(204).send(null);
  });

  app.post('/hosts/:host/sync', {
    config: { permission: 'hosts.manage', audit: 'host.sync' },
    schema: { tags: ['hosts'], summary: 'Sync now and wait for the result', params: hostParam, response: { 200: syncResultSchema } },
  }, async (req) => fleet.syncNow(req.params.host));

  app.post('/hosts/:host/recover', {
    config: { permission: 'hosts.manage', audit: 'host.recover' },
    schema: { tags: ['hosts'], summary: 'Leave the error state and sync at once', params: hostParam, response: { 200: syncResultSchema } },
  }, async (req) => fleet.recover(req.params.host));

  app.post('/hosts/:host/disk-usage/refresh', {
    config: { permission: 'hosts.manage', audit: 'host.disk_usage_refresh' },
    schema: {
      tags: ['hosts'], summary: 'Measure the engine\'s disk usage now (GET /system/df), store and return it; 503 when the host is not connected',
      params: hostParam, response: { 200: hostDiskUsageSchema },
    },
  }, async (req) => fleet.diskUsage.refresh(req.params.host));

  app.put('/hosts/:host/maintenance', {
    config: { permission: 'hosts.manage', audit: 'host.maintenance' },
    schema: {
      tags: ['hosts'], summary: 'Enter or leave maintenance (maintenance stops syncing)', params: hostParam,
      body: z.object({ enabled: z.boolean() }), response: { 200: hostViewSchema },
    },
  }, async (req) => fleet.setMaintenance(req.params.host, req.body.enabled));

  app.get('/hosts/:host/history', {
    config: { permission: 'hosts.read' },
    schema: {
      tags: ['hosts'], summary: 'Status changes with their reasons, newest first', params: hostParam,
      querystring: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.array(statusChangeSchema) },
    },
  }, async (req) => fleet.history(req.params.host, req.query.limit));
};
