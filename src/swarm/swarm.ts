// Swarm clusters: the facade routes and the CLI talk to. A cluster appears on
// its own when a synced host reports that it manages one (keyed by the Swarm
// ID), or when a user names one registered manager; it is then synced like a
// host (own interval, bounded parallelism, statuses with reasons) through a
// manager, and every call on it goes through the ManagerRouter.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { ClusterRow } from '../store/swarm-repo.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { SwarmInventoryKind } from '../store/schema.ts';
import { nowIso } from '../store/db.ts';
import { BadRequest, Conflict, NotFound, ServiceUnavailable } from '../errors.ts';
import type { DockerClient } from '../docker/client.ts';
import type { DockerEvent } from '../docker/events.ts';
import { getInfo } from '../docker/system.ts';
import type { Fleet } from '../fleet/fleet.ts';
import { SyncScheduler } from '../fleet/sync-scheduler.ts';
import { ManagerRouter, type CallPolicy, type Manager } from './manager-router.ts';
import { ClusterSyncer, type ClusterStatusNotice, type ClusterSyncResult } from './cluster-sync.ts';
import { toClusterView, type ClusterView } from './cluster-view.ts';
import { ClusterEvents } from './cluster-events.ts';

export const DEFAULT_CLUSTER_SYNC_S = 60;

export interface SwarmEvents {
  status: [ClusterStatusNotice];
  /** A swarm-scoped Docker event (node, service, secret, config), once per cluster even though every manager reports it. */
  event: [{ clusterId: string; cluster: string; host: string; event: DockerEvent }];
}

export class Swarm {
  readonly bus = new EventEmitter<SwarmEvents>();
  readonly router: ManagerRouter;
  private readonly store: Store;
  private readonly fleet: Fleet;
  private readonly log: Logger;
  private readonly scheduler: SyncScheduler<ClusterRow, ClusterSyncResult>;
  private readonly events: ClusterEvents;

  constructor(deps: { store: Store; fleet: Fleet; log: Logger; syncConcurrency: number; syncTimeoutMs: number }) {
    this.store = deps.store;
    this.fleet = deps.fleet;
    this.log = deps.log;
    const docker = async (hostId: string): Promise<DockerClient> => (await deps.fleet.docker(hostId)).docker;
    this.router = new ManagerRouter({
      clusterHosts: (id) => deps.store.swarm.hostsOf(id),
      docker,
      answered: (cluster, manager) => {
        if (cluster.last_manager_host_id !== manager.hostId) void deps.store.swarm.update(cluster.id, { last_manager_host_id: manager.hostId }).catch(() => undefined);
      },
    });
    const syncer = new ClusterSyncer({
      store: deps.store, router: this.router, docker, log: deps.log, timeoutMs: deps.syncTimeoutMs,
      onStatus: (n) => {
        this.log.info({ cluster: n.name, from: n.from, to: n.to, reason: n.reason }, 'cluster status changed');
        this.bus.emit('status', n);
      },
    });
    this.scheduler = new SyncScheduler(syncer, deps.syncConcurrency);
    this.scheduler.canSync = (cluster) => this.owns(cluster.id);
    this.events = new ClusterEvents({
      store: deps.store, log: deps.log,
      onEvent: (e) => this.bus.emit('event', e),
      refresh: (clusterId) => void this.refresh(clusterId),
    });
    deps.fleet.bus.on('synced', ({ hostId }) => void this.discoverFrom(hostId).catch((err: unknown) => this.log.warn({ err, hostId }, 'swarm discovery failed')));
    deps.fleet.bus.on('docker', (e) => this.events.fromHost(e.hostId, e.host, e.event));
  }

