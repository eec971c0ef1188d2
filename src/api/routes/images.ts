// Images on one host: list, inspect, pull (with progress), remove, prune.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { inspectImage, listImages, pruneImages, pullImage, removeImage } from '../../docker/images.ts';
import { clientGone, sendNdjson } from '../ndjson-reply.ts';
import { boolish, dockerList, dockerObject, hostObjectParams, hostParam } from './params.ts';

const imageRef = z.string().min(1).max(512).regex(/^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]*$/, 'an image reference such as registry:5000/repo:tag');

export const imageRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet } = ctx;

  app.get('/hosts/:host/images', {
    config: { permission: 'images.read' },
    schema: { tags: ['images'], summary: 'List images', params: hostParam, response: { 200: dockerList } },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return listImages(docker) as unknown as Promise<Record<string, unknown>[]>;
  });

  app.get('/hosts/:host/images/:id', {
    config: { permission: 'images.read' },
    schema: { tags: ['images'], summary: 'Inspect an image (id or URL-encoded reference)', params: hostObjectParams, response: { 200: dockerObject } },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return inspectImage(docker, req.params.id) as unknown as Promise<Record<string, unknown>>;
  });

  app.post('/hosts/:host/images/pull', {
    config: { permission: 'images.manage', audit: 'image.pull' },
    schema: {
      tags: ['images'], summary: 'Pull an image; progress=true streams the engine\'s progress as NDJSON', params: hostParam,
      body: z.object({ image: imageRef }),
      querystring: z.object({ progress: boolish.default(false) }),
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    req.auditDetail = `image=${req.body.image}`;
    const ctl = clientGone(req);
    const messages = pullImage(docker, req.body.image, { signal: ctl.signal });
    // The first message proves the pull started; failures before it get a real status code.
    const first = await messages.next();
    if (!req.query.progress) {
      let last = first.done ? undefined : first.value;
      for await (const m of messages) last = m;
      const image = await inspectImage(docker, req.body.image);
      return { image: req.body.image, id: image.Id, status: last?.status ?? 'pulled', repoDigests: image.RepoDigests ?? [] };
    }
    async function* all() {
      if (!first.done) yield first.value;
      yield* messages;
      yield { status: 'done', image: req.body.image };
    }
    return sendNdjson(reply, all(), ctl, (err) => ({ error: (err as Error).message }));
  });

  app.delete('/hosts/:host/images/:id', {
    config: { permission: 'images.manage', audit: 'image.remove' },
    schema: {
      tags: ['images'], summary: 'Remove an image', params: hostObjectParams,
      querystring: z.object({ force: boolish.default(false) }), response: { 200: dockerList },
    },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return removeImage(docker, req.params.id, { force: req.query.force }) as unknown as Promise<Record<string, unknown>[]>;
  });

  app.post('/hosts/:host/images/prune', {
    config: { permission: 'images.manage', audit: 'image.prune' },
    schema: {
      tags: ['images'], summary: 'Remove unused images (dangling only unless all=true)', params: hostParam,
      querystring: z.object({ all: boolish.default(false) }), response: { 200: dockerObject },
    },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return pruneImages(docker, { filters: { dangling: [req.query.all ? 'false' : 'true'] } }) as unknown as Promise<Record<string, unknown>>;
  });
};
