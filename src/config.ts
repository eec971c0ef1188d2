// Server configuration: every FLOTILLA_* variable is parsed and validated once,
// at start-up; a bad value stops start-up with a message naming the variable.
import path from 'node:path';
import { z } from 'zod';

const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no']).transform((v) => ['1', 'true', 'yes'].includes(v));
const port = z.coerce.number().int().min(0).max(65535);

/** "30m", "45s", "2h", "500ms" or a plain number of seconds → milliseconds. */
export const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, 'a duration such as 30m, 45s, 2h or 500ms').transform((v) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v)!;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's']!;
  return Math.round(Number(m[1]) * unit);
});

const schema = z.object({
  FLOTILLA_DATA_DIR: z.string().min(1).default('./.flotilla/data'),
  /** PostgreSQL instead of SQLite in the data directory (README, "PostgreSQL"). */
  FLOTILLA_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'a postgres://… or postgresql://… URL').optional(),
  FLOTILLA_LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
  FLOTILLA_PORT: port.default(8080),
  FLOTILLA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Hosts synced at the same time; one slow host only holds one slot. */
  FLOTILLA_SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** Deadline of one host's whole sync, in seconds. */
  FLOTILLA_SYNC_TIMEOUT: z.coerce.number().int().min(1).max(600).default(20),
  /** Register the engine at this endpoint as host "local" when none is registered yet (the run command sets it). */
  FLOTILLA_LOCAL_ENGINE: z.string().optional(),
  FLOTILLA_SECURE_COOKIES: bool.default(false),
  /** Failed logins allowed per client address and minute before 429. */
  FLOTILLA_LOGIN_RATE_LIMIT: z.coerce.number().int().min(1).max(10000).default(10),
  /** The agent endpoint (gRPC, mutual TLS); false turns it off. */
  FLOTILLA_CLUSTER: bool.default(true),
  FLOTILLA_CLUSTER_DIR: z.string().min(1).optional(),
  FLOTILLA_CLUSTER_ADVERTISE: z.string().optional(),
  FLOTILLA_AGENT_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  FLOTILLA_AGENT_PORT: port.default(9443),
  FLOTILLA_AGENT_HEARTBEAT: duration.default(10_000),
  FLOTILLA_GRACE_PERIOD_OFFLINE: duration.default(30 * 60_000),
  /** Replicas on one PostgreSQL (issue 13): where peers reach the agents whose streams this replica holds. */
  FLOTILLA_REPLICA_LISTEN_HOST: z.string().min(1).default('0.0.0.0'),
  FLOTILLA_REPLICA_PORT: port.default(9444),
  /** host:port the other replicas dial (default: the first FLOTILLA_CLUSTER_ADVERTISE host, else 127.0.0.1, and the port listened on). */
  FLOTILLA_REPLICA_ADVERTISE: z.string().regex(/^\[?[^\s\]]+\]?:\d{1,5}$/, 'host:port').optional(),
  /** A replica whose heartbeat is older than this is dead: the agents it held are released. */
  FLOTILLA_REPLICA_TTL: duration.default(10_000),
  /** The Docker-API-compatible fleet endpoint (TLS; bearer token or client certificate). */
  FLOTILLA_DOCKER_ENDPOINT: bool.default(true),
  FLOTILLA_DOCKER_LISTEN_HOST: z.string().min(1).default('127.0.0.1'),
  FLOTILLA_DOCKER_PORT: port.default(2376),
  /** Per-host deadline of a fleet-wide list, in milliseconds. */
  FLOTILLA_DOCKER_FANOUT_TIMEOUT: duration.default(5000),
  FLOTILLA_DOCKER_BODY_IDLE_TIMEOUT: duration.default(60_000),
  /** Whether non-admins may bind host paths into new containers, volumes and services (README, "Only an admin …"). */
  FLOTILLA_NONADMIN_BIND_MOUNTS: z.enum(['deny', 'allow']).default('deny'),
});

