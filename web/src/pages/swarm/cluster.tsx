// One cluster: its health at the top, and a tab for each of what it holds.
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { ErrorNote, Page, Status, ago } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import { NodesTab } from './nodes.tsx';
import { ServicesTab } from './services.tsx';
import { StacksTab } from './stacks.tsx';
import { DataTab } from './data.tsx';
import type { ClusterView, ServiceSummary } from './types.ts';

export const TABS = ['nodes', 'services', 'stacks', 'secrets', 'configs'] as const;
export type Tab = (typeof TABS)[number];
const LABELS: Record<Tab, string> = { nodes: 'Nodes', services: 'Services', stacks: 'Stacks', secrets: 'Secrets', configs: 'Configs' };

export function clusterHref(cluster: string, ...rest: string[]): string {
  return ['/swarm', cluster, ...rest].map((p, i) => (i === 0 ? p : encodeURIComponent(p))).join('/');
}

export function ClusterPage({ cluster, tab }: { cluster: string; tab: Tab }) {
  const view = useResource(() => api<ClusterView>('GET', path`/swarm/clusters/${cluster}`), [cluster]);
  useClusterLive(cluster, { swarm: ['node', 'service'], status: true }, view.reload, 1500, 4000);
  // Services live (the header's below-desired count, and the Services tab): a task's state is newer than the last sync.
  const services = useResource(() => api<ServiceSummary[]>('GET', path`/swarm/clusters/${cluster}/services`), [cluster]);
  useClusterLive(cluster, { swarm: ['service'], tasks: true, status: true }, services.reload);
  return (
    <Page title={`Swarm ${cluster}`}>
      <p class="crumbs"><a href="/swarm">All clusters</a></p>
      <ErrorNote message={view.error} />
      {view.data && <ClusterHealth c={view.data} services={services.data} />}
      <nav class="swarm-tabs" aria-label="cluster sections">
        {TABS.map((t) => <a key={t} href={clusterHref(cluster, t)} aria-current={t === tab ? 'page' : undefined}>{LABELS[t]}</a>)}
      </nav>
      {tab === 'nodes' && <NodesTab cluster={cluster} hosts={view.data?.hosts} />}
      {tab === 'services' && <ServicesTab cluster={cluster} list={services} />}
      {tab === 'stacks' && <StacksTab cluster={cluster} />}
      {tab === 'secrets' && <DataTab cluster={cluster} kind="secret" />}
      {tab === 'configs' && <DataTab cluster={cluster} kind="config" />}
    </Page>
  );
}

function ClusterHealth({ c, services }: { c: ClusterView; services: ServiceSummary[] | undefined }) {
  const h = c.health;
  const below = services ? services.filter((s) => s.running < s.desired) : (h?.services.belowDesired ?? []);
  return (
    <div class="cards swarm-health" data-cluster={c.name}>
      <div class="card stat"><div class="muted">Status</div><div class="big"><Status value={c.status} /></div>{c.statusReason && <div class="reason">{c.statusReason}</div>}</div>
      {h && <>
        <div class="card stat"><div class="muted">Managers reachable</div><div class="big" data-field="managers">{h.managers.reachable}/{h.managers.total}</div>
          <div>leader {h.managers.leader?.hostname ?? <span class="bad">none</span>} · quorum {h.quorum ? <span class="good">yes</span> : <span class="bad">lost</span>}</div></div>
        <div class="card stat"><div class="muted">Nodes ready</div><div class="big" data-field="nodes">{h.nodes.ready}/{h.nodes.total}</div>
          <div class="muted">{[h.nodes.down.length && `down: ${h.nodes.down.join(', ')}`, h.nodes.drained.length && `drained: ${h.nodes.drained.join(', ')}`, h.nodes.paused.length && `paused: ${h.nodes.paused.join(', ')}`].filter(Boolean).join(' · ') || 'none down or drained'}</div></div>
        <div class="card stat"><div class="muted">Services</div><div class="big" data-field="services">{services?.length ?? h.services.total}</div>
          <div data-field="below">{below.length ? <span class="bad">below desired: {below.map((s) => `${s.name} ${s.running}/${s.desired}`).join(', ')}</span> : <span class="muted">none below desired</span>}</div></div>
      </>}
      <div class="card stat"><div class="muted">Last sync</div><div class="big">{ago(c.lastSyncAt)}</div><div class="muted">through {c.lastManager ?? '-'}</div></div>
    </div>
  );
}
