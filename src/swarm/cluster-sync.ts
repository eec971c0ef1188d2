// Syncs one Swarm cluster through a manager: stores its inventory, links the
// registered hosts that are its nodes, computes its health and moves its status.
// When no manager can take the call because the swarm has no leader, the
// managers are asked one by one whether they still run: fewer than a majority
// is `quorum_lost`, with who answers in the reason. Never throws for an engine failure.
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { ClusterRow } from '../store/swarm-repo.ts';
import type { ClusterStatus } from '../store/schema.ts';
import { nowIso } from '../store/db.ts';
import type { DockerClient } from '../docker/client.ts';
import { getInfo } from '../docker/system.ts';
import { NoManagerAvailable } from '../errors.ts';
import type { Syncer } from '../fleet/sync-scheduler.ts';
import { MAX_CONSECUTIVE_FAILURES } from '../fleet/status-tracker.ts';
import type { ManagerRouter } from './manager-router.ts';
import { snapshotItems, takeClusterSnapshot } from './cluster-snapshot.ts';
import { computeHealth, describeHealth, hasQuorum, type ClusterHealth } from './health.ts';

export interface ClusterSyncResult {
  ok: boolean;
  status: ClusterStatus;
  durationMs: number;
  error?: string;
  manager?: string;
}

export interface ClusterStatusNotice {
  clusterId: string;
  name: string;
  from: ClusterStatus;
  to: ClusterStatus;
  reason: string | null;
}

export class ClusterSyncer implements Syncer<ClusterRow, ClusterSyncResult> {
  private readonly store: Store;
  private readonly router: ManagerRouter;
  private readonly docker: (hostId: string) => Promise<DockerClient>;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly onStatus: (n: ClusterStatusNotice) => void;
  private readonly shutdown = new AbortController();

  constructor(deps: {
    store: Store; router: ManagerRouter; docker: (hostId: string) => Promise<DockerClient>; log: Logger; timeoutMs: number;
    onStatus: (n: ClusterStatusNotice) => void;
  }) {
    this.store = deps.store;
    this.router = deps.router;
    this.docker = deps.docker;
    this.log = deps.log;
    this.timeoutMs = deps.timeoutMs;
    this.onStatus = deps.onStatus;
  }

  list(): Promise<ClusterRow[]> {
    return this.store.swarm.list();
  }

  abortAll(): void {
    this.shutdown.abort();
  }