export type Config = {
  dataDir: string;
  /** postgres://… : the store is on PostgreSQL; undefined: SQLite in dataDir. */
  databaseUrl: string | undefined;
  listenHost: string;
  port: number;
  logLevel: z.infer<typeof schema>['FLOTILLA_LOG_LEVEL'];
  syncConcurrency: number;
  syncTimeoutMs: number;
  localEngine: string | undefined;
  secureCookies: boolean;
  loginRateLimit: number;
  /** `deny`: a non-admin binds no host path, through either door (the engine follows symlinks on the host). */
  nonAdminBindMounts: 'deny' | 'allow';
  cluster: {
    enabled: boolean;
    dir: string;
    advertise: string | undefined;
    listenHost: string;
    port: number;
    heartbeatMs: number;
    gracePeriodOfflineMs: number;
  };
  replicas: { listenHost: string; port: number; advertise: string | undefined; advertiseHost: string; ttlMs: number };
  dockerEndpoint: {
    enabled: boolean;
    listenHost: string;
    port: number;
    fanoutTimeoutMs: number;
    bodyIdleTimeoutMs: number;
  };
};

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('FLOTILLA_') && v !== ''));
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const shown = (key: string) => (key === 'FLOTILLA_DATABASE_URL' ? '(not shown: it may hold a password)' : JSON.stringify(picked[key]));
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${shown(String(i.path[0]))})`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    dataDir: path.resolve(c.FLOTILLA_DATA_DIR),
    databaseUrl: c.FLOTILLA_DATABASE_URL,
    listenHost: c.FLOTILLA_LISTEN_HOST,
    port: c.FLOTILLA_PORT,
    logLevel: c.FLOTILLA_LOG_LEVEL,
    syncConcurrency: c.FLOTILLA_SYNC_CONCURRENCY,
    syncTimeoutMs: c.FLOTILLA_SYNC_TIMEOUT * 1000,
    localEngine: c.FLOTILLA_LOCAL_ENGINE,
    secureCookies: c.FLOTILLA_SECURE_COOKIES,
    loginRateLimit: c.FLOTILLA_LOGIN_RATE_LIMIT,
    nonAdminBindMounts: c.FLOTILLA_NONADMIN_BIND_MOUNTS,
    cluster: {
      enabled: c.FLOTILLA_CLUSTER,
      dir: path.resolve(c.FLOTILLA_CLUSTER_DIR ?? path.join(c.FLOTILLA_DATA_DIR, 'cluster')),
      advertise: c.FLOTILLA_CLUSTER_ADVERTISE,
      listenHost: c.FLOTILLA_AGENT_LISTEN_HOST,
      port: c.FLOTILLA_AGENT_PORT,
      heartbeatMs: c.FLOTILLA_AGENT_HEARTBEAT,
      gracePeriodOfflineMs: c.FLOTILLA_GRACE_PERIOD_OFFLINE,
    },
    replicas: {
      listenHost: c.FLOTILLA_REPLICA_LISTEN_HOST,
      port: c.FLOTILLA_REPLICA_PORT,
      advertise: c.FLOTILLA_REPLICA_ADVERTISE,
      advertiseHost: c.FLOTILLA_CLUSTER_ADVERTISE?.split(',')[0]?.trim().replace(/:\d+$/, '') || '127.0.0.1',
      ttlMs: c.FLOTILLA_REPLICA_TTL,
    },
    dockerEndpoint: {
      enabled: c.FLOTILLA_DOCKER_ENDPOINT,
      listenHost: c.FLOTILLA_DOCKER_LISTEN_HOST,
      port: c.FLOTILLA_DOCKER_PORT,
      fanoutTimeoutMs: c.FLOTILLA_DOCKER_FANOUT_TIMEOUT,
      bodyIdleTimeoutMs: c.FLOTILLA_DOCKER_BODY_IDLE_TIMEOUT,
    },
  };
}
