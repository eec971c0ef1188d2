// Image updates over REST (SPEC S15, S6): what is out of date, checks on
// demand, an update of one container (NDJSON steps with ?progress), the update
// history, per-container policy overrides and the update settings.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import type { UpdateCheckRow, UpdateRunRow } from '../../store/updates-repo.ts';
import { updateSettingsPatchSchema, updateSettingsSchema } from '../../updates/settings.ts';
import { EventQueue } from '../event-queue.ts';
import { sendNdjson } from '../ndjson-reply.ts';
import { boolish } from './params.ts';

const policy = z.enum(['auto', 'manual', 'pinned']);

export const updateCheckSchema = z.object({
  host: z.string(), hostId: z.string(), containerId: z.string(), container: z.string(), image: z.string(),
  currentDigest: z.string().nullable(), availableDigest: z.string().nullable(),
  status: z.enum(['up_to_date', 'update_available', 'pinned', 'error', 'unknown']),
  policy, policySource: z.string(), warning: z.string().nullable(), error: z.string().nullable(), checkedAt: z.string(),
});

export const updateRunSchema = z.object({
  id: z.string(), host: z.string(), hostId: z.string(), container: z.string(), oldContainerId: z.string(), newContainerId: z.string().nullable(),
  image: z.string(), fromDigest: z.string().nullable(), toDigest: z.string().nullable(),
  status: z.string(), trigger: z.string(), startedBy: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(),
  durationMs: z.number().nullable(), reason: z.string().nullable(), steps: z.array(z.unknown()),
});

export const agentVersionSchema = z.object({
  host: z.object({ id: z.string(), name: z.string() }), agentVersion: z.string().nullable(), serverVersion: z.string(),
  state: z.enum(['current', 'outdated', 'updating', 'failed', 'no_self_container', 'paused', 'disconnected', 'disabled']),
  container: z.object({ id: z.string(), name: z.string(), image: z.string() }).nullable(), target: z.string().nullable(),
  lastRun: z.object({ id: z.string(), status: z.string(), image: z.string(), reason: z.string().nullable(), startedAt: z.string() }).nullable(),
});

const checkSummarySchema = z.object({
  at: z.string(), hosts: z.number(), containers: z.number(), remoteChecks: z.number(), registryRequests: z.number(),
  updatesAvailable: z.number(), errors: z.number(), durationMs: z.number(),
});