  async sync(cluster: ClusterRow): Promise<ClusterSyncResult> {
    const started = performance.now();
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.shutdown.signal]);
    try {
      // No election wait: a sync reports what it finds now; the next one sees the new leader.
      const { value: snap, manager } = await this.router.call(cluster, (docker) => takeClusterSnapshot(docker, signal), { electionWaitMs: 0, signal });
      if (snap.swarm.ID !== cluster.id) {
        throw new Error(`manager ${manager.host} now belongs to swarm ${snap.swarm.ID}, not ${cluster.id}`);
      }
      await this.store.swarm.replaceInventory(cluster.id, snapshotItems(snap));
      await this.store.swarm.linkHosts(cluster.id, snap.nodes.map((n) => n.ID));
      const health = computeHealth(snap.nodes, snap.services, snap.tasks);
      const durationMs = performance.now() - started;
      const current = await this.store.swarm.find(cluster.id);
      if (!current || current.status === 'maintenance') return { ok: true, status: current?.status ?? 'pending', durationMs, manager: manager.host };
      const at = nowIso();
      await this.move(current, 'connected', describeHealth(health), {
        consecutive_failures: 0, last_seen_at: at, last_sync_at: at, last_sync_ms: Math.round(durationMs),
        leader_node_id: health.managers.leader?.nodeId ?? current.leader_node_id, last_manager_host_id: manager.hostId,
        health: JSON.stringify(health),
      });
      return { ok: true, status: 'connected', durationMs, manager: manager.host };
    } catch (err) {
      const durationMs = performance.now() - started;
      if (this.shutdown.signal.aborted) return { ok: false, status: cluster.status, durationMs, error: 'server stopping' };
      const current = await this.store.swarm.find(cluster.id);
      if (!current || current.status === 'maintenance') return { ok: false, status: current?.status ?? 'pending', durationMs, error: (err as Error).message };
      if (err instanceof NoManagerAvailable && err.attempts.some((a) => a.noLeader)) return this.noLeader(current, err, durationMs);
      return this.failed(current, signal.aborted ? `sync timed out after ${this.timeoutMs} ms` : (err as Error).message, durationMs);
    }
  }

  /** Managers answer but none has a leader: count who still runs; a minority is quorum lost. */
  private async noLeader(cluster: ClusterRow, err: NoManagerAvailable, durationMs: number): Promise<ClusterSyncResult> {
    const probe = await this.probeManagers(cluster);
    const answering = probe.answering.join(', ') || 'none';
    const unregistered = probe.total - probe.registered;
    const note = unregistered > 0 ? ` (${unregistered} not registered with Flotilla, counted as not answering)` : '';
    const last = err.attempts.find((a) => a.noLeader)?.error ?? '';
    const prev: ClusterHealth | null = cluster.health ? JSON.parse(cluster.health) as ClusterHealth : null;
    const managers = { total: probe.total, reachable: probe.answering.length, unreachable: probe.silent, leader: null };
    const health = prev ? { ...prev, managers, quorum: false } : null;
    const extra = { last_sync_at: nowIso(), last_sync_ms: Math.round(durationMs), ...(health ? { health: JSON.stringify(health) } : {}) };
    if (!hasQuorum(probe.answering.length, probe.total)) {
      const reason = `quorum lost: ${probe.answering.length} of ${probe.total} managers answer (${answering})${note}; the swarm has no leader and refuses changes until a majority is back: ${last}`;
      await this.move(cluster, 'quorum_lost', reason, extra);
      this.log.warn({ cluster: cluster.name, reason }, 'swarm quorum lost');
      return { ok: false, status: 'quorum_lost', durationMs, error: reason };
    }
    // A majority runs: the leader has just gone and an election is under way.
    return this.failed(cluster, `no leader (election under way?): ${probe.answering.length} of ${probe.total} managers answer (${answering}): ${last}`, durationMs);
  }

  /** Asks every registered manager of the cluster whether its engine runs as a manager now; `total` from their view of the swarm. */
  private async probeManagers(cluster: ClusterRow): Promise<{ total: number; registered: number; answering: string[]; silent: string[] }> {
    const managers = await this.router.managers(cluster);
    let total = managers.length;
    const answering: string[] = [];
    const silent: string[] = [];
    await Promise.all(managers.map(async (m) => {
      try {
        const info = await getInfo(await this.docker(m.hostId), { timeoutMs: 5000 });
        if (info.Swarm?.LocalNodeState === 'active' && info.Swarm.ControlAvailable) {
          answering.push(m.host);
          total = Math.max(total, info.Swarm.RemoteManagers?.length ?? 0);
        } else silent.push(m.host);
      } catch {
        silent.push(m.host);
      }
    }));
    return { total, registered: managers.length, answering: answering.sort(), silent: silent.sort() };
  }

  private async failed(cluster: ClusterRow, reason: string, durationMs: number): Promise<ClusterSyncResult> {
    const failures = cluster.consecutive_failures + 1;
    const to: ClusterStatus = failures >= MAX_CONSECUTIVE_FAILURES ? 'error' : 'disconnected';
    const why = to === 'error' ? `${failures} consecutive failures; last: ${reason}` : reason;
    await this.move(cluster, to, why, { consecutive_failures: failures, last_sync_at: nowIso(), last_sync_ms: Math.round(durationMs) });
    this.log.warn({ cluster: cluster.name, reason, status: to }, 'cluster sync failed');
    return { ok: false, status: to, durationMs, error: why };
  }

  async move(cluster: ClusterRow, to: ClusterStatus, reason: string | null, extra: Parameters<Store['swarm']['setStatus']>[3]): Promise<void> {
    const { from, changed } = await this.store.swarm.setStatus(cluster.id, to, reason, extra);
    if (changed) this.onStatus({ clusterId: cluster.id, name: cluster.name, from, to, reason });
  }
}
