// Host status transitions after a sync attempt: success → connected; failure →
// disconnected, and after MAX_CONSECUTIVE_FAILURES → error (manual recovery).
import type { HostRow, HostsRepo } from '../store/hosts-repo.ts';
import type { HostStatus } from '../store/schema.ts';
import { nowIso } from '../store/db.ts';
import type { EngineFacts } from './engine-snapshot.ts';

export const MAX_CONSECUTIVE_FAILURES = 5;

export interface StatusChangeNotice {
  hostId: string;
  name: string;
  from: HostStatus;
  to: HostStatus;
  reason: string | null;
}

export class StatusTracker {
  private readonly hosts: HostsRepo;
  private readonly onChange: (c: StatusChangeNotice) => void;

  constructor(hosts: HostsRepo, onChange: (c: StatusChangeNotice) => void) {
    this.hosts = hosts;
    this.onChange = onChange;
  }

  async succeeded(host: HostRow, facts: EngineFacts, durationMs: number): Promise<void> {
    const at = nowIso();
    const extra = {
      consecutive_failures: 0, last_seen_at: at, last_sync_at: at, last_sync_ms: Math.round(durationMs),
      engine_id: facts.engineId, engine_name: facts.name, engine_version: facts.engineVersion, api_version: facts.apiVersion,
      os: facts.os, arch: facts.arch, cpus: facts.cpus, memory_bytes: facts.memoryBytes,
      containers_total: facts.containersTotal, containers_running: facts.containersRunning,
      swarm_node_id: facts.swarm.nodeId, swarm_state: facts.swarm.state, swarm_role: facts.swarm.role,
      // A manager names its cluster; a worker is linked by the cluster's own sync (its node list).
      ...(facts.swarm.state !== 'active' ? { swarm_cluster_id: null }
        : facts.swarm.clusterId ? { swarm_cluster_id: facts.swarm.clusterId }
        : host.swarm_node_id !== facts.swarm.nodeId ? { swarm_cluster_id: null } : {}),
    };
    // An agent host's status follows its channel: a sync that finishes after the agent left must not revive it.
    if (host.kind === 'agent' && host.status !== 'connected') await this.hosts.update(host.id, extra);
    else await this.move(host, 'connected', 'sync succeeded', extra);
  }

  async failed(host: HostRow, reason: string): Promise<HostStatus> {
    const failures = host.consecutive_failures + 1;
    const to: HostStatus = failures >= MAX_CONSECUTIVE_FAILURES ? 'error' : 'disconnected';
    const why = to === 'error' ? `${failures} consecutive failures; last: ${reason}` : reason;
    await this.move(host, to, why, { consecutive_failures: failures, last_sync_at: nowIso() });
    return to;
  }

  /** The live event stream broke: the host is disconnected until a sync proves otherwise. */
  async streamLost(host: HostRow, reason: string): Promise<void> {
    if (host.status !== 'connected') return;
    await this.move(host, 'disconnected', reason, {});
  }

  async move(host: HostRow, to: HostStatus, reason: string | null, extra: Parameters<HostsRepo['setStatus']>[3]): Promise<void> {
    const { from, changed } = await this.hosts.setStatus(host.id, to, reason, extra);
    if (changed) this.onChange({ hostId: host.id, name: host.name, from, to, reason });
  }
}
