// Swarm clusters: list, register by a manager host, rename, forget, sync,
// maintenance, recovery, status history; and what the cluster holds (health,
// stacks, tasks, networks), live from a manager or from the synced inventory.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { clusterViewSchema } from '../../swarm/cluster-view.ts';
import { listServices, listTasks, type SwarmService, type SwarmTask } from '../../docker/swarm.ts';
import { listNetworks } from '../../docker/networks.ts';
import { summarizeStacks } from '../../swarm/stacks.ts';
import { dockerList } from './params.ts';

export const clusterParam = z.object({ cluster: z.string().min(1).max(128) });
export const sourceQuery = z.object({ source: z.enum(['live', 'inventory']).default('live') });
const syncResultSchema = z.object({ ok: z.boolean(), status: z.string(), durationMs: z.number(), error: z.string().optional(), manager: z.string().optional() });
const statusChangeSchema = z.object({ id: z.number(), cluster_id: z.string(), from_status: z.string(), to_status: z.string(), reason: z.string().nullable(), at: z.string() });
const stackSchema = z.object({ name: z.string(), services: z.array(z.string()), tasks: z.object({ running: z.number(), desired: z.number() }), belowDesired: z.array(z.string()) });
const clusterName = z.string().min(1).max(64).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits, _ . - (starting with a letter or digit)');
const interval = z.number().int().min(30, 'at least 30 seconds').max(3600, 'at most 3600 seconds');

export const swarmClusterRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { swarm } = ctx;
  const read = { permission: 'swarm.read' as const };
  const manage = (audit: string) => ({ permission: 'swarm.manage' as const, audit });

  app.get('/swarm/clusters', {
    config: read,
    schema: { tags: ['swarm'], summary: 'List Swarm clusters (discovered from synced hosts, or registered)', response: { 200: z.array(clusterViewSchema) } },
  }, async () => swarm.list());

  app.post('/swarm/clusters', {
    config: manage('swarm.cluster.register'),
    schema: {
      tags: ['swarm'], summary: 'Register the cluster that a registered host manages',
      body: z.object({ host: z.string().min(1).max(128).describe('a registered host that is a manager'), name: clusterName.optional(), syncIntervalSeconds: interval.optional() }),
      response: { 201: clusterViewSchema },
    },
  }, async (req, reply) => reply.status(201).send(await swarm.register(req.body)));

  app.get('/swarm/clusters/:cluster', {
    config: read,
    schema: { tags: ['swarm'], summary: 'One cluster: status, health, member hosts', params: clusterParam, response: { 200: clusterViewSchema } },
  }, async (req) => swarm.get(req.params.cluster));

  app.patch('/swarm/clusters/:cluster', {
    config: manage('swarm.cluster.update'),
    schema: {
      tags: ['swarm'], summary: 'Rename a cluster or change its sync interval', params: clusterParam,
      body: z.object({ name: clusterName.optional(), syncIntervalSeconds: interval.optional() }), response: { 200: clusterViewSchema },
    },
  }, async (req) => swarm.update(req.params.cluster, req.body));

  app.delete('/swarm/clusters/:cluster', {
    config: manage('swarm.cluster.forget'),
    schema: { tags: ['swarm'], summary: 'Forget a cluster (its engines are not touched; it is discovered again while a manager host is registered)', params: clusterParam, response: { 204: z.null() } },
  }, async (req, reply) => {
    await swarm.remove(req.params.cluster);
    return reply.status(204).send(null);
  });

  app.post('/swarm/clusters/:cluster/sync', {
    config: manage('swarm.cluster.sync'),
    schema: { tags: ['swarm'], summary: 'Sync now and wait for the result', params: clusterParam, response: { 200: syncResultSchema } },
  }, async (req) => swarm.syncNow(req.params.cluster));

  app.put('/swarm/clusters/:cluster/maintenance', {
    config: manage('swarm.cluster.maintenance'),
    schema: { tags: ['swarm'], summary: 'Turn maintenance on or off (stops syncing)', params: clusterParam, body: z.object({ enabled: z.boolean() }), response: { 200: clusterViewSchema } },
  }, async (req) => swarm.setMaintenance(req.params.cluster, req.body.enabled));

  app.post('/swarm/clusters/:cluster/recover', {
    config: manage('swarm.cluster.recover'),
    schema: { tags: ['swarm'], summary: 'Leave the error state and sync at once', params: clusterParam, response: { 200: syncResultSchema } },
  }, async (req) => swarm.recover(req.params.cluster));

  app.get('/swarm/clusters/:cluster/history', {
    config: read,
    schema: { tags: ['swarm'], summary: 'Status changes with their reasons, newest first', params: clusterParam, response: { 200: z.array(statusChangeSchema) } },
  }, async (req) => swarm.history(req.params.cluster));

  /** Services and tasks, from a manager now or from the last sync. */
  async function servicesAndTasks(cluster: string, source: 'live' | 'inventory'): Promise<{ services: SwarmService[]; tasks: SwarmTask[] }> {
    if (source === 'inventory') return { services: await swarm.inventory(cluster, 'service'), tasks: await swarm.inventory(cluster, 'task') };
    return swarm.withManager(cluster, async (docker) => {
      const [services, tasks] = await Promise.all([listServices(docker), listTasks(docker)]);
      return { services, tasks };
    });
  }

  app.get('/swarm/clusters/:cluster/stacks', {
    config: read,
    schema: { tags: ['swarm'], summary: 'Stacks (services labelled com.docker.stack.namespace) with task counts', params: clusterParam, querystring: sourceQuery, response: { 200: z.array(stackSchema) } },
  }, async (req) => {
    const { services, tasks } = await servicesAndTasks(req.params.cluster, req.query.source);
    return summarizeStacks(services, tasks);
  });

  app.get('/swarm/clusters/:cluster/tasks', {
    config: read,
    schema: {
      tags: ['swarm'], summary: 'Tasks with their node and state', params: clusterParam,
      querystring: sourceQuery.extend({ service: z.string().max(256).optional(), node: z.string().max(256).optional() }), response: { 200: dockerList },
    },
  }, async (req) => {
    const { source, service, node } = req.query;
    if (source === 'inventory') {
      const tasks = await swarm.inventory<SwarmTask>(req.params.cluster, 'task');
      return tasks.filter((t) => (!service || t.ServiceID === service) && (!node || t.NodeID === node)) as unknown as Record<string, unknown>[];
    }
    const filters = { ...(service ? { service: [service] } : {}), ...(node ? { node: [node] } : {}) };
    return swarm.withManager(req.params.cluster, (docker) => listTasks(docker, { filters })) as unknown as Promise<Record<string, unknown>[]>;
  });

  app.get('/swarm/clusters/:cluster/networks', {
    config: read,
    schema: { tags: ['swarm'], summary: 'Swarm-scoped networks (overlay)', params: clusterParam, querystring: sourceQuery, response: { 200: dockerList } },
  }, async (req) => {
    if (req.query.source === 'inventory') return swarm.inventory<Record<string, unknown>>(req.params.cluster, 'network');
    return swarm.withManager(req.params.cluster, (docker) => listNetworks(docker, { filters: { scope: ['swarm'] } })) as unknown as Promise<Record<string, unknown>[]>;
  });
};
