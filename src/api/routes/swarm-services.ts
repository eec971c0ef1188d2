// Swarm services of a cluster: list, create, inspect, update (with the version it
// is based on: a stale one is 409), scale, rollback, remove, tasks, logs (snapshot
// or followed as NDJSON) and convergence (waited for with ?wait=true, or followed
// as NDJSON progress). Every spec a non-admin sends passes the admin-only rule
// (src/policy) on the manager that takes the call.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { clientGone, sendNdjson } from '../ndjson-reply.ts';
import { boolish, objectRef } from './params.ts';
import { clusterParam, sourceQuery } from './swarm-clusters.ts';
import { MAX_SERVICE_LOG_LINES, SwarmServices, type SpecGate, type WriteResult } from '../../swarm/services.ts';
import { createServiceBody, engineServiceSpecSchema, serviceChangesSchema } from '../../swarm/service-spec.ts';
import { serviceSummarySchema, serviceViewSchema, taskViewSchema } from '../../swarm/service-view.ts';
import { convergeDoneSchema, convergeService, waitForConvergence, type ConvergeDone } from '../../swarm/service-convergence.ts';
import type { ServiceSpec } from '../../docker/swarm.ts';

const serviceParams = clusterParam.extend({ service: objectRef.describe('service name, ID or ID prefix') });
const version = z.number().int().min(0).describe('Version.Index of the service the change is based on (from GET): a stale one is 409');
const waitQuery = z.object({
  wait: boolish.default(false).describe('answer once the service converged (or paused, rolled back, timed out)'),
  waitTimeout: z.coerce.number().int().min(1).max(600).default(120).describe('seconds'),
});
const writeResultSchema = z.object({
  id: z.string(), name: z.string(), version: z.number(), warnings: z.array(z.string()),
  image: z.string().optional(),
  convergence: convergeDoneSchema.optional(),
});
const logLineSchema = z.object({ stream: z.enum(['stdout', 'stderr']), line: z.string(), timestamp: z.string().optional(), task: z.string().optional(), slot: z.number().optional(), node: z.string().optional() });

