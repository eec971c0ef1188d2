// The server's effective configuration, read-only: every FLOTILLA_* setting
// with the value in force (the bound port where the configured one was 0).
// Settings are environment variables; this shows them, it does not change them.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../../config.ts';
import type { AppContext } from '../context.ts';

export const settingSchema = z.object({
  variable: z.string(),
  group: z.enum(['server', 'agents', 'docker-endpoint', 'policy']),
  description: z.string(),
  value: z.union([z.string(), z.number(), z.boolean(), z.null()]),
  /** `ms`: a duration in milliseconds. */
  unit: z.enum(['ms']).optional(),
});
export type Setting = z.infer<typeof settingSchema>;

/** Live values that start-up decided (ports bound when 0 was configured). */
export interface Bound { httpPort: number | undefined; agentPort: number | undefined; dockerPort: number | undefined }

/** No secrets here: the configuration holds none (keys live in files under the data directory). */
export function effectiveSettings(c: Config, bound: Bound): Setting[] {
  const s = (group: Setting['group'], variable: string, value: Setting['value'], description: string, unit?: 'ms'): Setting =>
    ({ variable, group, description, value, ...(unit ? { unit } : {}) });
  return [
    s('server', 'FLOTILLA_LISTEN_HOST', c.listenHost, 'address the HTTP API and dashboard listen on'),
    s('server', 'FLOTILLA_PORT', bound.httpPort ?? c.port, 'port of the HTTP API and dashboard'),
    s('server', 'FLOTILLA_DATA_DIR', c.dataDir, 'database, setup code and keys'),
    s('server', 'FLOTILLA_DATABASE_URL', c.databaseUrl ? withoutCredentials(c.databaseUrl) : null, 'PostgreSQL store (credentials not shown); not set: SQLite in the data directory'),
    s('server', 'FLOTILLA_REPLICA_PORT', c.replicas.port, 'replica endpoint, on PostgreSQL (mutual TLS, replicas only)'),
    s('server', 'FLOTILLA_REPLICA_ADVERTISE', c.replicas.advertise ?? null, 'host:port the other replicas dial'),
    s('server', 'FLOTILLA_REPLICA_TTL', c.replicas.ttlMs, 'a replica silent this long is dead', 'ms'),
    s('server', 'FLOTILLA_LOG_LEVEL', c.logLevel, 'log level'),
    s('server', 'FLOTILLA_SECURE_COOKIES', c.secureCookies, 'session cookie sent over HTTPS only'),
    s('server', 'FLOTILLA_LOGIN_RATE_LIMIT', c.loginRateLimit, 'failed logins per address and minute before 429'),
    s('server', 'FLOTILLA_SYNC_CONCURRENCY', c.syncConcurrency, 'hosts synced at the same time'),
    s('server', 'FLOTILLA_SYNC_TIMEOUT', c.syncTimeoutMs, 'deadline of one host\'s sync', 'ms'),
    s('server', 'FLOTILLA_LOCAL_ENGINE', c.localEngine ?? null, 'engine registered as host "local" when none is'),
    s('agents', 'FLOTILLA_CLUSTER', c.cluster.enabled, 'agent endpoint (gRPC, mutual TLS) on'),
    s('agents', 'FLOTILLA_CLUSTER_ADVERTISE', c.cluster.advertise ?? null, 'addresses agents are told to dial'),
    s('agents', 'FLOTILLA_AGENT_LISTEN_HOST', c.cluster.listenHost, 'address the agent endpoint listens on'),
    s('agents', 'FLOTILLA_AGENT_PORT', bound.agentPort ?? c.cluster.port, 'port of the agent endpoint'),
    s('agents', 'FLOTILLA_AGENT_HEARTBEAT', c.cluster.heartbeatMs, 'agent heartbeat interval', 'ms'),
    s('agents', 'FLOTILLA_GRACE_PERIOD_OFFLINE', c.cluster.gracePeriodOfflineMs, 'how long an agent may be offline before its host is reported down', 'ms'),
    s('agents', 'FLOTILLA_CLUSTER_DIR', c.cluster.dir, 'the cluster CA and server certificate'),
    s('docker-endpoint', 'FLOTILLA_DOCKER_ENDPOINT', c.dockerEndpoint.enabled, 'Docker-API-compatible fleet endpoint on'),
    s('docker-endpoint', 'FLOTILLA_DOCKER_LISTEN_HOST', c.dockerEndpoint.listenHost, 'address the Docker endpoint listens on'),
    s('docker-endpoint', 'FLOTILLA_DOCKER_PORT', bound.dockerPort ?? c.dockerEndpoint.port, 'port of the Docker endpoint'),
    s('docker-endpoint', 'FLOTILLA_DOCKER_FANOUT_TIMEOUT', c.dockerEndpoint.fanoutTimeoutMs, 'per-host deadline of a fleet-wide list', 'ms'),
    s('docker-endpoint', 'FLOTILLA_DOCKER_BODY_IDLE_TIMEOUT', c.dockerEndpoint.bodyIdleTimeoutMs, 'idle deadline of a streamed request body', 'ms'),
    s('policy', 'FLOTILLA_NONADMIN_BIND_MOUNTS', c.nonAdminBindMounts, 'whether non-admins may bind host paths'),
  ];
}

export const settingsRoutes: FastifyPluginAsyncZod<{ ctx: AppContext }> = async (app, { ctx }) => {
  app.get('/settings', {
    config: { permission: 'users.manage' },
    schema: {
      tags: ['settings'], summary: 'The effective server configuration (FLOTILLA_* environment variables; read-only, admins)',
      response: { 200: z.array(settingSchema) },
    },
  }, async (req) => effectiveSettings(ctx.config, {
    httpPort: req.socket.localPort, // the request's own socket knows the HTTP port actually bound
    agentPort: ctx.cluster?.port, dockerPort: ctx.dockerPort,
  }));
};

/** postgres://user:secret@db:5432/flotilla → postgres://db:5432/flotilla: a password is never shown (also for socket URLs, postgres://user@/db?host=…). */
function withoutCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, '$1').replace(/([?&]password=)[^&#]*/i, '$1***');
}
