// Swarm clusters: status, managers and quorum, nodes, services below desired.
import { api } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { ErrorNote, Page, Status, ago } from '../components/ui.tsx';
import type { Cluster } from '../types.ts';

export function SwarmPage() {
  const list = useResource(() => api<(Cluster & { hosts: { name: string; role: string | null; kind: string }[]; lastSyncAt: string | null })[]>('GET', '/swarm/clusters'));
  useLiveRefresh('cluster.status', () => true, list.reload);
  useLiveRefresh('swarm.event', () => true, list.reload, 1000);
  return (
    <Page title="Swarm">
      <ErrorNote message={list.error} />
      {(list.data ?? []).map((c) => (
        <div class="card" key={c.id} data-cluster={c.name}>
          <h2>{c.name} <Status value={c.status} /></h2>
          <p class="reason">{c.statusReason}</p>
          {c.health && (
            <p>Managers {c.health.managers.reachable} of {c.health.managers.total} reachable · leader {c.health.managers.leader?.hostname ?? 'none'} · quorum {c.health.quorum ? 'yes' : 'LOST'} ·
              nodes {c.health.nodes.ready} of {c.health.nodes.total} ready · {c.health.services.total} services</p>
          )}
          <p class="muted">Hosts: {c.hosts.map((h) => `${h.name} (${h.kind} ${h.role ?? ''})`).join(', ') || 'none registered'} · synced {ago(c.lastSyncAt)}</p>
        </div>
      ))}
      {list.data?.length === 0 && <p class="empty">No Swarm cluster: one appears when a registered host is a Swarm manager.</p>}
    </Page>
  );
}
