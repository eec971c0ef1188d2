// Which engines are in a swarm: init on a registered host, join hosts to a
// cluster, leave, the swarm's settings and their update, and — for admins,
// audited — the join tokens.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { clusterViewSchema } from '../../swarm/cluster-view.ts';
import { SwarmLifecycle } from '../../swarm/lifecycle.ts';
import { clusterParam } from './swarm-clusters.ts';

const hostRef = z.string().min(1).max(128);
/** host:port or an IP / interface name, as `docker swarm init --advertise-addr` takes. */
const addr = z.string().min(1).max(255).regex(/^[\w.:\-[\]%]+$/, 'an address (ip, ip:port or interface name)');
const clusterName = z.string().min(1).max(64).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');
const settingsSchema = z.object({
  taskHistoryLimit: z.number().int().nullable(), certExpirySeconds: z.number().nullable(), autolock: z.boolean(), createdAt: z.string(), updatedAt: z.string().nullable(),
});

export const swarmLifecycleRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const lifecycle = new SwarmLifecycle({ swarm: ctx.swarm, fleet: ctx.fleet, log: ctx.log });
  const admin = (audit: string) => ({ permission: 'swarm.admin' as const, audit });

  app.post('/swarm/init', {
    config: admin('swarm.init'),
    schema: {
      tags: ['swarm'], summary: 'Initialise a swarm on a registered host and register the new cluster',
      body: z.object({ host: hostRef, name: clusterName.optional(), advertiseAddr: addr.optional(), listenAddr: addr.optional(), dataPathAddr: addr.optional(), forceNewCluster: z.boolean().optional() }),
      response: { 201: clusterViewSchema },
    },
  }, async (req, reply) => {
    req.auditDetail = `host=${req.body.host}`;
    return reply.status(201).send(await lifecycle.init(req.body));
  });

  app.post('/swarm/clusters/:cluster/join', {
    config: admin('swarm.join'),
    schema: {
      tags: ['swarm'], summary: 'Join a registered host (direct or agent) to the cluster; the join token is read from a manager and never returned',
      params: clusterParam,
      body: z.object({
        host: hostRef, role: z.enum(['worker', 'manager']).default('worker'), advertiseAddr: addr.optional(), listenAddr: addr.optional(),
        timeoutSeconds: z.number().int().min(5).max(300).optional().describe('give up (and cancel the join) after this long; default 30'),
      }),
      response: { 200: clusterViewSchema },
    },
  }, async (req) => {
    req.auditDetail = `host=${req.body.host} role=${req.body.role}`;
    return lifecycle.join(req.params.cluster, req.body);
  });

  app.post('/swarm/leave', {
    config: admin('swarm.leave'),
    schema: {
      tags: ['swarm'], summary: 'Make a registered host leave its swarm (a manager needs force); optionally remove its node from the cluster',
      body: z.object({ host: hostRef, force: z.boolean().default(false), removeNode: z.boolean().default(false) }),
      response: { 200: z.object({ host: z.string(), left: z.string().nullable(), nodeRemoved: z.boolean() }) },
    },
  }, async (req) => {
    req.auditDetail = `host=${req.body.host}${req.body.force ? ' force' : ''}`;
    return lifecycle.leave(req.body);
  });

  app.get('/swarm/clusters/:cluster/settings', {
    config: { permission: 'swarm.read' },
    schema: { tags: ['swarm'], summary: 'The swarm\'s settings (task history, certificate expiry, autolock)', params: clusterParam, response: { 200: settingsSchema } },
  }, async (req) => lifecycle.settings(req.params.cluster));

  app.patch('/swarm/clusters/:cluster/settings', {
    config: admin('swarm.update'),
    schema: {
      tags: ['swarm'], summary: 'Update the swarm: rotate join tokens or the unlock key, task history limit, certificate expiry, autolock',
      params: clusterParam,
      body: z.object({
        rotateWorkerToken: z.boolean().optional(), rotateManagerToken: z.boolean().optional(), rotateUnlockKey: z.boolean().optional(),
        taskHistoryLimit: z.number().int().min(0).max(1000).optional(),
        certExpirySeconds: z.number().int().min(3600, 'at least 1 hour (the engine\'s minimum)').max(100 * 365 * 86400).optional(),
        autolock: z.boolean().optional(),
      }).refine((b) => Object.keys(b).length > 0, 'name at least one setting to change'),
      response: { 200: z.object({ cluster: clusterViewSchema, unlockKey: z.string().optional().describe('shown once, when autolock is turned on or the key rotated') }) },
    },
  }, async (req) => {
    req.auditDetail = Object.keys(req.body).join(',');
    return lifecycle.update(req.params.cluster, req.body);
  });

  app.get('/swarm/clusters/:cluster/join-tokens', {
    config: admin('swarm.join_tokens.read'),
    schema: {
      tags: ['swarm'], summary: 'The join tokens and manager addresses, for joining an engine Flotilla does not manage (admins; audited)',
      params: clusterParam, response: { 200: z.object({ worker: z.string(), manager: z.string(), managerAddrs: z.array(z.string()) }) },
    },
  }, async (req) => lifecycle.joinTokens(req.params.cluster));
};
