// Agent configuration from FLOTILLA_* variables (SPEC A2), validated once.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { duration, ConfigError } from '../config.ts';

const schema = z.object({
  FLOTILLA_SERVER_ADDR: z.string().regex(/^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+):\d{1,5}$/, 'host:port of the server\'s agent endpoint, e.g. 10.0.0.10:9443'),
  FLOTILLA_ENROLL_TOKEN: z.string().optional(),
  FLOTILLA_HOST_NAME: z.string().min(1).max(63).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'letters, digits and . _ -').default(os.hostname()),
  FLOTILLA_CLUSTER_DIR: z.string().min(1).default('/data/cluster'),
  FLOTILLA_DOCKER_HOST: z.string().regex(/^unix:\/\/\//, 'unix:///path/to/docker.sock').default('unix:///var/run/docker.sock'),
  /** Unset: the server's setting (SettingsSync) applies, else 30 minutes. */
  FLOTILLA_GRACE_PERIOD_OFFLINE: duration.optional(),
  FLOTILLA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Renew the certificate when this share of its lifetime has passed. */
  FLOTILLA_RENEW_AT: z.coerce.number().gt(0).lt(1).default(2 / 3),
});

export interface AgentConfig {
  serverAddr: string;
  enrollToken: string | undefined;
  hostName: string;
  clusterDir: string;
  dockerSocket: string;
  /** Set only when FLOTILLA_GRACE_PERIOD_OFFLINE is: a local choice beats the server's. */
  gracePeriodOfflineMs: number | undefined;
  logLevel: string;
  renewAt: number;
}

export function loadAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const picked = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('FLOTILLA_') && v !== ''));
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid agent configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return {
    serverAddr: c.FLOTILLA_SERVER_ADDR, enrollToken: c.FLOTILLA_ENROLL_TOKEN?.trim(), hostName: c.FLOTILLA_HOST_NAME,
    clusterDir: path.resolve(c.FLOTILLA_CLUSTER_DIR), dockerSocket: new URL(c.FLOTILLA_DOCKER_HOST).pathname,
    gracePeriodOfflineMs: c.FLOTILLA_GRACE_PERIOD_OFFLINE, logLevel: c.FLOTILLA_LOG_LEVEL, renewAt: c.FLOTILLA_RENEW_AT,
  };
}
