// Swarm secrets and configs of a cluster, the same routes for both kinds:
// list, create, inspect, remove, rotate. Answers carry metadata only; the
// content is sent to the engine and nowhere else (not in answers, audit
// details or logs).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { SwarmData, dataDetailSchema, dataName, dataViewSchema, type DataKind } from '../../swarm/secrets.ts';
import { DataRotation, rotationResultSchema, type RotationEvent } from '../../swarm/secret-rotation.ts';
import { clientGone, sendNdjson } from '../ndjson-reply.ts';
import { clusterParam } from './swarm-clusters.ts';
import { boolish } from './params.ts';

const objectParams = clusterParam.extend({ id: z.string().min(1).max(256).describe('ID, ID prefix or name') });
const labels = z.record(z.string().min(1).max(256), z.string().max(4096));
// No value is ever echoed in a validation message: zod's size and enum messages do not quote the input.
const content = {
  data: z.string().min(1).max(2 * 1024 * 1024).describe('the content, as text or base64 per encoding; never returned, logged or stored'),
  encoding: z.enum(['text', 'base64']).default('text'),
};

/** Turns progress callbacks into the async iterable an NDJSON reply streams. */
function progressStream(run: (emit: (e: RotationEvent) => void) => Promise<unknown>): AsyncIterable<RotationEvent> {
  const queue: RotationEvent[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  let failure: unknown;
  const push = (e: RotationEvent) => {
    queue.push(e);
    wake?.();
  };
  void run(push).catch((err: unknown) => (failure = err)).finally(() => {
    finished = true;
    wake?.();
  });
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (finished) {
          if (failure) throw failure;
          return;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    },
  };
}

export const swarmSecretRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  for (const kind of ['secret', 'config'] as const satisfies DataKind[]) {
    const data = new SwarmData(ctx.swarm, kind);
    const rotation = new DataRotation(ctx.swarm, data);
    const path = `/swarm/clusters/:cluster/${kind}s`;
    const read = { permission: 'swarm.read' as const };
    const manage = (action: string) => ({ permission: 'swarm.manage' as const, audit: `swarm.${kind}.${action}` });

    app.get(path, {
      config: read,
      schema: { tags: ['swarm'], summary: `List ${kind}s (metadata only)`, params: clusterParam, response: { 200: z.array(dataViewSchema) } },
    }, async (req) => data.list(req.params.cluster));

    app.post(path, {
      config: manage('create'),
      schema: {
        tags: ['swarm'], summary: `Create a ${kind}`, params: clusterParam,
        body: z.object({ name: dataName, labels: labels.optional(), ...content }),
        response: { 201: dataViewSchema },
      },
    }, async (req, reply) => {
      req.auditDetail = `name=${req.body.name}`;
      return reply.status(201).send(await data.create(req.params.cluster, req.body));
    });

    app.get(`${path}/:id`, {
      config: read,
      schema: { tags: ['swarm'], summary: `One ${kind}: metadata and the services using it (never the content)`, params: objectParams, response: { 200: dataDetailSchema } },
    }, async (req) => data.inspect(req.params.cluster, req.params.id));

    app.delete(`${path}/:id`, {
      config: manage('remove'),
      schema: { tags: ['swarm'], summary: `Remove a ${kind} (409 while a service uses it)`, params: objectParams, response: { 200: z.object({ id: z.string(), name: z.string() }) } },
    }, async (req) => data.remove(req.params.cluster, req.params.id));

    app.post(`${path}/:id/rotate`, {
      config: manage('rotate'),
      schema: {
        tags: ['swarm'],
        summary: `Rotate a ${kind}: create <base>-v<N+1>, move every service using it (same target), wait until they converge, remove the old one`,
        description: 'With progress=true the answer is NDJSON: progress events, then one {"type":"result"} line. Otherwise one JSON result: 200 when done, 409 rotation_failed (with what was done and rolled back) when not.',
        params: objectParams,
        querystring: z.object({ progress: boolish.default(false) }),
        body: z.object({ ...content, timeoutSeconds: z.number().int().min(5).max(1800).optional().describe('deadline for each service to converge (default 120)') }),
        response: {
          200: rotationResultSchema,
          409: z.object({ error: z.string(), message: z.string(), requestId: z.string(), rotation: rotationResultSchema.optional() }),
        },
      },
    }, async (req, reply) => {
      const { cluster, id } = req.params;
      const input = { data: req.body.data, encoding: req.body.encoding, timeoutMs: req.body.timeoutSeconds ? req.body.timeoutSeconds * 1000 : undefined };
      const audit = (r: { ok: boolean; to: { name: string } | null; services: { name: string; status: string }[]; oldRemoved: boolean }) => {
        req.auditDetail = `to=${r.to?.name ?? '-'} ok=${r.ok} services=${r.services.map((s) => `${s.name}:${s.status}`).join(',') || '-'} oldRemoved=${r.oldRemoved}`;
      };
      if (req.query.progress) {
        const ctl = clientGone(req);
        const events = progressStream(async (emit) => {
          const result = await rotation.rotate(cluster, id, { ...input, onProgress: emit });
          audit(result);
          emit({ type: 'result', ...result });
        });
        return sendNdjson(reply, events, ctl, (err) => ({ type: 'error', error: (err as Error).message }));
      }
      const result = await rotation.rotate(cluster, id, input);
      audit(result);
      if (result.ok) return result;
      return reply.status(409).send({ error: 'rotation_failed', message: result.error ?? 'rotation failed', requestId: req.id, rotation: result });
    });
  }
};
