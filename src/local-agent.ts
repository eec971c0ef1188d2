// The run command's local engine as an agent host: the server enrolls an agent
// for it (once; the identity is kept in <data dir>/local-agent) and runs that
// agent in its own process, dialling 127.0.0.1 like any other agent.
import path from 'node:path';
import type { Logger } from './log.ts';
import type { Cluster } from './cluster/cluster.ts';
import type { Fleet } from './fleet/fleet.ts';
import { loadIdentity } from './agent/identity.ts';
import { loadAgentConfig } from './agent/config.ts';
import { startAgent } from './agent/main.ts';
import type { AgentRunner } from './agent/runner.ts';

export const LOCAL_HOST_NAME = 'local';

export async function startLocalAgent(opts: { endpoint: string; dataDir: string; cluster: Cluster; fleet: Fleet; log: Logger }): Promise<AgentRunner> {
  const dir = path.join(opts.dataDir, 'local-agent');
  const enrolled = await loadIdentity(dir);
  let token: string | undefined;
  if (!enrolled) {
    // An earlier version registered the local engine as a direct host: the agent replaces it.
    const old = (await opts.fleet.listHosts()).find((h) => h.name === LOCAL_HOST_NAME);
    if (old?.kind === 'direct' && old.endpoint === opts.endpoint) await opts.fleet.removeHost(old.id);
    token = (await opts.cluster.createEnrollToken({ kind: 'single', uses: 1, ttlMs: 10 * 60_000, label: 'local agent', createdBy: null })).token;
  }
  const config = loadAgentConfig({
    FLOTILLA_SERVER_ADDR: `127.0.0.1:${opts.cluster.port}`, FLOTILLA_HOST_NAME: LOCAL_HOST_NAME, FLOTILLA_CLUSTER_DIR: dir,
    FLOTILLA_DOCKER_HOST: opts.endpoint, ...(token ? { FLOTILLA_ENROLL_TOKEN: token } : {}),
  });
  return startAgent(config, opts.log.child({ component: 'local-agent' }));
}
