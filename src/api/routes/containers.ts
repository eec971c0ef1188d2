// Container lifecycle on any registered host: list, create, inspect, start/stop/
// restart/kill, remove. Creating a container is checked by the admin-only rule
// (src/policy), as on the fleet Docker endpoint. What runs inside a container
// (logs, exec, stats, top) is in container-runtime.ts.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import {
  createContainer, inspectContainer, listContainers, removeContainer, restartContainer, startContainer, stopContainer, killContainer,
} from '../../docker/containers.ts';
import { boolish, dockerList, dockerObject, hostObjectParams, hostParam } from './params.ts';

const stopQuery = z.object({ t: z.coerce.number().int().min(0).max(600).optional() });

export const containerRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet, adminOnly } = ctx;
  const read = { permission: 'containers.read' as const };
  const operate = (audit: string) => ({ permission: 'containers.operate' as const, audit });

  app.get('/hosts/:host/containers', {
    config: read,
    schema: {
      tags: ['containers'], summary: 'List containers (live from the engine, or from the synced inventory)', params: hostParam,
      querystring: z.object({ all: boolish.default(true), source: z.enum(['live', 'inventory']).default('live') }),
      response: { 200: dockerList },
    },
  }, async (req) => {
    if (req.query.source === 'inventory') return fleet.inventory<Record<string, unknown>>(req.params.host, 'container');
    const { docker } = await fleet.docker(req.params.host);
    return listContainers(docker, { all: req.query.all }) as unknown as Promise<Record<string, unknown>[]>;
  });

  app.post('/hosts/:host/containers', {
    config: operate('container.create'),
    schema: {
      tags: ['containers'], summary: 'Create a container from a Docker create body; optionally start it', params: hostParam,
      body: z.object({
        name: z.string().regex(/^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a Docker container name').max(255).optional(),
        start: z.boolean().default(false),
        config: z.looseObject({ Image: z.string().min(1, 'config.Image is required') }),
      }),
      response: { 201: z.object({ Id: z.string(), Warnings: z.array(z.string()).nullable().optional(), started: z.boolean() }) },
    },
  }, async (req, reply) => {
    await adminOnly.enforce(req.user?.role ?? '', () => adminOnly.containerCreate(req.params.host, req.body.config));
    const { docker } = await fleet.docker(req.params.host);
    const created = await createContainer(docker, req.body.name, req.body.config as never);
    if (req.body.start) await startContainer(docker, created.Id);
    req.auditDetail = `id=${created.Id.slice(0, 12)} image=${req.body.config.Image}`;
    return reply.status(201).send({ ...created, started: req.body.start });
  });

  app.get('/hosts/:host/containers/:id', {
    config: read,
    schema: {
      tags: ['containers'], summary: 'Inspect a container (?size=true adds SizeRw, its writable layer, and SizeRootFs, all its files: slow on big containers)',
      params: hostObjectParams, querystring: z.object({ size: boolish.default(false) }), response: { 200: dockerObject },
    },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return inspectContainer(docker, req.params.id, { size: req.query.size || undefined }) as unknown as Promise<Record<string, unknown>>;
  });

  for (const [action, fn] of [['start', startContainer], ['stop', stopContainer], ['restart', restartContainer], ['kill', killContainer]] as const) {
    app.post(`/hosts/:host/containers/:id/${action}`, {
      config: operate(`container.${action}`),
      schema: { tags: ['containers'], summary: `${action[0]!.toUpperCase()}${action.slice(1)} a container`, params: hostObjectParams, querystring: stopQuery, response: { 204: z.null() } },
    }, async (req, reply) => {
      const { docker } = await fleet.docker(req.params.host);
      await fn(docker, req.params.id, action === 'stop' || action === 'restart' ? { t: req.query.t } : {});
      return reply.status(204).send(null);
    });
  }

  app.delete('/hosts/:host/containers/:id', {
    config: operate('container.remove'),
    schema: {
      tags: ['containers'], summary: 'Remove a container', params: hostObjectParams,
      querystring: z.object({ force: boolish.default(false), volumes: boolish.default(false) }), response: { 204: z.null() },
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    await removeContainer(docker, req.params.id, { force: req.query.force, v: req.query.volumes });
    return reply.status(204).send(null);
  });
};
