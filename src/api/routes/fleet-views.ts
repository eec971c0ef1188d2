// Fleet-wide views for the dashboard, from the synced inventory (no engine is
// asked): every container with its host, and the overview — hosts, container
// health per host and overall, capacity, disk usage (measured on its own slow
// cadence, see fleet/disk-usage.ts), Swarm clusters and their quorum.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { ContainerSummary } from '../../docker/containers.ts';
import { addCounts, countHealth, type ContainerHealthCounts } from '../../fleet/fleet-health.ts';
import { FleetContainerList } from '../../fleet/container-list.ts';
import { hostDiskUsageSchema } from '../../fleet/disk-usage.ts';
import { hostViewSchema } from '../../fleet/host-view.ts';
import { clusterViewSchema } from '../../swarm/cluster-view.ts';

const countsSchema = z.object({ total: z.number(), running: z.number(), stopped: z.number(), healthy: z.number(), unhealthy: z.number(), starting: z.number() });
const fleetContainer = z.object({
  host: z.string(), id: z.string(), name: z.string(), image: z.string(), state: z.string(), status: z.string(),
  health: z.enum(['healthy', 'unhealthy', 'starting']).nullable(), created: z.number(),
  ports: z.array(z.string()), labels: z.record(z.string(), z.string()),
});

export const fleetViewRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const containers = new FleetContainerList(ctx.store);
  app.get('/containers', {
    config: { permission: 'containers.read' },
    schema: {
      tags: ['containers'], summary: 'Every container of every host, from the synced inventory (kept current by live events)',
      querystring: z.object({ host: z.string().max(128).optional() }), response: { 200: z.array(fleetContainer) },
    },
  }, async (req, reply) => {
    const names = new Map((await ctx.fleet.listHosts()).map((h) => [h.id, h.name]));
    const out = await containers.list(names, req.query.host);
    // Sent as a string: the schema documents the shape, but checking 10,000 rows against it on the way out
    // cost more than building them.
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(out) as unknown as typeof out);
  });

  app.get('/fleet/overview', {
    config: { permission: 'hosts.read' },
    schema: {
      tags: ['hosts'], summary: 'Fleet health: hosts (status, capacity, disk usage), container health per host and overall, Swarm clusters',
      response: {
        200: z.object({
          hosts: z.array(hostViewSchema.extend({
            health: countsSchema,
            /** The engine's last GET /system/df summary; null until first measured. */
            disk: hostDiskUsageSchema.nullable(),
          })),
          totals: z.object({
            hosts: z.number(), down: z.number(), cpus: z.number(), memoryBytes: z.number(), containers: countsSchema,
            /** Sum of the measured hosts' totalBytes. */
            diskBytes: z.number(),
          }),
          clusters: z.array(clusterViewSchema),
        }),
      },
    },
  }, async () => {
    const hosts = await ctx.fleet.listHosts();
    const disks = await ctx.fleet.diskUsage.figures();
    const byHost = new Map<string, ContainerSummary[]>();
    for (const { hostId, data } of await ctx.fleet.inventoryAll<ContainerSummary>('container')) byHost.set(hostId, [...(byHost.get(hostId) ?? []), data]);
    let all: ContainerHealthCounts = countHealth([]);
    const withHealth = hosts.map((h) => {
      const health = countHealth(byHost.get(h.id) ?? []);
      all = addCounts(all, health);
      return { ...h, health, disk: disks.get(h.id) ?? null };
    });
    return {
      hosts: withHealth,
      totals: {
        hosts: hosts.length, down: hosts.filter((h) => h.status === 'disconnected' || h.status === 'error').length,
        cpus: hosts.reduce((n, h) => n + (h.engine.cpus ?? 0), 0), memoryBytes: hosts.reduce((n, h) => n + (h.engine.memoryBytes ?? 0), 0), containers: all,
        diskBytes: withHealth.reduce((n, h) => n + (h.disk?.totalBytes ?? 0), 0),
      },
      clusters: await ctx.swarm.list(),
    };
  });
};
