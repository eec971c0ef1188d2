// The fleet at a glance: hosts with their status, kind, versions, containers
// capacity and disk usage; fleet health (hosts down, unhealthy containers, Swarm quorum).
// Live: host status changes and container events refresh it in place.
import { api } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { Page, Status, ago, bytes, ErrorNote } from '../components/ui.tsx';
import type { DiskUsage, Overview } from '../types.ts';

/** The breakdown behind a host's disk figure, for its tooltip. */
function diskTitle(d: DiskUsage): string {
  return [
    `images ${bytes(d.imagesBytes)}`, `containers ${bytes(d.containersBytes)}`, `volumes ${bytes(d.volumesBytes)}`,
    `build cache ${bytes(d.buildCacheBytes)}`, `reclaimable ${bytes(d.reclaimableBytes)}`, `checked ${ago(d.checkedAt)} (${d.checkedAt})`,
  ].join(' · ');
}

export function OverviewPage() {
  const ov = useResource(() => api<Overview>('GET', '/fleet/overview'));
  useLiveRefresh('host.status', () => true, ov.reload);
  useLiveRefresh('docker', (m) => m.data?.Type === 'container', ov.reload, 500);
  useLiveRefresh('cluster.status', () => true, ov.reload);
  useLiveRefresh('audit', (m) => /^host\.|^agent|enroll/.test(m.data?.action ?? ''), ov.reload);
  const d = ov.data;
  return (
    <Page title="Fleet">
      <ErrorNote message={ov.error} />
      {d && (
        <>
          <div class="cards">
            <div class="card stat"><span class="big">{d.totals.hosts}</span> hosts<br /><span class={d.totals.down ? 'bad' : 'good'}>{d.totals.down} down</span></div>
            <div class="card stat"><span class="big">{d.totals.containers.running}</span> running of {d.totals.containers.total} containers<br />
              <span class={d.totals.containers.unhealthy ? 'bad' : 'good'}>{d.totals.containers.unhealthy} unhealthy</span></div>
            <div class="card stat"><span class="big">{d.totals.cpus}</span> CPUs · {bytes(d.totals.memoryBytes)} memory<br />
              <span data-testid="fleet-disk">{d.hosts.some((h) => h.disk) ? `${bytes(d.totals.diskBytes)} disk used` : 'disk not measured yet'}</span></div>
            {d.clusters.map((c) => (
              <div class="card stat" key={c.id} data-cluster={c.name}>
                Swarm <b>{c.name}</b> <Status value={c.status} /><br />
                {c.health ? <>managers {c.health.managers.reachable}/{c.health.managers.total} · quorum {c.health.quorum ? 'yes' : 'LOST'} · nodes {c.health.nodes.ready}/{c.health.nodes.total}</> : 'not synced yet'}
              </div>
            ))}
          </div>
          <table class="grid" aria-label="hosts">
            <thead><tr><th>Host</th><th>Status</th><th>Kind</th><th>Last seen</th><th>Engine</th><th>Agent</th><th>Containers</th><th>Health</th><th>Capacity</th><th>Disk</th><th>Reason</th></tr></thead>
            <tbody>
              {d.hosts.map((h) => (
                <tr key={h.id} data-host={h.name}>
                  <td><a href={`/containers?host=${encodeURIComponent(h.name)}`}>{h.name}</a></td>
                  <td><Status value={h.status} /></td>
                  <td>{h.kind}{h.agent?.state && h.agent.state !== 'active' ? ` (${h.agent.state})` : ''}</td>
                  <td title={h.lastSeenAt ?? ''}>{ago(h.lastSeenAt)}</td>
                  <td>{h.engine.version ?? '-'}</td>
                  <td>{h.agent?.version ?? '-'}</td>
                  <td>{h.containers.running}/{h.containers.total}</td>
                  <td>{h.health.unhealthy ? <span class="bad">{h.health.unhealthy} unhealthy</span> : h.health.healthy ? <span class="good">{h.health.healthy} healthy</span> : '-'}</td>
                  <td>{h.engine.cpus ?? '-'} CPU · {bytes(h.engine.memoryBytes)}</td>
                  <td class="disk" title={h.disk ? diskTitle(h.disk) : 'not measured yet'}>{h.disk ? bytes(h.disk.totalBytes) : '-'}</td>
                  <td class="reason">{h.status === 'connected' ? '' : [h.agent?.disconnectReason, h.statusReason].filter(Boolean).join(': ')}</td>
                </tr>
              ))}
              {d.hosts.length === 0 && <tr><td colSpan={11} class="empty">No hosts yet: add one on the Hosts page, or enroll an agent.</td></tr>}
            </tbody>
          </table>
        </>
      )}
    </Page>
  );
}
