// The fleet: registered hosts, their connections, sync and live events. Routes
// and the CLI talk to this facade; it owns the scheduler and the watchers.
import crypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Metrics } from '../api/metrics.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { InventoryKind } from '../store/schema.ts';
import { nowIso } from '../store/db.ts';
import { Conflict, NotFound } from '../errors.ts';
import { parseEndpoint } from '../transports/index.ts';
import type { DockerClient } from '../docker/client.ts';
import type { DockerEvent } from '../docker/events.ts';
import { Connections } from './connections.ts';
import { StatusTracker, type StatusChangeNotice } from './status-tracker.ts';
import { HostSyncer, type SyncResult } from './host-sync.ts';
import { SyncScheduler } from './sync-scheduler.ts';
import { EventWatcher } from './event-watcher.ts';
import type { HostPatch, NewHost } from './host-input.ts';
import type { AgentLink } from './agent-link.ts';
import { AgentHosts } from './agent-hosts.ts';
import { detectOverlap, type OverlapNotice } from './source-overlap.ts';
import { toHostView, type HostView } from './host-view.ts';
import { DiskUsageMonitor } from './disk-usage.ts';

/** What a new host row starts without: agent fields, Swarm membership (learnt from its first sync) and disk usage. */
export const NO_AGENT_FIELDS = {
  agent_state: null, agent_version: null, agent_features: null, cert_serial: null, cert_not_after: null,
  disconnect_reason: null, connected_at: null, duplicate_of: null, journal_seq: 0,
  swarm_node_id: null, swarm_state: null, swarm_role: null, swarm_cluster_id: null, disk_usage: null,
} as const;

export interface FleetEvents {
  status: [StatusChangeNotice];
  docker: [{ host: string; hostId: string; event: DockerEvent }];
  overlap: [OverlapNotice];
  /** After every sync of a host, whatever its result (Swarm discovery listens). */
  synced: [{ hostId: string; ok: boolean }];
}

export class Fleet {
  readonly bus = new EventEmitter<FleetEvents>();
  private readonly store: Store;
  private readonly log: Logger;
  private readonly connections: Connections;
  private readonly tracker: StatusTracker;
  private readonly scheduler: SyncScheduler<HostRow, SyncResult>;
  private readonly watcher: EventWatcher;
  /** The cluster reports agent hosts' lives here (see AgentHooks). */
  readonly agentHosts: AgentHosts;
  /** Disk usage per host, on its own slow cadence (SPEC S10). */
  readonly diskUsage: DiskUsageMonitor;

  constructor(deps: { store: Store; log: Logger; metrics: Metrics; syncConcurrency: number; syncTimeoutMs: number }) {
    this.store = deps.store;
    this.log = deps.log;
    this.connections = new Connections(deps.store.secrets);
    this.tracker = new StatusTracker(deps.store.hosts, (c) => {
      this.log.info({ host: c.name, from: c.from, to: c.to, reason: c.reason }, 'host status changed');
      this.bus.emit('status', c);
    });
    const syncer = new HostSyncer({ ...deps, connections: this.connections, tracker: this.tracker, timeoutMs: deps.syncTimeoutMs });
    this.scheduler = new SyncScheduler(syncer, deps.syncConcurrency);
    this.watcher = new EventWatcher({
      store: deps.store, connections: this.connections, log: deps.log,
      hooks: {
        onEvent: (host, event) => this.bus.emit('docker', { host: host.name, hostId: host.id, event }),
        onLost: (host, reason) => void this.onStreamLost(host, reason),
      },
    });
    this.scheduler.onSynced((host, result) => void this.afterSync(host, result));
    // An agent host is synced where its stream is; a direct host by the replica that owns it (one, with replicas).
    this.scheduler.canSync = (host) => !host.duplicate_of && (host.kind === 'agent' ? (this.connections.agents?.isConnected(host.id) ?? false) : this.owns(host.id));
    this.diskUsage = new DiskUsageMonitor({
      store: deps.store, log: deps.log, clientFor: (host) => this.connections.clientFor(host),
      agentConnected: (hostId) => this.connections.agents?.isConnected(hostId) ?? false,
    });
    this.agentHosts = new AgentHosts({
      store: deps.store, tracker: this.tracker, watcher: this.watcher, scheduler: this.scheduler, log: deps.log,
      onOverlap: (n) => this.announceOverlap(n),
    });
  }

