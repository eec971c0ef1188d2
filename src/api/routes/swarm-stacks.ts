// Stacks of a cluster, deployed natively from Compose files (SPEC W4), and their
// deployments (W5): deploy (progress streamed as NDJSON with ?progress=true),
// status, tasks, remove; deployments listed, shown, diffed and deployed again.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { AppContext } from '../context.ts';
import { clientGone, sendNdjson } from '../ndjson-reply.ts';
import { EventQueue } from '../event-queue.ts';
import { boolish } from './params.ts';
import { clusterParam } from './swarm-clusters.ts';
import { Stacks, STACK_NAME, type DeployEvent } from '../../stacks/stacks.ts';
import { removeStack, stackState } from '../../stacks/stack-state.ts';
import type { DeploymentRow } from '../../store/deployments-repo.ts';
import type { SpecGate } from '../../swarm/services.ts';
import { roleAllows } from '../../auth/permissions.ts';
import { listTasks } from '../../docker/swarm.ts';
import { STACK_LABEL } from '../../swarm/stacks.ts';

const stackParams = clusterParam.extend({ stack: z.string().regex(STACK_NAME, 'a stack name') });
const deploymentParams = clusterParam.extend({ id: z.string().min(1).max(64) });
const MAX_FILE = 1024 * 1024;
const deployBody = z.object({
  name: z.string().regex(STACK_NAME, 'letters, digits, _ . - (1-63, starting with a letter or digit)'),
  compose: z.string().min(1).max(MAX_FILE).describe('the Compose file (YAML)'),
  env: z.record(z.string().max(256), z.string().max(64 * 1024)).optional().describe('values for ${VAR} (the .env file)'),
  files: z.record(z.string().max(4096), z.string().max(MAX_FILE)).optional().describe('contents of the files the Compose file names (env_file, secrets, configs), by the path written in it'),
  prune: z.boolean().default(false),
  resolveImage: z.enum(['always', 'changed', 'never']).default('always'),
  strategy: z.enum(['rolling', 'blue-green', 'canary']).default('rolling'),
  strategyOptions: z.strictObject({
    services: z.array(z.string().min(1).max(64)).min(1).max(100).optional().describe('Compose service names the strategy applies to (default: every one that changes)'),
    probe: z.strictObject({
      port: z.number().int().min(1).max(65535), path: z.string().regex(/^\//, 'starts with /').max(1024),
      requests: z.number().int().min(1).max(1000).optional(), maxErrorRate: z.number().min(0).max(1).optional(),
    }).optional().describe('an HTTP probe run from inside the stack network'),
    steps: z.array(z.number().int().min(1).max(100)).min(1).max(20)
      .refine((a) => a.every((v, i) => i === 0 || v > a[i - 1]!) && a[a.length - 1] === 100, 'increasing percentages ending at 100')
      .optional().describe('canary: percent of replicas on the new version at each step'),
    stepSeconds: z.number().int().min(1).max(3600).optional().describe('canary: how long each step is watched'),
    keepOldRunning: z.boolean().optional().describe('blue-green: keep the old version running after the switch'),
    removeOldAfterSeconds: z.number().int().min(0).max(86_400).optional().describe('blue-green: when to remove the old version'),
  }).optional(),
  convergeTimeoutSeconds: z.number().int().min(5).max(3600).default(300),
});
const deploymentSchema = z.object({
  id: z.string(), cluster: z.string(), stack: z.string(), status: z.string(), strategy: z.string(),
  startedBy: z.string().nullable(), startedAt: z.string(), finishedAt: z.string().nullable(), durationMs: z.number().nullable(),
  redeployOf: z.string().nullable(), error: z.string().nullable(), warnings: z.array(z.string()),
  outcome: z.array(z.object({ name: z.string(), action: z.string(), outcome: z.string(), message: z.string(), running: z.number().optional(), desired: z.number().optional() })),
  options: z.object({ prune: z.boolean(), resolveImage: z.string(), strategyOptions: z.record(z.string(), z.unknown()).optional() }),
  compose: z.string().optional(), env: z.record(z.string(), z.string()).optional(),
});

function toView(row: DeploymentRow, clusterName: string, full: 'none' | 'keys' | 'all'): z.infer<typeof deploymentSchema> {
  const env = JSON.parse(row.env) as Record<string, string>;
  return {
    id: row.id, cluster: clusterName, stack: row.stack, status: row.status, strategy: row.strategy, startedBy: row.started_by,
    startedAt: row.started_at, finishedAt: row.finished_at, durationMs: row.duration_ms, redeployOf: row.redeploy_of, error: row.error,
    warnings: row.warnings ? (JSON.parse(row.warnings) as string[]) : [], outcome: row.outcome ? JSON.parse(row.outcome) : [],
    options: JSON.parse(row.options),
    ...(full === 'none' ? {} : { compose: row.compose, env: full === 'all' ? env : Object.fromEntries(Object.keys(env).map((k) => [k, '(hidden: swarm.manage reads values)'])) }),
  };
}

export const swarmStackRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { swarm, adminOnly } = ctx;
  const stacks = new Stacks({ swarm, store: ctx.store, log: ctx.log });
  const read = { permission: 'swarm.read' as const };
  const manage = (audit: string) => ({ permission: 'swarm.manage' as const, audit });
  const gateFor = (role: string): SpecGate => (manager, spec, updating) => adminOnly.enforce(role, () => adminOnly.service(manager.host, spec, updating));
  const nameOf = async (cluster: string) => (await swarm.row(cluster)).name;

  /** Runs a deploy; with progress, streams its events and the final deployment as NDJSON. */
  async function runDeploy(req: { user?: { username: string; role: string }; raw: unknown; query: { progress: boolean } }, reply: Parameters<typeof sendNdjson>[0], cluster: string,
    start: (onEvent: (e: DeployEvent) => void) => Promise<DeploymentRow>) {
    const name = await nameOf(cluster);
    if (!req.query.progress) {
      const row = await start(() => undefined);
      return reply.status(201).send(toView(row, name, 'none'));
    }
    const queue = new EventQueue<unknown>();
    // The deploy goes on when the client leaves; only the stream stops.
    void start((e) => queue.push(e)).then(
      (row) => { queue.push({ type: 'done', deployment: toView(row, name, 'none') }); queue.end(); },
      (err: Error & { statusCode?: number; field?: string }) => { queue.push({ type: 'error', status: err.statusCode ?? 500, message: err.message, field: err.field }); queue.end(); },
    );
    return sendNdjson(reply, queue, new AbortController(), (err) => ({ type: 'error', message: (err as Error).message }));
  }

  app.post('/swarm/clusters/:cluster/stacks', {
    config: manage('swarm.stack.deploy'),
    schema: {
      tags: ['stacks'], summary: 'Deploy a Compose file as a stack, natively through the Engine API (?progress=true streams NDJSON steps, then the deployment)',
      params: clusterParam, querystring: z.object({ progress: boolish.default(false) }), body: deployBody, response: { 201: deploymentSchema },
    },
  }, async (req, reply) => {
    const b = req.body;
    const request = {
      stack: b.name, compose: b.compose, env: b.env, files: b.files, prune: b.prune, resolveImage: b.resolveImage,
      strategy: b.strategy, strategyOptions: b.strategyOptions, convergeTimeoutMs: b.convergeTimeoutSeconds * 1000,
    };
    // Bad files are refused here, before anything is recorded or streamed.
    stacks.plan(request);
    req.auditDetail = `stack=${b.name} prune=${b.prune} resolveImage=${b.resolveImage}`;
    return runDeploy(req as never, reply, req.params.cluster, (onEvent) => stacks.deploy(req.params.cluster, request, { user: req.user?.username ?? null, gate: gateFor(req.user?.role ?? ''), onEvent }));
  });

  app.get('/swarm/clusters/:cluster/stacks/:stack', {
    config: read,
    schema: { tags: ['stacks'], summary: 'A stack\'s services with desired, running and failed tasks, converged or converging', params: stackParams },
  }, async (req) => stackState(swarm, req.params.cluster, req.params.stack));

  app.get('/swarm/clusters/:cluster/stacks/:stack/tasks', {
    config: read,
    schema: { tags: ['stacks'], summary: 'The stack\'s tasks (as docker stack ps)', params: stackParams },
  }, async (req) => swarm.withManager(req.params.cluster, (d) => listTasks(d, { filters: { label: [`${STACK_LABEL}=${req.params.stack}`] } })));

  app.delete('/swarm/clusters/:cluster/stacks/:stack', {
    config: manage('swarm.stack.remove'),
    schema: { tags: ['stacks'], summary: 'Remove a stack: its services, networks, secrets and configs (as docker stack rm)', params: stackParams },
  }, async (req) => removeStack(swarm, req.params.cluster, req.params.stack));

  app.get('/swarm/clusters/:cluster/deployments', {
    config: read,
    schema: { tags: ['stacks'], summary: 'Deployments, newest first', params: clusterParam, querystring: z.object({ stack: z.string().max(64).optional() }), response: { 200: z.array(deploymentSchema) } },
  }, async (req) => {
    const name = await nameOf(req.params.cluster);
    return (await stacks.deployments(req.params.cluster, req.query.stack)).map((r) => toView(r, name, 'none'));
  });

  app.get('/swarm/clusters/:cluster/deployments/:id', {
    config: read,
    schema: { tags: ['stacks'], summary: 'One deployment with its Compose file (env values for swarm.manage only; secret contents are never stored)', params: deploymentParams, response: { 200: deploymentSchema } },
  }, async (req) => toView(await stacks.deployment(req.params.cluster, req.params.id), await nameOf(req.params.cluster), roleAllows(req.user!.role, 'swarm.manage') ? 'all' : 'keys'));

  app.get('/swarm/clusters/:cluster/deployments/:id/diff', {
    config: read,
    schema: {
      tags: ['stacks'], summary: 'Services and fields that differ between this deployment and another (`against`)',
      params: deploymentParams, querystring: z.object({ against: z.string().min(1).max(64) }),
    },
  }, async (req) => stacks.diff(req.params.cluster, req.query.against, req.params.id));

  app.post('/swarm/clusters/:cluster/deployments/:id/abort', {
    config: manage('swarm.stack.abort'),
    schema: {
      tags: ['stacks'], summary: 'Abort a running deploy: what it updated is rolled back (the deploy\'s own answer reports the outcome)',
      params: deploymentParams, response: { 202: z.object({ id: z.string(), aborting: z.literal(true) }) },
    },
  }, async (req, reply) => {
    const row = await stacks.abort(req.params.cluster, req.params.id);
    return reply.status(202).send({ id: row.id, aborting: true as const });
  });

  app.post('/swarm/clusters/:cluster/deployments/:id/redeploy', {
    config: manage('swarm.stack.redeploy'),
    schema: {
      tags: ['stacks'], summary: 'Deploy a recorded deployment again (rollback); ?progress=true streams NDJSON',
      params: deploymentParams, querystring: z.object({ progress: boolish.default(false) }), response: { 201: deploymentSchema },
    },
  }, async (req, reply) => {
    req.auditDetail = `deployment=${req.params.id}`;
    await stacks.deployment(req.params.cluster, req.params.id);
    return runDeploy(req as never, reply, req.params.cluster, (onEvent) => stacks.redeploy(req.params.cluster, req.params.id, { user: req.user?.username ?? null, gate: gateFor(req.user?.role ?? ''), onEvent }));
  });
};
