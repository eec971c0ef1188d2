// What runs inside a container on any registered host: logs (last lines, or
// followed as NDJSON), exec (checked by the admin-only rule: not into a container
// that owns its host), stats (one sample or a stream), and top.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { topContainer } from '../../docker/containers.ts';
import { followContainerLogs, getContainerLogs } from '../../docker/container-logs.ts';
import { getContainerStats, cpuPercent, streamContainerStats } from '../../docker/container-stats.ts';
import { runExec } from '../../docker/exec.ts';
import { splitLines } from '../../docker/stream.ts';
import { clientGone, sendNdjson } from '../ndjson-reply.ts';
import { boolish, dockerObject, hostObjectParams } from './params.ts';

export const MAX_LOG_LINES = 500;

export const containerRuntimeRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet, adminOnly } = ctx;
  const read = { permission: 'containers.read' as const };
  const operate = (audit: string) => ({ permission: 'containers.operate' as const, audit });

  app.get('/hosts/:host/containers/:id/logs', {
    config: read,
    schema: {
      tags: ['containers'], summary: `Last N log lines (N ≤ ${MAX_LOG_LINES}); follow=true streams NDJSON lines until the container stops`,
      params: hostObjectParams,
      querystring: z.object({
        tail: z.coerce.number().int().min(0).max(MAX_LOG_LINES).default(100),
        follow: boolish.default(false), timestamps: boolish.default(false),
      }),
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    const { tail, timestamps } = req.query;
    if (!req.query.follow) return { lines: await getContainerLogs(docker, req.params.id, { tail, timestamps }) };
    const ctl = clientGone(req);
    const frames = followContainerLogs(docker, req.params.id, { tail, timestamps, signal: ctl.signal });
    // Probe the first step so an unknown container is a 404, not a 200 with an error line.
    const lines = splitLines(frames);
    const first = await lines.next();
    async function* all() {
      if (!first.done) yield first.value;
      yield* lines;
    }
    return sendNdjson(reply, all(), ctl, (err) => ({ error: (err as Error).message }));
  });

  app.post('/hosts/:host/containers/:id/exec', {
    config: operate('container.exec'),
    schema: {
      tags: ['containers'], summary: 'Run a command in a running container; returns output and exit code', params: hostObjectParams,
      body: z.object({
        cmd: z.array(z.string().max(64 * 1024)).min(1).max(1000),
        env: z.array(z.string().regex(/^[^=]+=/, 'NAME=value')).max(1000).optional(),
        workingDir: z.string().max(4096).optional(), user: z.string().max(256).optional(),
        timeoutSeconds: z.number().int().min(1).max(600).default(30),
      }),
      response: { 200: z.object({ exitCode: z.number(), stdout: z.string(), stderr: z.string() }) },
    },
  }, async (req) => {
    // Not privileged (the body cannot ask for it); what counts is the container it runs in.
    await adminOnly.enforce(req.user?.role ?? '', () => adminOnly.containerAccess(req.params.host, req.params.id, 'exec in'));
    const { docker } = await fleet.docker(req.params.host);
    const { cmd, env, workingDir, user, timeoutSeconds } = req.body;
    const result = await runExec(docker, req.params.id, cmd, { env, workingDir, user, timeoutMs: timeoutSeconds * 1000 });
    req.auditDetail = `cmd=${JSON.stringify(cmd).slice(0, 200)} exit=${result.exitCode}`;
    return result;
  });

  app.get('/hosts/:host/containers/:id/stats', {
    config: read,
    schema: {
      tags: ['containers'], summary: 'One resource-usage sample, with CPU percent computed; stream=true: one such sample a second as NDJSON until the client leaves',
      params: hostObjectParams, querystring: z.object({ stream: boolish.default(false) }), response: { 200: dockerObject },
    },
  }, async (req, reply) => {
    const { docker } = await fleet.docker(req.params.host);
    if (!req.query.stream) {
      const stats = await getContainerStats(docker, req.params.id);
      return { ...stats, cpu_percent: cpuPercent(stats) };
    }
    const ctl = clientGone(req);
    const samples = streamContainerStats(docker, req.params.id, { signal: ctl.signal });
    // Probe the first sample so an unknown container is a 404, not a 200 with an error line.
    const first = await samples.next();
    async function* all() {
      if (!first.done) yield first.value;
      yield* samples;
    }
    async function* withCpu() {
      for await (const stats of all()) yield { ...stats, cpu_percent: cpuPercent(stats) };
    }
    return sendNdjson(reply, withCpu(), ctl, (err) => ({ error: (err as Error).message }));
  });

  app.get('/hosts/:host/containers/:id/top', {
    config: read,
    schema: { tags: ['containers'], summary: 'Processes in a container', params: hostObjectParams, response: { 200: dockerObject } },
  }, async (req) => {
    const { docker } = await fleet.docker(req.params.host);
    return topContainer(docker, req.params.id) as unknown as Promise<Record<string, unknown>>;
  });
};
