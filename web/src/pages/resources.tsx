// Images, networks and volumes of one host (?host=, ?tab=): list, and per role
// pull (with progress) / create, remove, prune. Kept current by the host's
// Docker events of that type from the live stream; server errors shown as they are.
import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { can } from '../session.ts';
import { navigate, queryParam } from '../router.ts';
import { ActionButton, ErrorNote, Page, bytes } from '../components/ui.tsx';
import { PullImage } from '../components/pull-image.tsx';
import { Tabs } from '../components/tabs.tsx';
import { CreateForm } from '../components/create-form.tsx';
import type { Host } from '../types.ts';

interface Image { Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Size: number; Created: number; Containers?: number }
interface Network { Id: string; Name: string; Driver: string; Scope: string; Internal?: boolean; Attachable?: boolean; Created?: string }
interface Volume { Name: string; Driver: string; Mountpoint: string; Scope?: string; CreatedAt?: string; Labels?: Record<string, string> | null }
interface PruneReport { ImagesDeleted?: unknown[] | null; NetworksDeleted?: string[] | null; VolumesDeleted?: string[] | null; SpaceReclaimed?: number }

const TABS = [['images', 'Images'], ['networks', 'Networks'], ['volumes', 'Volumes']] as const;
type Tab = (typeof TABS)[number][0];
/** Networks every engine has and refuses to remove. */
const BUILTIN_NETWORKS = new Set(['bridge', 'host', 'none', 'ingress', 'docker_gwbridge']);

const shortId = (id: string) => id.replace(/^sha256:/, '').slice(0, 12);
const date = (unixOrIso: number | string | undefined) => unixOrIso === undefined ? '-'
  : new Date(typeof unixOrIso === 'number' ? unixOrIso * 1000 : unixOrIso).toLocaleString();

function pruned(r: PruneReport): string {
  const n = (r.ImagesDeleted ?? r.NetworksDeleted ?? r.VolumesDeleted ?? []).length;
  return `Pruned: ${n} removed${r.SpaceReclaimed ? `, ${bytes(r.SpaceReclaimed)} reclaimed` : ''}.`;
}

