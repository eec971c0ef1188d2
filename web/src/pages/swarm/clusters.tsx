// The Swarm clusters: status, managers reachable of total, leader, quorum,
// nodes ready, services below desired, and the status reason. Live from
// cluster.status and swarm.event messages.
import { api } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { ErrorNote, Page, Status, ago } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import type { ClusterView } from './types.ts';

export function ClustersPage() {
  const list = useResource(() => api<ClusterView[]>('GET', '/swarm/clusters'));
  // A swarm event makes the server sync the cluster (debounced): its health is read a moment later.
  useClusterLive(undefined, { swarm: ['node', 'service'], status: true }, list.reload, 1500, 4000);
  return (
    <Page title="Swarm">
      <ErrorNote message={list.error} />
      {list.data && list.data.length > 0 && (
        <table class="grid" aria-label="clusters">
          <thead><tr><th>Cluster</th><th>Status</th><th>Managers reachable</th><th>Leader</th><th>Quorum</th><th>Nodes ready</th><th>Services below desired</th><th>Registered hosts</th><th>Reason</th><th>Synced</th></tr></thead>
          <tbody>
            {list.data.map((c) => <ClusterRow key={c.id} c={c} />)}
          </tbody>
        </table>
      )}
      {list.data?.length === 0 && <p class="empty">No Swarm cluster: one appears when a registered host is a Swarm manager.</p>}
    </Page>
  );
}

function ClusterRow({ c }: { c: ClusterView }) {
  const h = c.health;
  const below = h?.services.belowDesired ?? [];
  return (
    <tr data-cluster={c.name}>
      <td><a href={`/swarm/${encodeURIComponent(c.name)}`}>{c.name}</a> <span class="muted">({c.origin})</span></td>
      <td><Status value={c.status} /></td>
      <td data-field="managers">{h ? `${h.managers.reachable}/${h.managers.total}` : '-'}</td>
      <td>{h?.managers.leader?.hostname ?? <span class="bad">none</span>}</td>
      <td>{h ? (h.quorum ? <span class="good">yes</span> : <span class="bad">lost</span>) : '-'}</td>
      <td data-field="nodes">{h ? `${h.nodes.ready}/${h.nodes.total}` : '-'}</td>
      <td data-field="below">{h ? (below.length ? <span class="bad">{below.map((s) => `${s.name} ${s.running}/${s.desired}`).join(', ')}</span> : 'none') : '-'}</td>
      <td>{c.hosts.map((x) => `${x.name}${x.kind === 'agent' ? ' (agent)' : ''}`).join(', ') || <span class="muted">none</span>}</td>
      <td class="reason">{c.statusReason}</td>
      <td>{ago(c.lastSyncAt)}</td>
    </tr>
  );
}
