// Swarm nodes of a cluster: list (with the registered host of each), inspect,
// availability and labels, promote, demote, remove. Changes go to a manager
// (leader first); demoting or removing the last reachable manager, or below
// quorum, is 409 with the reason unless forced.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { SwarmNodes, drainReportSchema, nodeViewSchema } from '../../swarm/nodes.ts';
import { clusterParam } from './swarm-clusters.ts';
import { boolish, dockerObject } from './params.ts';

const nodeParams = clusterParam.extend({ node: z.string().min(1).max(256).describe('node ID, ID prefix, hostname, or registered host name') });
const labelKey = z.string().min(1).max(256).regex(/^[^=\s]+$/, 'a label key without "=" or spaces');
const forceQuery = z.object({ force: boolish.default(false) });

export const swarmNodeRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const nodes = new SwarmNodes({ swarm: ctx.swarm, fleet: ctx.fleet });
  const read = { permission: 'swarm.read' as const };
  const manage = (audit: string) => ({ permission: 'swarm.manage' as const, audit });

  app.get('/swarm/clusters/:cluster/nodes', {
    config: read,
    schema: { tags: ['swarm'], summary: 'Nodes with role, availability, state, leader, reachability and their registered host', params: clusterParam, response: { 200: z.array(nodeViewSchema) } },
  }, async (req) => nodes.list(req.params.cluster));

  app.get('/swarm/clusters/:cluster/nodes/:node', {
    config: read,
    schema: { tags: ['swarm'], summary: 'One node, with the engine\'s inspect answer', params: nodeParams, response: { 200: nodeViewSchema.extend({ inspect: dockerObject }) } },
  }, async (req) => {
    const { view, node } = await nodes.inspect(req.params.cluster, req.params.node);
    return { ...view, inspect: node as unknown as Record<string, unknown> };
  });

  app.patch('/swarm/clusters/:cluster/nodes/:node', {
    config: manage('swarm.node.update'),
    schema: {
      tags: ['swarm'], summary: 'Availability (active, pause, drain) and labels; drain can wait until the node\'s tasks have moved', params: nodeParams,
      body: z.object({
        availability: z.enum(['active', 'pause', 'drain']).optional(),
        labelsAdd: z.record(labelKey, z.string().max(4096)).optional(),
        labelsRemove: z.array(labelKey).max(100).optional(),
        version: z.number().int().nonnegative().optional().describe('the node version the change is based on: a newer node is 409'),
        wait: z.boolean().optional().describe('with availability=drain: answer once the node\'s tasks run elsewhere'),
        waitSeconds: z.number().int().min(1).max(600).optional(),
      }).refine((b) => b.availability || b.labelsAdd || b.labelsRemove, { message: 'nothing to change: give availability, labelsAdd or labelsRemove' }),
      response: { 200: nodeViewSchema.extend({ drain: drainReportSchema.optional() }) },
    },
  }, async (req) => {
    const b = req.body;
    req.auditDetail = [b.availability && `availability=${b.availability}`, b.labelsAdd && `labels+=${Object.keys(b.labelsAdd).join(',')}`, b.labelsRemove && `labels-=${b.labelsRemove.join(',')}`].filter(Boolean).join(' ');
    return nodes.update(req.params.cluster, req.params.node, b);
  });

  app.post('/swarm/clusters/:cluster/nodes/:node/promote', {
    config: manage('swarm.node.promote'),
    schema: { tags: ['swarm'], summary: 'Make the node a manager', params: nodeParams, response: { 200: nodeViewSchema } },
  }, async (req) => nodes.promote(req.params.cluster, req.params.node));

  app.post('/swarm/clusters/:cluster/nodes/:node/demote', {
    config: manage('swarm.node.demote'),
    schema: {
      tags: ['swarm'], summary: 'Make the node a worker; refused for the last reachable manager or below quorum unless force', params: nodeParams,
      body: z.object({ force: z.boolean().default(false) }).default({ force: false }), response: { 200: nodeViewSchema },
    },
  }, async (req) => {
    if (req.body.force) req.auditDetail = 'force';
    return nodes.demote(req.params.cluster, req.params.node, req.body.force);
  });

  app.delete('/swarm/clusters/:cluster/nodes/:node', {
    config: manage('swarm.node.remove'),
    schema: {
      tags: ['swarm'], summary: 'Remove a node from the swarm (a down one; force for others; the manager guard applies)', params: nodeParams,
      querystring: forceQuery, response: { 200: z.object({ id: z.string(), hostname: z.string() }) },
    },
  }, async (req) => {
    if (req.query.force) req.auditDetail = 'force';
    return nodes.remove(req.params.cluster, req.params.node, req.query.force);
  });
};