export function ResourcesPage() {
  const hosts = useResource(() => api<Host[]>('GET', '/hosts'));
  const names = (hosts.data ?? []).map((h) => h.name);
  const asked = queryParam('host');
  const host = asked ?? names[0];
  const tab: Tab = (TABS.find(([t]) => t === queryParam('tab'))?.[0]) ?? 'images';
  const go = (h: string, t: Tab) => navigate(`/resources?${new URLSearchParams({ host: h, tab: t })}`, true);
  return (
    <Page title="Images, networks, volumes" actions={
      <label class="inline">Host
        <select value={host ?? ''} onChange={(e) => go((e.target as HTMLSelectElement).value, tab)}>
          {asked && !names.includes(asked) && <option value={asked}>{asked}</option>}
          {names.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
    }>
      <ErrorNote message={hosts.error} />
      {!hosts.loading && !host && <p class="empty">No hosts yet. <a href="/hosts">Add one</a>.</p>}
      {host && (
        <>
          <Tabs tabs={TABS} current={tab} label="resource kind" onSelect={(t) => go(host, t)}>
            {tab === 'images' && <Images key={host} host={host} />}
            {tab === 'networks' && <Networks key={host} host={host} />}
            {tab === 'volumes' && <Volumes key={host} host={host} />}
          </Tabs>
        </>
      )}
    </Page>
  );
}

/** Reloads on the host's Docker events of one object type. */
function useTypedEvents(host: string, type: 'image' | 'network' | 'volume', reload: () => void) {
  useLiveRefresh('docker', (m) => m.host === host && m.data?.Type === type, reload);
}

function Images({ host }: { host: string }) {
  const list = useResource(() => api<Image[]>('GET', path`/hosts/${host}/images`), [host]);
  useTypedEvents(host, 'image', list.reload);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const manage = can('images.manage');
  const images = [...(list.data ?? [])].sort((a, b) => b.Created - a.Created);
  return (
    <>
      {manage && (
        <div class="resource-tools">
          <PullImage host={host} onPulled={list.reload} />
          <ActionButton label="Prune dangling images" confirm={`Remove dangling images on ${host}?`}
            run={async () => { setNote(pruned(await api<PruneReport>('POST', path`/hosts/${host}/images/prune`))); list.reload(); }} onError={setError} />
        </div>
      )}
      <ErrorNote message={error ?? list.error} />
      {note && <p class="muted" role="status">{note}</p>}
      <table class="grid" aria-label="images">
        <thead><tr><th>Tags</th><th>ID</th><th>Size</th><th>Created</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {images.map((i) => {
            const tags = (i.RepoTags ?? []).filter((t) => t !== '<none>:<none>');
            const label = tags[0] ?? shortId(i.Id);
            return (
              <tr key={i.Id} data-image={tags.join(' ') || shortId(i.Id)}>
                <td class="mono">{tags.length ? tags.map((t) => <div key={t}>{t}</div>) : <span class="muted">&lt;untagged&gt;</span>}</td>
                <td class="mono" title={i.Id}>{shortId(i.Id)}</td>
                <td>{bytes(i.Size)}</td>
                <td>{date(i.Created)}</td>
                {manage && (
                  <td><div class="actions">
                    {tags.length > 1
                      ? tags.map((t) => <ActionButton key={t} label={`untag ${t.split('/').pop()}`} title={`remove image ${t}`} danger confirm={`Remove the tag ${t} on ${host}?`}
                          run={() => api('DELETE', path`/hosts/${host}/images/${t}`).then(list.reload)} onError={setError} />)
                      : <ActionButton label="remove" title={`remove image ${label}`} danger confirm={`Remove image ${label} on ${host}?`}
                          run={() => api('DELETE', path`/hosts/${host}/images/${tags[0] ?? i.Id}`).then(list.reload)} onError={setError} />}
                  </div></td>
                )}
              </tr>
            );
          })}
          {!list.loading && images.length === 0 && <tr><td colSpan={5} class="empty">No images on {host}.</td></tr>}
        </tbody>
      </table>
    </>
  );
}

function Networks({ host }: { host: string }) {
  const list = useResource(() => api<Network[]>('GET', path`/hosts/${host}/networks`), [host]);
  useTypedEvents(host, 'network', list.reload);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const manage = can('networks.manage');
  const networks = [...(list.data ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  return (
    <>
      {manage && (
        <div class="resource-tools">
          <CreateForm label="create a network" submit="Create network" onCreate={async (f) => {
            await api('POST', path`/hosts/${host}/networks`, { name: f.get('name'), driver: f.get('driver'), internal: f.get('internal') === 'on', attachable: f.get('attachable') === 'on' });
            list.reload();
          }}>
            <label>Network name<input name="name" required maxLength={255} /></label>
            <label>Driver<select name="driver"><option>bridge</option><option>overlay</option><option>macvlan</option><option>ipvlan</option></select></label>
            <label class="check"><input type="checkbox" name="internal" /> internal</label>
            <label class="check"><input type="checkbox" name="attachable" /> attachable</label>
          </CreateForm>
          <ActionButton label="Prune unused networks" confirm={`Remove networks no container uses on ${host}?`}
            run={async () => { setNote(pruned(await api<PruneReport>('POST', path`/hosts/${host}/networks/prune`))); list.reload(); }} onError={setError} />
        </div>
      )}
      <ErrorNote message={error ?? list.error} />
      {note && <p class="muted" role="status">{note}</p>}
      <table class="grid" aria-label="networks">
        <thead><tr><th>Name</th><th>Driver</th><th>Scope</th><th>ID</th><th>Options</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {networks.map((n) => (
            <tr key={n.Id} data-network={n.Name}>
              <td>{n.Name}</td>
              <td>{n.Driver}</td>
              <td>{n.Scope}</td>
              <td class="mono" title={n.Id}>{shortId(n.Id)}</td>
              <td>{[n.Internal && 'internal', n.Attachable && 'attachable'].filter(Boolean).join(', ')}</td>
              {manage && (
                <td><div class="actions">
                  {!BUILTIN_NETWORKS.has(n.Name) && <ActionButton label="remove" title={`remove network ${n.Name}`} danger confirm={`Remove network ${n.Name} on ${host}?`}
                    run={() => api('DELETE', path`/hosts/${host}/networks/${n.Id}`).then(list.reload)} onError={setError} />}
                </div></td>
              )}
            </tr>
          ))}
          {!list.loading && networks.length === 0 && <tr><td colSpan={6} class="empty">No networks on {host}.</td></tr>}
        </tbody>
      </table>
    </>
  );
}

function Volumes({ host }: { host: string }) {
  const list = useResource(() => api<Volume[]>('GET', path`/hosts/${host}/volumes`), [host]);
  useTypedEvents(host, 'volume', list.reload);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const manage = can('volumes.manage');
  const volumes = [...(list.data ?? [])].sort((a, b) => a.Name.localeCompare(b.Name));
  return (
    <>
      {manage && (
        <div class="resource-tools">
          <CreateForm label="create a volume" submit="Create volume" onCreate={async (f) => {
            const name = String(f.get('name') ?? '').trim();
            await api('POST', path`/hosts/${host}/volumes`, { ...(name ? { name } : {}), driver: String(f.get('driver') ?? '').trim() || 'local' });
            list.reload();
          }}>
            <label>Volume name (empty: a generated one)<input name="name" maxLength={255} /></label>
            <label>Driver<input name="driver" defaultValue="local" maxLength={64} /></label>
          </CreateForm>
          <ActionButton label="Prune unused volumes" confirm={`Remove anonymous volumes no container uses on ${host}?`}
            run={async () => { setNote(pruned(await api<PruneReport>('POST', path`/hosts/${host}/volumes/prune`))); list.reload(); }} onError={setError} />
        </div>
      )}
      <ErrorNote message={error ?? list.error} />
      {note && <p class="muted" role="status">{note}</p>}
      <table class="grid" aria-label="volumes">
        <thead><tr><th>Name</th><th>Driver</th><th>Mount point</th><th>Created</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {volumes.map((v) => (
            <tr key={v.Name} data-volume={v.Name}>
              <td class="mono">{v.Name}</td>
              <td>{v.Driver}</td>
              <td class="mono reason">{v.Mountpoint}</td>
              <td>{date(v.CreatedAt)}</td>
              {manage && (
                <td><div class="actions">
                  <ActionButton label="remove" title={`remove volume ${v.Name}`} danger confirm={`Remove volume ${v.Name} on ${host}? Its data is deleted.`}
                    run={() => api('DELETE', path`/hosts/${host}/volumes/${v.Name}`).then(list.reload)} onError={setError} />
                </div></td>
              )}
            </tr>
          ))}
          {!list.loading && volumes.length === 0 && <tr><td colSpan={5} class="empty">No volumes on {host}.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