  /** Whether this server does a direct host's syncs (replicas share them out; alone it does all). */
  owns: (hostId: string) => boolean = () => true;

  /** Agent hosts become reachable once the cluster's endpoint is up. */
  attachAgents(link: AgentLink): void {
    this.connections.agents = link;
  }

  private async afterSync(host: HostRow, result: SyncResult): Promise<void> {
    this.log.debug({ host: host.name, ok: result.ok }, 'host synced');
    this.bus.emit('synced', { hostId: host.id, ok: result.ok });
    if (!result.ok || result.status !== 'connected') {
      this.watcher.unwatch(host.id);
      return;
    }
    const current = await this.store.hosts.find(host.id);
    if (!current) return;
    if (current.engine_id) {
      const notice = await detectOverlap(this.store, current, current.engine_id);
      if (notice) this.announceOverlap(notice);
      if (notice?.duplicate.id === current.id) return;
    }
    this.diskUsage.afterSync(current);
    // Agents forward their events over the channel; direct hosts need a stream of their own.
    if (current.kind === 'direct') this.watcher.watch(current);
  }

  private announceOverlap(notice: OverlapNotice): void {
    this.log.warn({ engine_id: notice.engineId, kept: notice.kept.name, duplicate: notice.duplicate.name }, 'source_overlap: two hosts reach the same engine');
    this.watcher.unwatch(notice.duplicate.id);
    this.bus.emit('overlap', notice);
  }

  start(): void {
    this.scheduler.start();
  }

  async stop(): Promise<void> {
    this.watcher.stopAll();
    await Promise.all([this.scheduler.stop(), this.diskUsage.stop()]);
    await this.connections.closeAll();
  }

  async addHost(input: NewHost): Promise<HostView> {
    parseEndpoint(input.endpoint, Boolean(input.tls));
    if (await this.store.hosts.find(input.name)) throw new Conflict(`a host named "${input.name}" already exists`);
    const at = nowIso();
    const row: HostRow = {
      id: crypto.randomUUID(), name: input.name, kind: 'direct', endpoint: input.endpoint,
      tls_sealed: input.tls ? this.store.secrets.seal(JSON.stringify(input.tls)) : null,
      environment: input.environment, environment_label: input.environmentLabel ?? null, sync_interval_s: input.syncIntervalSeconds,
      status: 'pending', status_reason: 'registered, waiting for first sync', status_changed_at: at, consecutive_failures: 0,
      last_seen_at: null, last_sync_at: null, last_sync_ms: null, engine_id: null, engine_version: null, api_version: null,
      os: null, arch: null, cpus: null, memory_bytes: null, engine_name: null, containers_total: 0, containers_running: 0, created_at: at,
      ...NO_AGENT_FIELDS,
    };
    try {
      await this.store.hosts.insert(row);
    } catch (err) {
      if (/unique/i.test((err as Error).message)) throw new Conflict(`a host named "${input.name}" already exists`);
      throw err;
    }
    this.scheduler.dueNow(row.id);
    return toHostView(row);
  }

  async listHosts(): Promise<HostView[]> {
    return (await this.store.hosts.list()).map(toHostView);
  }

  async getHostRow(idOrName: string): Promise<HostRow> {
    const row = await this.store.hosts.find(idOrName);
    if (!row) throw new NotFound(`host "${idOrName}" not found`);
    return row;
  }

  async getHost(idOrName: string): Promise<HostView> {
    return toHostView(await this.getHostRow(idOrName));
  }