  /** Whether this server syncs a cluster (replicas share them out; alone it syncs all). */
  owns: (clusterId: string) => boolean = () => true;

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.events.stop();
    await this.scheduler.stop();
  }

  /** After a host's sync: a manager names its cluster, which is created if new. Workers are linked by the cluster's sync. */
  private async discoverFrom(hostId: string): Promise<void> {
    const host = await this.store.hosts.find(hostId);
    if (!host || host.swarm_state !== 'active' || host.swarm_role !== 'manager' || !host.swarm_cluster_id) return;
    const existing = await this.store.swarm.find(host.swarm_cluster_id);
    if (existing) {
      if (existing.status === 'pending' && !existing.last_sync_at) this.scheduler.dueNow(existing.id);
      return;
    }
    await this.createCluster(host.swarm_cluster_id, await this.freeName(`swarm-${host.swarm_cluster_id.slice(0, 8).toLowerCase()}`), 'discovered', DEFAULT_CLUSTER_SYNC_S);
    this.log.info({ cluster: host.swarm_cluster_id, host: host.name }, 'swarm cluster discovered');
  }

  /**
   * The fleet endpoint and first calls after start-up may come before any host
   * sync: ask every connected host now which swarm it manages.
   */
  async discoverNow(): Promise<void> {
    const hosts = (await this.store.hosts.list()).filter((h) => h.status === 'connected' && !h.duplicate_of);
    await Promise.all(hosts.map(async (h) => {
      try {
        const info = await getInfo((await this.fleet.docker(h.id)).docker, { timeoutMs: 5000 });
        const sw = info.Swarm;
        if (sw?.LocalNodeState !== 'active' || !sw.ControlAvailable || !sw.Cluster?.ID) return;
        await this.store.hosts.update(h.id, { swarm_node_id: sw.NodeID, swarm_state: 'active', swarm_role: 'manager', swarm_cluster_id: sw.Cluster.ID });
        await this.discoverFrom(h.id);
      } catch {
        // not reachable now: its next sync tells
      }
    }));
  }

  private async createCluster(id: string, name: string, origin: 'discovered' | 'registered', intervalS: number): Promise<ClusterRow> {
    const at = nowIso();
    const row: ClusterRow = {
      id, name, origin, sync_interval_s: intervalS, status: 'pending', status_reason: origin === 'discovered' ? 'discovered from a manager host, waiting for first sync' : 'registered, waiting for first sync',
      status_changed_at: at, consecutive_failures: 0, last_seen_at: null, last_sync_at: null, last_sync_ms: null,
      leader_node_id: null, last_manager_host_id: null, health: null, created_at: at,
    };
    try {
      await this.store.swarm.insert(row);
    } catch (err) {
      const again = await this.store.swarm.find(id); // discovered at the same moment by another host's sync
      if (again) return again;
      throw err;
    }
    this.scheduler.dueNow(id);
    return row;
  }

  private async freeName(base: string): Promise<string> {
    for (let i = 1; ; i++) {
      const name = i === 1 ? base : `${base}-${i}`;
      if (!(await this.store.swarm.find(name))) return name;
    }
  }

  /** Registers the cluster that a registered host manages; an already discovered one takes the name given. */
  async register(input: { host: string; name?: string; syncIntervalSeconds?: number }): Promise<ClusterView> {
    const { host, docker } = await this.fleet.docker(input.host);
    const info = await getInfo(docker, { timeoutMs: 10_000 });
    const sw = info.Swarm;
    if (sw?.LocalNodeState !== 'active') throw new Conflict(`host "${host.name}" is not part of a swarm (state ${sw?.LocalNodeState ?? 'inactive'})`);
    if (!sw.ControlAvailable || !sw.Cluster?.ID) throw new Conflict(`host "${host.name}" is a swarm worker: register the cluster by one of its managers`);
    if (input.name) {
      const taken = await this.store.swarm.find(input.name);
      if (taken && taken.id !== sw.Cluster.ID) throw new Conflict(`a cluster named "${input.name}" already exists`);
    }
    await this.store.hosts.update(host.id, { swarm_node_id: sw.NodeID, swarm_state: 'active', swarm_role: 'manager', swarm_cluster_id: sw.Cluster.ID });
    const existing = await this.store.swarm.find(sw.Cluster.ID);
    if (existing) {
      await this.store.swarm.update(existing.id, {
        origin: 'registered', ...(input.name ? { name: input.name } : {}), ...(input.syncIntervalSeconds ? { sync_interval_s: input.syncIntervalSeconds } : {}),
      });
    } else {
      await this.createCluster(sw.Cluster.ID, input.name ?? (await this.freeName(`swarm-${sw.Cluster.ID.slice(0, 8).toLowerCase()}`)), 'registered', input.syncIntervalSeconds ?? DEFAULT_CLUSTER_SYNC_S);
    }
    await this.syncNow(sw.Cluster.ID);
    return this.get(sw.Cluster.ID);
  }

  async list(): Promise<ClusterView[]> {
    const hosts = await this.store.hosts.list();
    return (await this.store.swarm.list()).map((c) => toClusterView(c, hosts.filter((h) => h.swarm_cluster_id === c.id)));
  }

  async row(ref: string): Promise<ClusterRow> {
    const row = await this.store.swarm.find(ref);
    if (!row) throw new NotFound(`swarm cluster "${ref}" not found`);
    return row;
  }

  async exists(ref: string): Promise<boolean> {
    return (await this.store.swarm.find(ref)) !== undefined;
  }

  async get(ref: string): Promise<ClusterView> {
    const row = await this.row(ref);
    return toClusterView(row, await this.store.swarm.hostsOf(row.id));
  }

  async update(ref: string, patch: { name?: string; syncIntervalSeconds?: number }): Promise<ClusterView> {
    const row = await this.row(ref);
    if (patch.name && patch.name !== row.name && (await this.store.swarm.find(patch.name))) throw new Conflict(`a cluster named "${patch.name}" already exists`);
    await this.store.swarm.update(row.id, { name: patch.name ?? row.name, sync_interval_s: patch.syncIntervalSeconds ?? row.sync_interval_s });
    return this.get(row.id);
  }

  /** Forgets the cluster; its hosts stay registered. It comes back if a manager host is synced again, unless that host is removed too. */
  async remove(ref: string): Promise<void> {
    const row = await this.row(ref);
    this.scheduler.forget(row.id);
    await this.store.swarm.remove(row.id);
  }

  async syncNow(ref: string): Promise<ClusterSyncResult> {
    const row = await this.row(ref);
    if (row.status === 'maintenance') throw new Conflict(`cluster "${row.name}" is in maintenance: syncing is stopped`);
    if (row.status === 'error') throw new Conflict(`cluster "${row.name}" is in error after repeated failures: recover it first`);
    return this.scheduler.syncNow(row);
  }

  /** An event touched the cluster: sync it again soon (the scheduler joins a sync already running). */
  private async refresh(clusterId: string): Promise<void> {
    const row = await this.store.swarm.find(clusterId);
    if (!row || row.status === 'maintenance' || row.status === 'error') return;
    await this.scheduler.syncNow(row);
  }

  async setMaintenance(ref: string, on: boolean): Promise<ClusterView> {
    const row = await this.row(ref);
    if (on) await this.store.swarm.setStatus(row.id, 'maintenance', 'maintenance mode enabled');
    else if (row.status === 'maintenance') {
      await this.store.swarm.setStatus(row.id, 'pending', 'maintenance mode ended', { consecutive_failures: 0 });
      this.scheduler.dueNow(row.id);
    }
    return this.get(row.id);
  }

  async recover(ref: string): Promise<ClusterSyncResult> {
    const row = await this.row(ref);
    if (row.status !== 'error') throw new Conflict(`cluster "${row.name}" is ${row.status}, not in error`);
    await this.store.swarm.setStatus(row.id, 'pending', 'manual recovery', { consecutive_failures: 0 });
    return this.scheduler.syncNow(await this.row(row.id));
  }

  async history(ref: string, limit = 100) {
    return this.store.swarm.history((await this.row(ref)).id, limit);
  }

  /** The synced inventory of one kind (`stack` is derived from the services' com.docker.stack.namespace). */
  async inventory<T>(ref: string, kind: SwarmInventoryKind): Promise<T[]> {
    return this.store.swarm.inventory<T>((await this.row(ref)).id, kind);
  }

  /** Runs a call on the cluster's leader, or the next manager that takes it (see ManagerRouter). */
  async withManager<T>(ref: string, fn: (docker: DockerClient, manager: Manager) => Promise<T>, policy?: CallPolicy): Promise<T> {
    return (await this.router.call(await this.row(ref), fn, policy)).value;
  }

  /** As withManager, also naming the manager that answered. */
  async onManager<T>(ref: string, fn: (docker: DockerClient, manager: Manager) => Promise<T>, policy?: CallPolicy): Promise<{ value: T; manager: Manager }> {
    return this.router.call(await this.row(ref), fn, policy);
  }

  /** The cluster a Docker-endpoint call without a named cluster means: the only one there is. */
  async soleCluster(): Promise<ClusterRow> {
    let rows = await this.store.swarm.list();
    if (rows.length === 0) {
      await this.discoverNow();
      rows = await this.store.swarm.list();
    }
    if (rows.length === 1) return rows[0]!;
    if (rows.length === 0) throw new ServiceUnavailable('no Swarm cluster is known: no registered host is a Swarm manager (this node is not a swarm manager)');
    throw new BadRequest(`the fleet has ${rows.length} Swarm clusters (${rows.map((r) => r.name).join(', ')}): name one with the X-Flotilla-Cluster header`);
  }

  /** The registered host of a node of a cluster, if any (to run a call on that very engine: leave, join). */
  async hostOfNode(clusterId: string, nodeId: string): Promise<HostRow | undefined> {
    return (await this.store.swarm.hostsOf(clusterId)).find((h) => h.swarm_node_id === nodeId);
  }
}
