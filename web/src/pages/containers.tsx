// Containers of the whole fleet, grouped by host: state, image, ports, health;
// filter and search; start / stop / restart / remove one or a selection; an
// available image update shown and run in place. Kept current by container
// events and update checks/outcomes from the live stream.
import { useMemo, useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { can } from '../session.ts';
import { queryParam } from '../router.ts';
import { VirtualList } from '../components/virtual-list.tsx';
import { ActionButton, ErrorNote, Page, Status } from '../components/ui.tsx';
import type { FleetContainer } from '../types.ts';
import type { UpdateCheck } from './updates/types.ts';
import { UpdatesInProgress, useContainerUpdates } from './updates/update-run.tsx';

type Row = { kind: 'host'; host: string; count: number; running: number } | { kind: 'container'; c: FleetContainer };
const ACTIONS = ['start', 'stop', 'restart'] as const;

function matches(c: FleetContainer, text: string, state: string, update: UpdateCheck | undefined): boolean {
  if (state === 'update' && update?.status !== 'update_available') return false;
  if (state === 'running' && c.state !== 'running') return false;
  if (state === 'stopped' && c.state === 'running') return false;
  if (state === 'unhealthy' && c.health !== 'unhealthy') return false;
  if (!text) return true;
  const t = text.toLowerCase();
  return c.name.toLowerCase().includes(t) || c.image.toLowerCase().includes(t) || c.host.toLowerCase().includes(t) || c.id.startsWith(t);
}

export function containerAction(c: Pick<FleetContainer, 'host' | 'id'>, action: string): Promise<unknown> {
  if (action === 'remove') return api('DELETE', `${path`/hosts/${c.host}/containers/${c.id}`}?force=true`);
  return api('POST', path`/hosts/${c.host}/containers/${c.id}/${action}`);
}

export function ContainersPage() {
  const list = useResource(() => api<FleetContainer[]>('GET', '/containers'));
  useLiveRefresh('docker', (m) => m.data?.Type === 'container', list.reload, 300);
  useLiveRefresh('host.status', () => true, list.reload, 500);
  const readUpdates = can('updates.read');
  const checks = useResource(() => (readUpdates ? api<UpdateCheck[]>('GET', '/updates') : Promise.resolve([])), [readUpdates]);
  useLiveRefresh('update.check', () => true, checks.reload);
  useLiveRefresh('update.run', () => true, checks.reload);
  const byContainer = useMemo(() => new Map((checks.data ?? []).map((u) => [`${u.host}/${u.containerId}`, u])), [checks.data]);
  const updates = useContainerUpdates(() => { list.reload(); checks.reload(); });
  const mayUpdate = can('updates.manage');
  const [text, setText] = useState(queryParam('host') ?? '');
  const [state, setState] = useState('all');
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string>();
  const operate = can('containers.operate');
  const all = list.data ?? [];
  const rows = useMemo(() => {
    const shown = all.filter((c) => matches(c, text.trim(), state, byContainer.get(`${c.host}/${c.id}`)));
    // One pass: the list is sorted by host, so each group's header is filled in as its rows go by.
    const out: Row[] = [];
    let header: Extract<Row, { kind: 'host' }> | undefined;
    for (const c of shown) {
      if (c.host !== header?.host) {
        header = { kind: 'host', host: c.host, count: 0, running: 0 };
        out.push(header);
      }
      header.count++;
      if (c.state === 'running') header.running++;
      out.push({ kind: 'container', c });
    }
    return out;
  }, [all, text, state, byContainer]);
  const key = (c: FleetContainer) => `${c.host}/${c.id}`;
  const chosen = all.filter((c) => selected.has(key(c)));
  const bulk = async (action: string) => {
    const results = await Promise.allSettled(chosen.map((c) => containerAction(c, action)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    if (failed.length) setError(`${failed.length} of ${chosen.length} failed: ${(failed[0]!.reason as Error).message}`);
    setSelected(new Set());
    list.reload();
  };
  return (
    <Page title="Containers" actions={<span class="muted">{all.length} on {new Set(all.map((c) => c.host)).size} hosts</span>}>
      <div class="toolbar">
        <input type="search" placeholder="Filter by name, image, host or id" value={text} aria-label="filter containers"
          onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <select value={state} aria-label="state" onChange={(e) => setState((e.target as HTMLSelectElement).value)}>
          <option value="all">all states</option><option value="running">running</option><option value="stopped">stopped</option><option value="unhealthy">unhealthy</option><option value="update">update available</option>
        </select>
        {operate && chosen.length > 0 && (
          <span class="bulk">{chosen.length} selected:
            {ACTIONS.map((a) => <ActionButton key={a} label={a} run={() => bulk(a)} onError={setError} />)}
            <ActionButton label="remove" danger confirm={`Remove ${chosen.length} containers?`} run={() => bulk('remove')} onError={setError} />
          </span>
        )}
      </div>
      <ErrorNote message={error ?? list.error} />
      <UpdatesInProgress updates={updates.updates} clear={updates.clear} />
      <div class="thead crow"><span /><span>Name</span><span>State</span><span>Image</span><span>Ports</span><span>Health</span><span>Update</span><span>Actions</span></div>
      <VirtualList label="containers" items={rows} rowHeight={38} height="calc(100vh - 230px)" row={(r) => r.kind === 'host'
        ? <div class="group" data-group={r.host}><b>{r.host}</b> <span class="muted">{r.running} running of {r.count}</span></div>
        : (
          <div class="crow" data-container={r.c.name}>
            <span>{operate && <input type="checkbox" aria-label={`select ${r.c.name}`} checked={selected.has(key(r.c))}
              onChange={(e) => { const s = new Set(selected); if ((e.target as HTMLInputElement).checked) s.add(key(r.c)); else s.delete(key(r.c)); setSelected(s); }} />}</span>
            <span><a href={path`/containers/${r.c.host}/${r.c.id}`}>{r.c.name}</a></span>
            <span><Status value={r.c.state} /></span>
            <span class="mono" title={r.c.image}>{r.c.image}</span>
            <span class="mono">{r.c.ports.join(', ')}</span>
            <span>{r.c.health ? <Status value={r.c.health} /> : ''}</span>
            <span>{byContainer.get(`${r.c.host}/${r.c.id}`)?.status === 'update_available' && <a href="/updates" class="status status-update_available" data-status="update_available">update available</a>}</span>
            <span class="actions">{mayUpdate && byContainer.get(`${r.c.host}/${r.c.id}`)?.status === 'update_available' && (
              <button type="button" disabled={updates.busy(r.c.host, r.c.name)} aria-label={`update ${r.c.name}`} onClick={() => void updates.start(r.c.host, r.c.name)}>update</button>
            )}{operate && (
              <>
                {r.c.state === 'running'
                  ? <ActionButton label="stop" title={`stop ${r.c.name}`} run={() => containerAction(r.c, 'stop').then(list.reload)} onError={setError} />
                  : <ActionButton label="start" title={`start ${r.c.name}`} run={() => containerAction(r.c, 'start').then(list.reload)} onError={setError} />}
                <ActionButton label="restart" title={`restart ${r.c.name}`} run={() => containerAction(r.c, 'restart').then(list.reload)} onError={setError} />
                <ActionButton label="remove" title={`remove ${r.c.name}`} danger confirm={`Remove ${r.c.name} on ${r.c.host}?`} run={() => containerAction(r.c, 'remove').then(list.reload)} onError={setError} />
              </>
            )}</span>
          </div>
        )} />
      {!list.loading && all.length === 0 && <p class="empty">No containers yet.</p>}
    </Page>
  );
}
