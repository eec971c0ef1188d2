// Agents from the operator's side: enrollment tokens (with ready-to-run agent
// commands), the agent endpoint's status, and the actions on agent hosts
// (pause, resume, revoke, ping). The token text is only ever in the create answer.
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { Conflict, FlotillaError, HostUnreachable, NotFound } from '../../errors.ts';
import type { HostRow } from '../../store/hosts-repo.ts';
import type { Cluster } from '../../cluster/cluster.ts';
import { SERVER_VERSION } from '../../cluster/cluster.ts';
import { hostViewSchema } from '../../fleet/host-view.ts';
import type { AppContext } from '../context.ts';
import { hostParam } from './params.ts';

/** FLOTILLA_CLUSTER=false: there is no agent endpoint to enroll with or talk through. */
class AgentEndpointDisabled extends FlotillaError {
  override readonly statusCode = 503;
  override readonly code = 'cluster_disabled';
  constructor() {
    super('the agent endpoint is disabled (FLOTILLA_CLUSTER=false)');
  }
}

const PING_TIMEOUT_MS = 10_000;
export const AGENT_IMAGE = `flotilla/agent:${SERVER_VERSION}`;

export const enrollTokenInfoSchema = z.object({
  id: z.string(), kind: z.enum(['single', 'fleet']), label: z.string().nullable(), uses_total: z.number(), uses_left: z.number(),
  expires_at: z.string(), created_at: z.string(), created_by: z.string().nullable(),
});

export const newEnrollTokenSchema = z.object({
  kind: z.enum(['single', 'fleet']).default('single'),
  uses: z.number().int().min(1).max(100_000).optional(),
  ttlSeconds: z.number().int().min(60, 'at least 60 seconds').max(2_592_000, 'at most 30 days (2592000 seconds)').default(3600),
  label: z.string().min(1).max(100).optional(),
}).superRefine((b, ctx) => {
  if (b.kind === 'single' && b.uses !== undefined && b.uses !== 1) {
    ctx.addIssue({ code: 'custom', path: ['uses'], message: 'a single-use token has exactly 1 use; ask for kind "fleet" for more' });
  }
});

export const createdEnrollTokenSchema = z.object({
  token: z.string(), info: enrollTokenInfoSchema, serverAddr: z.string(),
  commands: z.object({ docker: z.string(), agent: z.string() }),
});
export type CreatedEnrollToken = z.infer<typeof createdEnrollTokenSchema>;

export const clusterInfoSchema = z.object({
  enabled: z.boolean(), port: z.number().nullable(), caFingerprint: z.string().nullable(), connectedAgents: z.number(),
  advertise: z.array(z.string()),
});

export const pingResultSchema = z.object({ rttMs: z.number(), agentTimeMs: z.number() });

function advertiseEntries(advertise: string | undefined): string[] {
  return (advertise ?? '').split(',').map((e) => e.trim()).filter((e) => e !== '');
}

/** host:port an agent should dial: the first advertised name, else the name this request came in on. */
export function agentServerAddr(advertise: string | undefined, requestHostname: string, port: number): string {
  const host = advertiseEntries(advertise)[0] ?? (requestHostname || 'localhost');
  const bare = host.replace(/^\[|\]$/g, '');
  return `${net.isIPv6(bare) ? `[${bare}]` : host}:${port}`;
}

/** The lines an operator pastes on the new host (or, for a fleet token, on a Swarm manager). */
export function agentCommands(kind: 'single' | 'fleet', serverAddr: string, token: string): { docker: string; agent: string } {
  const env = (name: string) => [`-e FLOTILLA_MODE=agent`, `-e FLOTILLA_SERVER_ADDR=${serverAddr}`, `-e FLOTILLA_ENROLL_TOKEN=${token}`, `-e ${name}`];
  if (kind === 'fleet') {
    return {
      docker: ['docker service create --mode global --name flotilla-agent',
        '--mount type=bind,src=/var/run/docker.sock,dst=/var/run/docker.sock', '--mount type=volume,src=flotilla-agent,dst=/data/cluster',
        '--container-label flotilla.self=true', ...env(`'FLOTILLA_HOST_NAME={{.Node.Hostname}}'`), AGENT_IMAGE].join(' '),
      agent: `FLOTILLA_SERVER_ADDR=${serverAddr} FLOTILLA_ENROLL_TOKEN=${token} FLOTILLA_HOST_NAME=$(hostname) FLOTILLA_CLUSTER_DIR=/var/lib/flotilla-agent flotilla agent`,
    };
  }
  return {
    docker: ['docker run -d --name flotilla-agent --restart unless-stopped',
      '-v /var/run/docker.sock:/var/run/docker.sock -v flotilla-agent:/data/cluster', '--label flotilla.self=true',
      ...env('FLOTILLA_HOST_NAME=<name>'), AGENT_IMAGE].join(' '),
    agent: `FLOTILLA_SERVER_ADDR=${serverAddr} FLOTILLA_ENROLL_TOKEN=${token} FLOTILLA_HOST_NAME=<name> FLOTILLA_CLUSTER_DIR=/var/lib/flotilla-agent flotilla agent`,
  };
}