export const swarmServiceRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { swarm, adminOnly } = ctx;
  const services = new SwarmServices(swarm);
  const read = { permission: 'swarm.read' as const };
  const manage = (audit: string) => ({ permission: 'swarm.manage' as const, audit });
  const base = '/swarm/clusters/:cluster/services';

  /** The admin-only rule for this caller, judged on the manager that takes the write. */
  const gateFor = (role: string): SpecGate => (manager, spec, updating) => adminOnly.enforce(role, () => adminOnly.service(manager.host, spec, updating));

  async function finish(result: WriteResult & { image?: string }, cluster: string, query: z.infer<typeof waitQuery>, expect: 'update' | 'any'): Promise<WriteResult & { image?: string; convergence?: ConvergeDone }> {
    if (!query.wait) return result;
    return { ...result, convergence: await waitForConvergence(swarm, services, cluster, result.id, { timeoutMs: query.waitTimeout * 1000, expect }) };
  }

  app.get(base, {
    config: read,
    schema: { tags: ['swarm'], summary: 'Services with running/desired task counts', params: clusterParam, querystring: sourceQuery, response: { 200: z.array(serviceSummarySchema) } },
  }, async (req) => services.list(req.params.cluster, req.query.source));

  app.post(base, {
    config: manage('swarm.service.create'),
    schema: {
      tags: ['swarm'], summary: 'Create a service from the short form (name, image, replicas, ports …) or a full engine ServiceSpec (`spec`)',
      params: clusterParam, querystring: waitQuery, body: createServiceBody, response: { 201: writeResultSchema },
    },
  }, async (req, reply) => {
    const created = await services.create(req.params.cluster, req.body, gateFor(req.user?.role ?? ''));
    req.auditDetail = `service=${created.name} id=${created.id.slice(0, 12)} image=${(req.body.spec?.TaskTemplate.ContainerSpec.Image ?? req.body.image ?? '').slice(0, 200)}`;
    return reply.status(201).send(await finish(created, req.params.cluster, req.query, 'update'));
  });

  app.get(`${base}/:service`, {
    config: read,
    schema: { tags: ['swarm'], summary: 'One service: spec, version, counts, update and rollback configuration, previous spec', params: serviceParams, response: { 200: serviceViewSchema } },
  }, async (req) => services.inspect(req.params.cluster, req.params.service));

  app.put(`${base}/:service`, {
    config: manage('swarm.service.update'),
    schema: {
      tags: ['swarm'], summary: 'Replace the service\'s spec (a full engine ServiceSpec) at the version it was read',
      params: serviceParams, querystring: waitQuery, body: z.strictObject({ version, spec: engineServiceSpecSchema }), response: { 200: writeResultSchema },
    },
  }, async (req) => {
    const { cluster, service } = req.params;
    const result = await services.replaceSpec(cluster, service, req.body.version, req.body.spec as ServiceSpec, gateFor(req.user?.role ?? ''));
    req.auditDetail = `service=${result.name} version=${req.body.version}→${result.version}`;
    return finish(result, cluster, req.query, 'update');
  });

  app.post(`${base}/:service/update`, {
    config: manage('swarm.service.update'),
    schema: {
      tags: ['swarm'], summary: 'Change parts of the spec (image, env, replicas, update/rollback config …) read at `version`',
      params: serviceParams, querystring: waitQuery, body: serviceChangesSchema.extend({ version }), response: { 200: writeResultSchema },
    },
  }, async (req) => {
    const { cluster, service } = req.params;
    const { version: at, ...changes } = req.body;
    const result = await services.change(cluster, service, at, changes, gateFor(req.user?.role ?? ''));
    req.auditDetail = `service=${result.name} version=${at}→${result.version} fields=${Object.keys(changes).join(',')}`;
    return finish(result, cluster, req.query, 'update');
  });

  app.post(`${base}/:service/scale`, {
    config: manage('swarm.service.scale'),
    schema: {
      tags: ['swarm'], summary: 'Set the replica count (a replicated service)', params: serviceParams, querystring: waitQuery,
      body: z.strictObject({ replicas: z.number().int('a whole number').min(0, 'at least 0').max(10_000) }), response: { 200: writeResultSchema },
    },
  }, async (req) => {
    const { cluster, service } = req.params;
    const result = await services.scale(cluster, service, req.body.replicas, gateFor(req.user?.role ?? ''));
    req.auditDetail = `service=${result.name} replicas=${req.body.replicas}`;
    return finish(result, cluster, req.query, 'update');
  });

  app.post(`${base}/:service/rollback`, {
    config: manage('swarm.service.rollback'),
    schema: {
      tags: ['swarm'], summary: 'Go back to the previous spec, as `docker service rollback` (409 when there is none)',
      params: serviceParams, querystring: waitQuery, response: { 200: writeResultSchema },
    },
  }, async (req) => {
    const { cluster, service } = req.params;
    const result = await services.rollback(cluster, service, gateFor(req.user?.role ?? ''));
    req.auditDetail = `service=${result.name} image=${result.image.slice(0, 200)}`;
    return finish(result, cluster, req.query, 'any');
  });

  app.delete(`${base}/:service`, {
    config: manage('swarm.service.remove'),
    schema: { tags: ['swarm'], summary: 'Remove a service (its tasks stop shortly after)', params: serviceParams, response: { 204: z.null() } },
  }, async (req, reply) => {
    const removed = await services.remove(req.params.cluster, req.params.service);
    req.auditDetail = `service=${removed.name} id=${removed.id.slice(0, 12)}`;
    return reply.status(204).send(null);
  });

  app.get(`${base}/:service/tasks`, {
    config: read,
    schema: {
      tags: ['swarm'], summary: 'The service\'s tasks with node (hostname, registered host) and state; all=false: only current ones',
      params: serviceParams, querystring: z.object({ all: boolish.default(true) }), response: { 200: z.array(taskViewSchema) },
    },
  }, async (req) => services.tasks(req.params.cluster, req.params.service, { all: req.query.all }));

  app.get(`${base}/:service/logs`, {
    config: read,
    schema: {
      tags: ['swarm'], summary: `Last N lines of every task (N ≤ ${MAX_SERVICE_LOG_LINES}), each with task, slot and node; follow=true streams NDJSON`,
      params: serviceParams,
      querystring: z.object({ tail: z.coerce.number().int().min(0).max(MAX_SERVICE_LOG_LINES).default(100), follow: boolish.default(false), timestamps: boolish.default(false) }),
      response: { 200: z.object({ lines: z.array(logLineSchema) }) },
    },
  }, async (req, reply) => {
    const { cluster, service } = req.params;
    const { tail, timestamps } = req.query;
    if (!req.query.follow) return { lines: await services.logs(cluster, service, { tail, timestamps }) };
    const ctl = clientGone(req);
    const lines = await services.followLogs(cluster, service, { tail, timestamps, signal: ctl.signal });
    return sendNdjson(reply, lines, ctl, (err) => ({ error: (err as Error).message }));
  });

  app.get(`${base}/:service/converge`, {
    config: read,
    schema: {
      tags: ['swarm'], summary: 'Follow the service until it converges: NDJSON progress events, then one {type:"done", outcome} (converged, paused, rolled_back, timeout, removed)',
      params: serviceParams,
      querystring: z.object({
        timeout: z.coerce.number().int().min(1).max(600).default(120).describe('seconds'),
        expect: z.enum(['update', 'any']).default('any').describe('update: a rollback the engine made on its own is the outcome rolled_back'),
      }),
    },
  }, async (req, reply) => {
    const { cluster, service } = req.params;
    const ctl = clientGone(req);
    const events = convergeService(swarm, services, cluster, service, { timeoutMs: req.query.timeout * 1000, expect: req.query.expect, signal: ctl.signal });
    // The first poll answers before the stream starts: an unknown service is a 404, not a 200 with an error line.
    const first = await events.next();
    async function* all() {
      if (!first.done) yield first.value;
      yield* events;
    }
    return sendNdjson(reply, all(), ctl, (err) => ({ error: (err as Error).message }));
  });
};