  async updateHost(idOrName: string, patch: HostPatch): Promise<HostView> {
    const row = await this.getHostRow(idOrName);
    const environment = patch.environment ?? row.environment;
    const label = patch.environmentLabel === undefined ? row.environment_label : patch.environmentLabel;
    if (environment === 'custom' && !label) throw new Conflict('environmentLabel is required when environment is "custom"');
    await this.store.hosts.update(row.id, {
      environment, environment_label: label, sync_interval_s: patch.syncIntervalSeconds ?? row.sync_interval_s,
    });
    return this.getHost(row.id);
  }

  async removeHost(idOrName: string): Promise<void> {
    const row = await this.getHostRow(idOrName);
    this.watcher.unwatch(row.id);
    this.scheduler.forget(row.id);
    this.diskUsage.forget(row.id);
    await this.store.hosts.remove(row.id);
    await this.connections.drop(row.id);
  }

  /** Syncs now and waits for the result. Refused in maintenance and error (recover first). */
  async syncNow(idOrName: string): Promise<SyncResult> {
    const row = await this.getHostRow(idOrName);
    if (row.status === 'maintenance') throw new Conflict(`host "${row.name}" is in maintenance: syncing is stopped`);
    if (row.status === 'error') throw new Conflict(`host "${row.name}" is in error after repeated failures: recover it first`);
    if (row.duplicate_of) {
      const kept = await this.store.hosts.find(row.duplicate_of);
      throw new Conflict(`host "${row.name}" reaches the same engine as "${kept?.name ?? row.duplicate_of}": it is not scanned twice`);
    }
    return this.scheduler.syncNow(row);
  }

  async setMaintenance(idOrName: string, on: boolean): Promise<HostView> {
    const row = await this.getHostRow(idOrName);
    if (on) {
      this.watcher.unwatch(row.id);
      await this.tracker.move(row, 'maintenance', 'maintenance mode enabled', {});
    } else if (row.status === 'maintenance') {
      await this.tracker.move(row, 'pending', 'maintenance mode ended', { consecutive_failures: 0 });
      this.scheduler.dueNow(row.id);
    }
    return this.getHost(row.id);
  }

  /** Manual recovery from error: reset the failure count and try a sync at once. */
  async recover(idOrName: string): Promise<SyncResult> {
    const row = await this.getHostRow(idOrName);
    if (row.status !== 'error') throw new Conflict(`host "${row.name}" is ${row.status}, not in error`);
    await this.tracker.move(row, 'pending', 'manual recovery', { consecutive_failures: 0 });
    return this.scheduler.syncNow(await this.getHostRow(row.id));
  }

  async history(idOrName: string, limit = 100) {
    return this.store.hosts.history((await this.getHostRow(idOrName)).id, limit);
  }

  async inventory<T>(idOrName: string, kind: InventoryKind): Promise<T[]> {
    return this.store.inventory.list<T>((await this.getHostRow(idOrName)).id, kind);
  }

  /** Ids of the hosts whose synced inventory has an object by this id, name or id prefix. */
  async inventoryHostsMatching(kind: InventoryKind, ref: string): Promise<string[]> {
    return this.store.inventory.hostsMatching(kind, ref);
  }

  /** One kind of inventory across all hosts (the Docker endpoint's inventory fast path). */
  async inventoryAll<T>(kind: InventoryKind): Promise<{ hostId: string; data: T }[]> {
    return this.store.inventory.listAll<T>(kind);
  }

  /** The Docker client of a host, for operations. Tried whatever the status: the engine answers or the call fails fast. */
  async docker(idOrName: string): Promise<{ host: HostRow; docker: DockerClient }> {
    const host = await this.getHostRow(idOrName);
    return { host, docker: this.connections.clientFor(host) };
  }

  private async onStreamLost(host: HostRow, reason: string): Promise<void> {
    const current = await this.store.hosts.find(host.id);
    if (!current) return;
    await this.tracker.streamLost(current, reason);
    this.scheduler.dueNow(host.id);
  }
}
