// Networks on one host: list, inspect, create, remove, connect, disconnect, prune.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { connectNetwork, createNetwork, disconnectNetwork, inspectNetwork, listNetworks, pruneNetworks, removeNetwork } from '../../docker/networks.ts';
import { dockerList, dockerObject, hostObjectParams, hostParam, objectRef } from './params.ts';

export const networkRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet } = ctx;
  const manage = (audit: string) => ({ permission: 'networks.manage' as const, audit });

  app.get('/hosts/:host/networks', {
    config: { permission: 'networks.read' },
    schema: { tags: ['networks'], summary: 'List networks', params: hostParam, response: { 200: dockerList } },
  }, async (req) => listNetworks((await fleet.docker(req.params.host)).docker) as unknown as Promise<Record<string, unknown>[]>);

  app.get('/hosts/:host/networks/:id', {
    config: { permission: 'networks.read' },
    schema: { tags: ['networks'], summary: 'Inspect a network', params: hostObjectParams, response: { 200: dockerObject } },
  }, async (req) => inspectNetwork((await fleet.docker(req.params.host)).docker, req.params.id) as unknown as Promise<Record<string, unknown>>);

  app.post('/hosts/:host/networks', {
    config: manage('network.create'),
    schema: {
      tags: ['networks'], summary: 'Create a network', params: hostParam,
      body: z.object({
        name: z.string().min(1).max(255).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'a Docker network name'),
        driver: z.string().min(1).max(64).default('bridge'),
        internal: z.boolean().default(false), attachable: z.boolean().default(false),
        labels: z.record(z.string(), z.string()).optional(),
        options: z.record(z.string(), z.string()).optional(),
      }),
      response: { 201: z.object({ Id: z.string(), Warning: z.string().optional() }) },
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    const b = req.body;
    const created = await createNetwork(docker, {
      Name: b.name, Driver: b.driver, Internal: b.internal, Attachable: b.attachable, Labels: b.labels, Options: b.options, CheckDuplicate: true,
    });
    return reply.status(201).send(created);
  });

  app.delete('/hosts/:host/networks/:id', {
    config: manage('network.remove'),
    schema: { tags: ['networks'], summary: 'Remove a network', params: hostObjectParams, response: { 204: z.null() } },
  }, async (req, reply) => {
    await removeNetwork((await fleet.docker(req.params.host)).docker, req.params.id);
    return reply.status(204).send(null);
  });

  app.post('/hosts/:host/networks/:id/connect', {
    config: manage('network.connect'),
    schema: {
      tags: ['networks'], summary: 'Connect a container to a network', params: hostObjectParams,
      body: z.object({ container: objectRef, aliases: z.array(z.string().max(255)).max(100).optional() }), response: { 204: z.null() },
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    await connectNetwork(docker, req.params.id, req.body.container, req.body.aliases ? { endpointConfig: { Aliases: req.body.aliases } } : {});
    return reply.status(204).send(null);
  });

  app.post('/hosts/:host/networks/:id/disconnect', {
    config: manage('network.disconnect'),
    schema: {
      tags: ['networks'], summary: 'Disconnect a container from a network', params: hostObjectParams,
      body: z.object({ container: objectRef, force: z.boolean().default(false) }), response: { 204: z.null() },
    },
  }, async (req, reply) => {
    await disconnectNetwork((await fleet.docker(req.params.host)).docker, req.params.id, req.body.container, { force: req.body.force });
    return reply.status(204).send(null);
  });

  app.post('/hosts/:host/networks/prune', {
    config: manage('network.prune'),
    schema: { tags: ['networks'], summary: 'Remove unused networks', params: hostParam, response: { 200: dockerObject } },
  }, async (req) => pruneNetworks((await fleet.docker(req.params.host)).docker) as unknown as Promise<Record<string, unknown>>);
};
