// This replica among the others on one PostgreSQL (issue 13): its row and
// heartbeat (registry.ts), the directory of which replica holds which agent's
// stream (directory.ts), the replica endpoint where peers reach the agents held
// here (peer-endpoint.ts), and the link that reaches any agent from here
// (peer-link.ts). On SQLite there is one server by nature: none of this runs.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { AgentHooks } from '../cluster/agent-hooks.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { AgentLink } from '../fleet/agent-link.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import { ensureServerCert } from '../cluster/pki-files.ts';
import { serverSans } from '../cluster/server-sans.ts';
import { REPLICA_ID } from './identity.ts';
import { ReplicaRegistry } from './registry.ts';
import { AgentDirectory } from './directory.ts';
import { PeerEndpoint } from './peer-endpoint.ts';
import { PeerLink } from './peer-link.ts';

export interface ReplicaSetDeps {
  config: Config;
  store: Store;
  log: Logger;
  /** Marks an agent host disconnected because the replica holding its stream is gone. */
  release(host: HostRow, detail: string): Promise<void>;
}

export class ReplicaSet {
  readonly id = REPLICA_ID;
  readonly directory: AgentDirectory;
  readonly registry: ReplicaRegistry;
  private readonly d: ReplicaSetDeps;
  private endpoint: PeerEndpoint | undefined;

  private constructor(d: ReplicaSetDeps, registry: ReplicaRegistry) {
    this.d = d;
    this.registry = registry;
    this.directory = new AgentDirectory(d.store.db, REPLICA_ID);
  }

  /** Undefined on SQLite. */
  static async start(d: ReplicaSetDeps): Promise<ReplicaSet | undefined> {
    if (!d.config.databaseUrl) return undefined;
    const log = d.log.child({ component: 'replicas', replica: REPLICA_ID.slice(0, 8) });
    let set: ReplicaSet | undefined;
    const registry = new ReplicaRegistry({
      db: d.store.db, id: REPLICA_ID, log, ttlMs: d.config.replicas.ttlMs,
      onDead: async (ids) => set?.releaseHosts(await set.directory.releaseReplicas(ids), 'the replica holding its agent\'s stream stopped: waiting for the agent to reconnect'),
    });
    set = new ReplicaSet({ ...d, log }, registry);
    return set;
  }

  /** The cluster's hooks with the directory kept (before the agent endpoint starts). */
  wrapHooks(hooks: AgentHooks): AgentHooks {
    return this.directory.wrap(hooks, this.d.log);
  }

  /**
   * Once the agent endpoint is up: the replica endpoint (with the endpoint's certificate), this replica's
   * row, and the release of what no live replica holds. Answers the link the fleet reaches agents by.
   */
  async attach(cluster: Cluster): Promise<AgentLink> {
    const { config } = this.d;
    const tls = await ensureServerCert(config.cluster.dir, cluster.ca, serverSans(config.cluster.advertise));
    this.endpoint = await PeerEndpoint.start({
      certPem: tls.certPem, keyPem: tls.keyPem, caPem: cluster.ca.certPem, host: config.replicas.listenHost, port: config.replicas.port, log: this.d.log,
      openLocalTunnel: async (hostId) => {
        const host = await this.d.store.hosts.find(hostId);
        if (!host || !cluster.isConnected(hostId)) throw new Error(`the agent of host ${host?.name ?? hostId} is not connected to this replica`);
        return cluster.openTunnel(hostId, host.name);
      },
    });
    const address = config.replicas.advertise ?? `${config.replicas.advertiseHost}:${this.endpoint.port}`;
    await this.registry.start(address);
    await this.releaseHosts(await this.directory.releaseUnowned(), 'its agent\'s stream was held by a server that is gone: waiting for the agent to reconnect');
    return new PeerLink({ local: cluster, directory: this.directory, registry: this.registry, certPem: tls.certPem, keyPem: tls.keyPem, caPem: cluster.ca.certPem });
  }

  /** Hosts some replica holds the stream of (their status is that replica's to change). */
  async heldHosts(): Promise<Set<string>> {
    return new Set((await this.d.store.db.selectFrom('agent_streams').select('host_id').execute()).map((r) => r.host_id));
  }

  private async releaseHosts(hostIds: string[], detail: string): Promise<void> {
    for (const id of hostIds) {
      const host = await this.d.store.hosts.find(id);
      if (host && host.kind === 'agent' && host.status === 'connected') await this.d.release(host, detail).catch((err: Error) => this.d.log.warn({ err: err.message, host: host.name }, 'could not release a host'));
    }
  }

  async close(): Promise<void> {
    await this.endpoint?.close();
    await this.registry.stop();
  }
}
