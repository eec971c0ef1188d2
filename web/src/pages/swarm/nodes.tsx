// A cluster's nodes: hostname, registered host, role, availability, state,
// leader and reachability; availability, promote/demote and labels for those
// who may manage the swarm. The server's refusal (the last manager, quorum) is shown as it says it.
import { useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote, Status } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import type { ClusterView, NodeView } from './types.ts';

const AVAILABILITY: { value: NodeView['availability']; verb: string }[] = [{ value: 'active', verb: 'activate' }, { value: 'pause', verb: 'pause' }, { value: 'drain', verb: 'drain' }];

/** `hosts`: the cluster's registered hosts, for their kind (direct or agent). */
export function NodesTab({ cluster, hosts }: { cluster: string; hosts: ClusterView['hosts'] | undefined }) {
  const nodes = useResource(() => api<NodeView[]>('GET', path`/swarm/clusters/${cluster}/nodes`), [cluster]);
  useClusterLive(cluster, { swarm: ['node'], status: true }, nodes.reload);
  const [error, setError] = useState<string>();
  const manage = can('swarm.manage');
  const change = (n: NodeView, body: Record<string, unknown>) => api('PATCH', path`/swarm/clusters/${cluster}/nodes/${n.id}`, { ...body, version: n.version }).then(() => { setError(undefined); nodes.reload(); });
  const post = (n: NodeView, action: 'promote' | 'demote') => api('POST', path`/swarm/clusters/${cluster}/nodes/${n.id}/${action}`, {}).then(() => { setError(undefined); nodes.reload(); });
  const list = [...(nodes.data ?? [])].sort((a, b) => (a.role === b.role ? a.hostname.localeCompare(b.hostname) : a.role === 'manager' ? -1 : 1));
  return (
    <section aria-label="nodes">
      <ErrorNote message={error ?? nodes.error} />
      <table class="grid" aria-label="nodes">
        <thead><tr><th>Node</th><th>Registered host</th><th>Role</th><th>Availability</th><th>State</th><th>Manager</th><th>Engine</th><th>Labels</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {list.map((n) => (
            <tr key={n.id} data-node={n.hostname} data-host={n.host ?? undefined}>
              <td><span class="mono" title={n.id}>{n.hostname}</span>{n.addr && <div class="muted">{n.addr}</div>}</td>
              <td data-field="host">{n.host ?? <span class="muted">not registered</span>}{n.host && <HostKind kind={hosts?.find((h) => h.name === n.host)?.kind} />}</td>
              <td data-field="role">{n.role}</td>
              <td data-field="availability"><Status value={n.availability} /></td>
              <td><Status value={n.state} />{n.message && n.state !== 'ready' && <div class="reason">{n.message}</div>}</td>
              <td>{n.role === 'manager' ? <>{n.leader && <strong>leader </strong>}<Status value={n.reachability ?? 'unknown'} /></> : '-'}</td>
              <td>{n.engineVersion ?? '-'}</td>
              <td><Labels node={n} manage={manage} onRemove={(key) => change(n, { labelsRemove: [key] })} onError={setError} /></td>
              {manage && (
                <td>
                  <div class="actions">
                    {AVAILABILITY.filter((a) => a.value !== n.availability).map((a) => (
                      <ActionButton key={a.value} label={a.verb} title={`${a.verb} ${n.hostname}`} danger={a.value === 'drain'}
                        confirm={a.value === 'drain' ? `Drain ${n.hostname}? Its tasks move to other nodes.` : undefined}
                        run={() => change(n, { availability: a.value })} onError={setError} />
                    ))}
                    {n.role === 'worker'
                      ? <ActionButton label="promote" title={`promote ${n.hostname}`} run={() => post(n, 'promote')} onError={setError} />
                      : <ActionButton label="demote" title={`demote ${n.hostname}`} confirm={`Demote ${n.hostname} to a worker?`} run={() => post(n, 'demote')} onError={setError} />}
                  </div>
                  <AddLabel node={n} onAdd={(key, value) => change(n, { labelsAdd: { [key]: value } })} onError={setError} />
                </td>
              )}
            </tr>
          ))}
          {nodes.data?.length === 0 && <tr><td colSpan={9} class="empty">No nodes.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function HostKind({ kind }: { kind: string | undefined }) {
  return kind ? <span class="muted" data-kind={kind}> ({kind})</span> : null;
}

function Labels({ node, manage, onRemove, onError }: { node: NodeView; manage: boolean; onRemove: (key: string) => Promise<unknown>; onError: (m: string) => void }) {
  const entries = Object.entries(node.labels);
  if (!entries.length) return <span class="muted">none</span>;
  return (
    <ul class="chips" aria-label={`labels of ${node.hostname}`}>
      {entries.map(([k, v]) => (
        <li key={k} class="chip"><span class="mono">{v ? `${k}=${v}` : k}</span>
          {manage && <ActionButton label="×" title={`remove label ${k} from ${node.hostname}`} run={() => onRemove(k)} onError={onError} />}
        </li>
      ))}
    </ul>
  );
}

function AddLabel({ node, onAdd, onError }: { node: NodeView; onAdd: (key: string, value: string) => Promise<unknown>; onError: (m: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <form class="inline" aria-label={`add a label to ${node.hostname}`} onSubmit={async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const text = String(new FormData(form).get('label') ?? '').trim();
      const eq = text.indexOf('=');
      const key = eq < 0 ? text : text.slice(0, eq);
      if (!key) return;
      setBusy(true);
      try {
        await onAdd(key, eq < 0 ? '' : text.slice(eq + 1));
        form.reset();
      } catch (err) {
        onError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <input name="label" placeholder="key=value" aria-label={`new label for ${node.hostname}`} maxLength={4352} />
      <button type="submit" disabled={busy} aria-label={`add label to ${node.hostname}`}>{busy ? '…' : 'add label'}</button>
    </form>
  );
}