export const agentRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  const { fleet } = ctx;
  const requireCluster = (): Cluster => {
    if (!ctx.cluster) throw new AgentEndpointDisabled();
    return ctx.cluster;
  };
  const agentHostRow = async (idOrName: string, action: string): Promise<HostRow> => {
    const row = await fleet.getHostRow(idOrName);
    if (row.kind !== 'agent') throw new Conflict(`${action} applies to agent hosts; "${row.name}" is a direct host`);
    return row;
  };

  app.post('/enroll-tokens', {
    config: { permission: 'hosts.manage', audit: 'enroll_token.create' },
    schema: {
      tags: ['agents'], summary: 'Create an enrollment token; the token is shown only in this answer, with ready-to-run agent commands',
      body: newEnrollTokenSchema, response: { 201: createdEnrollTokenSchema },
    },
  }, async (req, reply) => {
    const cluster = requireCluster();
    const { kind, ttlSeconds, label } = req.body;
    const uses = kind === 'single' ? 1 : (req.body.uses ?? 100);
    const { token, info } = await cluster.createEnrollToken({ kind, uses, ttlMs: ttlSeconds * 1000, label: label ?? null, createdBy: req.user!.username });
    // The id identifies the token in the audit log; the token text never goes there.
    req.auditDetail = `id=${info.id} kind=${kind} uses=${uses} ttl=${ttlSeconds}s${label ? ` label=${label}` : ''}`;
    const serverAddr = agentServerAddr(ctx.config.cluster.advertise, req.hostname, cluster.port);
    return reply.status(201).send({ token, info, serverAddr, commands: agentCommands(kind, serverAddr, token) });
  });

  app.get('/enroll-tokens', {
    config: { permission: 'hosts.read' },
    schema: { tags: ['agents'], summary: 'List enrollment tokens (never the secrets)', response: { 200: z.array(enrollTokenInfoSchema) } },
  }, async () => ctx.store.enrollTokens.list());

  app.delete('/enroll-tokens/:id', {
    config: { permission: 'hosts.manage', audit: 'enroll_token.delete' },
    schema: { tags: ['agents'], summary: 'Delete an enrollment token (it can no longer enroll)', params: z.object({ id: z.string().min(1).max(64) }), response: { 204: z.null() } },
  }, async (req, reply) => {
    if (!(await ctx.store.enrollTokens.remove(req.params.id))) throw new NotFound(`enrollment token "${req.params.id}" not found`);
    return reply.status(204).send(null);
  });

  app.get('/cluster', {
    config: { permission: 'hosts.read' },
    schema: { tags: ['agents'], summary: 'The agent endpoint: port, CA fingerprint, connected agents', response: { 200: clusterInfoSchema } },
  }, async () => {
    const c = ctx.cluster;
    return {
      enabled: c !== undefined, port: c?.port ?? null, caFingerprint: c?.ca.fingerprint ?? null,
      connectedAgents: c?.sessions.count() ?? 0, advertise: advertiseEntries(ctx.config.cluster.advertise),
    };
  });

  for (const [action, state] of [['pause', 'paused'], ['resume', 'active']] as const) {
    app.post(`/hosts/:host/${action}`, {
      config: { permission: 'hosts.manage', audit: `host.${action}` },
      schema: { tags: ['agents'], summary: action === 'pause' ? 'Pause an agent host' : 'Resume a paused agent host', params: hostParam, response: { 200: hostViewSchema } },
    }, async (req) => {
      const row = await agentHostRow(req.params.host, action);
      if (row.agent_state === 'decommissioned') throw new Conflict(`host "${row.name}" is decommissioned`);
      if (row.agent_state !== state) await ctx.store.hosts.update(row.id, { agent_state: state });
      return fleet.getHost(row.id);
    });
  }

  app.post('/hosts/:host/revoke', {
    config: { permission: 'hosts.manage', audit: 'host.revoke' },
    schema: {
      tags: ['agents'], summary: 'Revoke an agent: its certificate joins the CRL, its connections close, the host is deleted',
      params: hostParam, response: { 204: z.null() },
    },
  }, async (req, reply) => {
    const cluster = requireCluster();
    const row = await agentHostRow(req.params.host, 'revoke');
    req.auditDetail = `name=${row.name} serial=${row.cert_serial ?? '-'}`;
    await cluster.revoke(row);
    await fleet.removeHost(row.id);
    return reply.status(204).send(null);
  });

  app.post('/hosts/:host/ping', {
    config: { permission: 'hosts.read', audit: 'host.ping' },
    schema: { tags: ['agents'], summary: 'Round trip of a ping over the agent\'s channel', params: hostParam, response: { 200: pingResultSchema } },
  }, async (req) => {
    const cluster = requireCluster();
    const row = await agentHostRow(req.params.host, 'ping');
    const started = performance.now();
    const result = await cluster.sessions.command(row.id, row.name, { $case: 'ping', value: { serverTimeMs: Date.now() } }, PING_TIMEOUT_MS);
    const rttMs = Math.round((performance.now() - started) * 100) / 100;
    if (!result.ok || result.body?.$case !== 'pong') {
      throw new HostUnreachable(row.name, `host "${row.name}": agent answered the ping with an error: ${result.error || 'no pong'}`);
    }
    return { rttMs, agentTimeMs: result.body.value.agentTimeMs };
  });
};