export const updateRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const updates = ctx.updates;
  const names = async () => new Map((await ctx.store.hosts.list()).map((h) => [h.id, h.name]));
  const checkView = (r: UpdateCheckRow, n: Map<string, string>) => ({
    host: n.get(r.host_id) ?? r.host_id, hostId: r.host_id, containerId: r.container_id, container: r.container_name, image: r.image_ref,
    currentDigest: r.current_digest, availableDigest: r.available_digest, status: r.status as never, policy: r.policy as never,
    policySource: r.policy_source, warning: r.warning, error: r.error, checkedAt: r.checked_at,
  });
  const runView = (r: UpdateRunRow, n: Map<string, string>) => ({
    id: r.id, host: n.get(r.host_id) ?? r.host_id, hostId: r.host_id, container: r.container_name, oldContainerId: r.old_container_id,
    newContainerId: r.new_container_id, image: r.image_ref, fromDigest: r.from_digest, toDigest: r.to_digest, status: r.status, trigger: r.trigger,
    startedBy: r.started_by, startedAt: r.started_at, finishedAt: r.finished_at, durationMs: r.duration_ms, reason: r.reason, steps: JSON.parse(r.steps) as unknown[],
  });

  app.get('/updates', {
    config: { permission: 'updates.read' },
    schema: {
      tags: ['updates'], summary: 'The last check of every container: current and available digest, status, resolved policy',
      querystring: z.object({ host: z.string().max(256).optional(), status: updateCheckSchema.shape.status.optional() }),
      response: { 200: z.array(updateCheckSchema) },
    },
  }, async (req) => {
    const n = await names();
    return (await updates.checks({ host: req.query.host, status: req.query.status })).map((r) => checkView(r, n));
  });

  app.post('/updates/check', {
    config: { permission: 'updates.manage', audit: 'updates.check' },
    schema: {
      tags: ['updates'], summary: 'Check the fleet (or the hosts named) now: one registry check per image reference; auto containers in their window are then updated',
      body: z.object({ hosts: z.array(z.string().min(1).max(256)).max(10_000).optional(), autoUpdate: z.boolean().default(true) }).strict().default({ autoUpdate: true }),
      response: { 200: checkSummarySchema },
    },
  }, async (req) => {
    if (req.body.hosts) for (const h of req.body.hosts) await ctx.fleet.getHostRow(h); // 404 naming a host that does not exist
    return updates.check({ hosts: req.body.hosts?.map((h) => h), autoUpdate: req.body.autoUpdate });
  });

  app.post('/hosts/:host/containers/:container/update', {
    config: { permission: 'updates.manage', audit: 'container.update' },
    schema: {
      tags: ['updates'], summary: 'Update one container to the newest image of its tag (or `image`), health-gated, rolled back on failure (?progress=true streams NDJSON steps)',
      params: z.object({ host: z.string().min(1).max(256), container: z.string().min(1).max(256) }),
      querystring: z.object({ progress: boolish.default(false) }),
      body: z.object({ image: z.string().min(1).max(1024).optional() }).strict().default({}),
      response: { 200: updateRunSchema },
    },
  }, async (req, reply) => {
    const who = { user: req.user?.username ?? null, image: req.body.image };
    if (!req.query.progress) return runView(await updates.apply(req.params.host, req.params.container, who), await names());
    const queue = new EventQueue<unknown>();
    // The update goes on when the client leaves; only the stream stops.
    void updates.apply(req.params.host, req.params.container, { ...who, onStep: (e) => queue.push({ type: 'step', ...e }) }).then(
      async (run) => { queue.push({ type: 'done', run: runView(run, await names()) }); queue.end(); },
      (err: Error & { statusCode?: number }) => { queue.push({ type: 'error', status: err.statusCode ?? 500, message: err.message }); queue.end(); },
    );
    return sendNdjson(reply, queue, new AbortController(), (err) => ({ type: 'error', message: (err as Error).message }));
  });

  app.get('/updates/runs', {
    config: { permission: 'updates.read' },
    schema: {
      tags: ['updates'], summary: 'Update history, newest first, with outcomes and rollback reasons',
      querystring: z.object({ host: z.string().max(256).optional(), container: z.string().max(256).optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      response: { 200: z.array(updateRunSchema) },
    },
  }, async (req) => {
    const n = await names();
    return (await updates.runs(req.query)).map((r) => runView(r, n));
  });

  app.get('/updates/agents', {
    config: { permission: 'updates.read' },
    schema: {
      tags: ['updates'], summary: 'Agent hosts: the agent\'s version against the server\'s, its flotilla.self container, the image it follows to, and the last self-update',
      response: { 200: z.array(agentVersionSchema) },
    },
  }, async () => updates.agentVersions());

  app.get('/updates/runs/:id', {
    config: { permission: 'updates.read' },
    schema: { tags: ['updates'], summary: 'One update run with its steps', params: z.object({ id: z.string().uuid() }), response: { 200: updateRunSchema } },
  }, async (req) => runView(await updates.run(req.params.id), await names()));

  app.get('/updates/policies', {
    config: { permission: 'updates.read' },
    schema: { tags: ['updates'], summary: 'The default policy and the per-container overrides (label flotilla.policy wins over both)', response: { 200: z.object({ defaultPolicy: policy, overrides: z.record(z.string(), z.string()) }) } },
  }, async () => {
    const p = await updates.policies.policy();
    return { defaultPolicy: p.defaultPolicy, overrides: p.containerPolicies };
  });

  app.put('/updates/policies/default', {
    config: { permission: 'updates.admin', audit: 'updates.policy.default' },
    schema: { tags: ['updates'], summary: 'Set the server default policy', body: z.object({ policy }).strict(), response: { 204: z.null() } },
  }, async (req, reply) => {
    await updates.setDefaultPolicy(req.body.policy);
    return reply.status(204).send(null);
  });

  app.put('/updates/policies/containers/:container', {
    config: { permission: 'updates.manage', audit: 'updates.policy.set' },
    schema: {
      tags: ['updates'], summary: 'Override the policy of a container (by name; `host` for one host\'s container only); null removes the override',
      params: z.object({ container: z.string().min(1).max(256) }),
      body: z.object({ policy: policy.nullable(), host: z.string().min(1).max(256).optional() }).strict(), response: { 204: z.null() },
    },
  }, async (req, reply) => {
    await updates.setPolicy(req.params.container.replace(/^\//, ''), req.body.policy, req.body.host);
    return reply.status(204).send(null);
  });

  app.get('/updates/settings', {
    config: { permission: 'updates.read' },
    schema: { tags: ['updates'], summary: 'Check interval, update window (server default and per host), health gate', response: { 200: updateSettingsSchema } },
  }, async () => updates.settings.get());

  app.patch('/updates/settings', {
    config: { permission: 'updates.admin', audit: 'updates.settings' },
    schema: { tags: ['updates'], summary: 'Change update settings: checkInterval (6h, 30m; 0 = off), window (cron, UTC; CRON_TZ=… prefix), windowDuration, hostWindows, stable, agentSelfUpdate', body: updateSettingsPatchSchema, response: { 200: updateSettingsSchema } },
  }, async (req) => updates.settings.update(req.body, async (ref) => (await ctx.fleet.getHostRow(ref).catch(() => undefined))?.id));
};
