// A cluster's services: name, image, mode, running/desired, update status;
// scale, roll back and remove in the row, the rest on a service's page.
import { useState } from 'preact/hooks';
import type { Resource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ErrorNote, Status } from '../../components/ui.tsx';
import { RemoveButton, RollbackButton, ScaleForm } from './service-actions.tsx';
import type { ServiceSummary } from './types.ts';

export function serviceHref(cluster: string, service: string): string {
  return `/swarm/${encodeURIComponent(cluster)}/services/${encodeURIComponent(service)}`;
}

export function Replicas({ s }: { s: Pick<ServiceSummary, 'running' | 'desired'> }) {
  const cls = s.running >= s.desired ? 'good' : 'bad';
  return <span class={`replicas-count ${cls}`} data-running={s.running} data-desired={s.desired}>{s.running}/{s.desired}</span>;
}

/** `list`: the cluster page's services, kept live there (its header counts them too). */
export function ServicesTab({ cluster, list }: { cluster: string; list: Resource<ServiceSummary[]> }) {
  const [error, setError] = useState<string>();
  const [filter, setFilter] = useState('');
  const manage = can('swarm.manage');
  const done = () => { setError(undefined); list.reload(); };
  const shown = (list.data ?? []).filter((s) => !filter || s.name.includes(filter) || s.image.includes(filter) || (s.stack ?? '').includes(filter))
    .sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-label="services">
      <div class="toolbar">
        <input type="search" placeholder="Filter by name, image or stack" aria-label="filter services" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        <span class="muted">{list.data ? `${shown.length} of ${list.data.length} services` : 'loading…'}</span>
      </div>
      <ErrorNote message={error ?? list.error} />
      <table class="grid" aria-label="services">
        <thead><tr><th>Service</th><th>Image</th><th>Mode</th><th>Running</th><th>Update</th><th>Ports</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {shown.map((s) => (
            <tr key={s.id} data-service={s.name}>
              <td><a href={serviceHref(cluster, s.name)}>{s.name}</a>{s.stack && <div class="muted">stack {s.stack}</div>}</td>
              <td class="mono">{s.image}</td>
              <td>{s.mode}{s.endpointMode === 'dnsrr' ? ' · dnsrr' : ''}</td>
              <td data-field="replicas"><Replicas s={s} /></td>
              <td>{s.updateState ? <Status value={s.updateState} /> : <span class="muted">-</span>}</td>
              <td class="mono">{s.ports.join(', ') || '-'}</td>
              {manage && (
                <td class="actions">
                  <ScaleForm cluster={cluster} s={s} onDone={done} onError={setError} />
                  <RollbackButton cluster={cluster} s={s} onDone={done} onError={setError} />
                  <RemoveButton cluster={cluster} s={s} onDone={done} onError={setError} />
                </td>
              )}
            </tr>
          ))}
          {list.data && shown.length === 0 && <tr><td colSpan={7} class="empty">{list.data.length ? 'No service matches.' : 'No services.'}</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
