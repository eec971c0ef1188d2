// Starts one Flotilla server: store, fleet, HTTP API. Returns a handle so the
// CLI and the tests start servers the same way.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { openStore, type Store } from './store/index.ts';
import { createMetrics } from './api/metrics.ts';
import { SetupCode } from './auth/setup-code.ts';
import { Fleet } from './fleet/fleet.ts';
import { buildApp } from './api/app.ts';
import { AdminOnlyPolicy } from './policy/admin-only.ts';
import { Cluster } from './cluster/cluster.ts';
import { startLocalAgent } from './local-agent.ts';
import { startDockerEndpoint } from './dockerapi/start.ts';
import type { DockerEndpoint } from './dockerapi/endpoint.ts';
import { Swarm } from './swarm/swarm.ts';
import { Updates } from './updates/updates.ts';
import { LiveBus, feedLiveBus, feedUpdates } from './api/live-bus.ts';
import { openReplicaBus, type ReplicaBus } from './replicas/event-bus.ts';
import { relayAccessChanges } from './replicas/access-relay.ts';
import { ReplicaSet } from './replicas/replica-set.ts';

export interface ServerHandle {
  url: string;
  app: FastifyInstance;
  store: Store;
  fleet: Fleet;
  swarm: Swarm;
  updates: Updates;
  /** What the dashboard's live stream carries. */
  live: LiveBus;
  /** Between replicas on one PostgreSQL: live messages and access changes (a no-op on SQLite). */
  replicas: ReplicaBus;
  /** This replica among others on one PostgreSQL (agent directory, forwarding); undefined on SQLite. */
  replicaSet: ReplicaSet | undefined;
  /** The agent endpoint; undefined when FLOTILLA_CLUSTER=false. */
  cluster: Cluster | undefined;
  /** The Docker-API fleet endpoint; undefined when FLOTILLA_DOCKER_ENDPOINT=false. */
  docker: { endpoint: DockerEndpoint; port: number } | undefined;
  log: Logger;
  /** Set until the first admin exists. */
  setupCode: string | undefined;
  close(): Promise<void>;
}

export async function startServer(config: Config, log: Logger = createLogger(config.logLevel)): Promise<ServerHandle> {
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore(config, { onConnectionError: (err) => log.error({ err }, 'PostgreSQL connection error') });
  store.audit.onBatchError = (err, lost) => log.error({ err, lost }, 'could not write a batch of audit records');
  const interrupted = await store.deployments.markInterrupted();
  if (interrupted) log.warn({ deployments: interrupted }, 'stack deploys that were running when the server stopped are marked interrupted');
  const metrics = createMetrics(async () => {
    const counts: Record<string, number> = {};
    for (const h of await store.hosts.list()) counts[h.status] = (counts[h.status] ?? 0) + 1;
    return counts;
  });
  const fleet = new Fleet({ store, log, metrics, syncConcurrency: config.syncConcurrency, syncTimeoutMs: config.syncTimeoutMs });
  const swarm = new Swarm({ store, fleet, log, syncConcurrency: config.syncConcurrency, syncTimeoutMs: config.syncTimeoutMs });
  const live = new LiveBus();
  feedLiveBus(live, { fleet, swarm, store });
  const replicas = await openReplicaBus({ databaseUrl: config.databaseUrl, db: store.db, log });
  const stopSharingLive = live.shareWithReplicas(replicas, log);
  const stopRelayingAccess = relayAccessChanges(store.access, replicas, log);
  const setup = new SetupCode(config.dataDir);
  // Replicas on PostgreSQL: the directory of agent streams, and forwarding to the replica holding one.
  const replicaSet = await ReplicaSet.start({ config, store, log, release: (host, detail) => fleet.agentHosts.disconnected(host, 'server', detail) });
  await fleet.agentHosts.serverStarted(await replicaSet?.heldHosts());
  const cluster = config.cluster.enabled
    ? await Cluster.start({ config, store, log, hooks: replicaSet ? replicaSet.wrapHooks(fleet.agentHosts) : fleet.agentHosts, onEnrolled: () => undefined })
    : undefined;
  if (cluster) fleet.attachAgents(replicaSet ? await replicaSet.attach(cluster) : cluster);
  if (replicaSet) {
    fleet.owns = (hostId) => replicaSet.registry.owns(hostId);
    swarm.owns = (clusterId) => replicaSet.registry.owns(clusterId);
  }
  const updates = new Updates({
    store, fleet, log, dataDir: config.dataDir, gracePeriodOfflineMs: config.cluster.gracePeriodOfflineMs,
    agents: () => cluster?.sessions,
    owns: replicaSet ? () => replicaSet.registry.owns('updates') : undefined,
    othersAlive: replicaSet ? () => replicaSet.registry.othersAlive() : undefined,
    pushPolicy: (msg) => {
      for (const s of cluster?.sessions.all() ?? []) s.send(msg);
    },
  });
  fleet.agentHosts.journalListeners.add((host, entries) => updates.onAgentJournal(host, entries));
  feedUpdates(live, updates);
  // The Docker endpoint first: the REST API tells users its port (client certificates, `flotilla context create`).
  const docker = config.dockerEndpoint.enabled ? await startDockerEndpoint({ config, store, fleet, swarm, log }) : undefined;
  const adminOnly = new AdminOnlyPolicy(
    { docker: (host) => fleet.docker(host).then((r) => r.docker), allHosts: () => fleet.listHosts() },
    { nonAdminBindMounts: config.nonAdminBindMounts },
  );
  const app = await buildApp({ config, log, store, metrics, setupCode: setup, fleet, swarm, updates, live, cluster, adminOnly, dockerPort: docker?.port });
  await app.listen({ host: config.listenHost, port: config.port });
  fleet.start();
  swarm.start();
  await updates.start();
  // The local engine: an agent host when the agent endpoint runs, else a direct host.
  const localAgent = config.localEngine && cluster
    ? await startLocalAgent({ endpoint: config.localEngine, dataDir: config.dataDir, cluster, fleet, log })
    : undefined;
  if (config.localEngine && !cluster) await registerLocalEngine(fleet, config.localEngine, log);
  const addr = app.server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const needsSetup = (await store.users.count()) === 0;
  let closed = false;
  return {
    url: `http://${host}:${addr.port}`, app, store, fleet, swarm, updates, live, replicas, replicaSet, cluster, docker, log,
    setupCode: needsSetup ? setup.ensure() : undefined,
    async close() {
      if (closed) return;
      closed = true;
      await localAgent?.stop();
      await docker?.endpoint.close();
      await app.close();
      await cluster?.close();
      await replicaSet?.close();
      await updates.stop();
      await swarm.stop();
      await fleet.stop();
      stopSharingLive();
      stopRelayingAccess();
      await replicas.close();
      await store.close();
    },
  };
}

/** The run command's local engine becomes host "local" once; the user may later rename or remove it. */
async function registerLocalEngine(fleet: Fleet, endpoint: string, log: Logger): Promise<void> {
  const hosts = await fleet.listHosts();
  if (hosts.some((h) => h.endpoint === endpoint)) return;
  const name = hosts.some((h) => h.name === 'local') ? `local-${Date.now()}` : 'local';
  await fleet.addHost({ name, endpoint, environment: 'development', syncIntervalSeconds: 30 });
  log.info({ host: name, endpoint }, 'registered the local engine');
}
