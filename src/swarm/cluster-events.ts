// Live updates of clusters. Every manager's engine already streams its swarm's
// events (node, service, secret, config) to the fleet: direct hosts through
// their event watcher, agent hosts over their channel. So a cluster listens to
// those instead of opening a stream of its own: one event of its kind syncs the
// cluster again soon (debounced), and is published once, though every manager reports it.
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { DockerEvent } from '../docker/events.ts';

const SWARM_TYPES = new Set(['node', 'service', 'secret', 'config']);
const DEBOUNCE_MS = 500;
const SEEN_MAX = 2000;

export class ClusterEvents {
  private readonly deps: {
    store: Store; log: Logger;
    onEvent(e: { clusterId: string; cluster: string; host: string; event: DockerEvent }): void;
    refresh(clusterId: string): void;
  };
  private readonly pending = new Map<string, NodeJS.Timeout>();
  /** Events already published: each manager reports the same one. */
  private readonly seen = new Set<string>();

  constructor(deps: ClusterEvents['deps']) {
    this.deps = deps;
  }

  fromHost(hostId: string, hostName: string, event: DockerEvent): void {
    if (!SWARM_TYPES.has(event.Type ?? '')) return;
    void this.route(hostId, hostName, event).catch((err: unknown) => this.deps.log.debug({ err, host: hostName }, 'could not route a swarm event'));
  }

  private async route(hostId: string, hostName: string, event: DockerEvent): Promise<void> {
    const host = await this.deps.store.hosts.find(hostId);
    if (!host?.swarm_cluster_id) return;
    const cluster = await this.deps.store.swarm.find(host.swarm_cluster_id);
    if (!cluster) return;
    const key = `${cluster.id}|${event.Type}|${event.Action}|${event.Actor?.ID ?? ''}|${event.timeNano ?? event.time ?? ''}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
      this.deps.onEvent({ clusterId: cluster.id, cluster: cluster.name, host: hostName, event });
    }
    if (this.pending.has(cluster.id)) return;
    this.pending.set(cluster.id, setTimeout(() => {
      this.pending.delete(cluster.id);
      this.deps.refresh(cluster.id);
    }, DEBOUNCE_MS));
  }

  stop(): void {
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }
}
