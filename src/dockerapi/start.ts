// Starts the fleet Docker endpoint with a certificate from the built-in CA
// (the same one agents trust), so `docker --tlsverify` with the CA works.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { Fleet } from '../fleet/fleet.ts';
import type { Swarm } from '../swarm/swarm.ts';
import { loadOrCreateCa } from '../cluster/ca.ts';
import { ensureServerCert } from '../cluster/pki-files.ts';
import { serverSans } from '../cluster/server-sans.ts';
import { DockerEndpoint } from './endpoint.ts';

export async function startDockerEndpoint(deps: { config: Config; store: Store; fleet: Fleet; swarm: Swarm; log: Logger }): Promise<{ endpoint: DockerEndpoint; port: number }> {
  const { config } = deps;
  const ca = await loadOrCreateCa(config.cluster.dir);
  const tls = await ensureServerCert(config.cluster.dir, ca, serverSans(config.cluster.advertise));
  const log = deps.log.child({ component: 'docker-endpoint' });
  const endpoint = new DockerEndpoint({
    store: deps.store, fleet: deps.fleet, swarm: deps.swarm, log, fanoutTimeoutMs: config.dockerEndpoint.fanoutTimeoutMs, bodyIdleTimeoutMs: config.dockerEndpoint.bodyIdleTimeoutMs,
    nonAdminBindMounts: config.nonAdminBindMounts,
    tls: { certChainPem: tls.certPem, keyPem: tls.keyPem, caPem: ca.certPem },
  });
  const port = await endpoint.listen(config.dockerEndpoint.listenHost, config.dockerEndpoint.port);
  log.info({ port }, 'Docker API fleet endpoint listening (TLS)');
  return { endpoint, port };
}
