// A cluster's secrets or configs: metadata only (the content goes to the
// engine and is never shown); create, remove (refused while a service uses
// it, with the server's reason), rotate to <name>-v<N+1> moving every service.
import { useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote, ago } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import type { DataKind, DataView, RotationResult } from './types.ts';

export function DataTab({ cluster, kind }: { cluster: string; kind: DataKind }) {
  const plural = `${kind}s`;
  const list = useResource(() => api<DataView[]>('GET', path`/swarm/clusters/${cluster}/${plural}`), [cluster, kind]);
  useClusterLive(cluster, { swarm: [kind] }, list.reload);
  const [error, setError] = useState<string>();
  const [note, setNote] = useState<string>();
  const [rotating, setRotating] = useState<string>();
  const manage = can('swarm.manage');
  const sorted = [...(list.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-label={plural}>
      {manage && <CreateData cluster={cluster} kind={kind} onCreated={(name) => { setNote(`Created ${kind} ${name}.`); list.reload(); }} />}
      <ErrorNote message={error ?? list.error} />
      {note && <p class="swarm-note" role="status">{note}</p>}
      <table class="grid" aria-label={plural}>
        <thead><tr><th>Name</th><th>Labels</th><th>Rotation</th><th>Created</th><th>Updated</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {sorted.map((d) => (
            <tr key={d.id} data-name={d.name}>
              <td><span class="mono" title={d.id}>{d.name}</span>{d.driver && <div class="muted">driver {d.driver}</div>}</td>
              <td class="mono">{Object.entries(d.labels).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}</td>
              <td>{d.rotation ? `v${d.rotation.version} of ${d.rotation.of}` : '-'}</td>
              <td>{ago(d.createdAt)}</td>
              <td>{ago(d.updatedAt)}</td>
              {manage && (
                <td>
                  <div class="actions">
                    <button type="button" aria-label={`rotate ${d.name}`} aria-expanded={rotating === d.id} onClick={() => setRotating(rotating === d.id ? undefined : d.id)}>rotate</button>
                    <ActionButton label="remove" danger title={`remove ${d.name}`} confirm={`Remove the ${kind} ${d.name}?`}
                      run={() => api('DELETE', path`/swarm/clusters/${cluster}/${plural}/${d.id}`).then(() => { setError(undefined); list.reload(); })} onError={setError} />
                  </div>
                  {rotating === d.id && <RotateData cluster={cluster} kind={kind} d={d} onDone={(r) => {
                    setRotating(undefined);
                    setNote(r.ok ? `Rotated ${d.name} to ${r.to?.name ?? '?'}: ${r.services.map((s) => `${s.name} ${s.status}`).join(', ') || 'no service used it'}${r.oldRemoved ? '; the old one is removed' : ''}.` : undefined);
                    setError(r.ok ? undefined : `Rotation of ${d.name} failed: ${r.error ?? 'unknown'}`);
                    list.reload();
                  }} onError={setError} />}
                </td>
              )}
            </tr>
          ))}
          {list.data?.length === 0 && <tr><td colSpan={6} class="empty">No {plural}.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function CreateData({ cluster, kind, onCreated }: { cluster: string; kind: DataKind; onCreated: (name: string) => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <form class="card data-create" aria-label={`create a ${kind}`} onSubmit={async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const f = new FormData(form);
      const name = String(f.get('name') ?? '').trim();
      setBusy(true);
      setError(undefined);
      try {
        await api('POST', path`/swarm/clusters/${cluster}/${kind}s`, { name, data: String(f.get('data') ?? ''), encoding: f.get('base64') ? 'base64' : 'text' });
        form.reset();
        onCreated(name);
      } catch (err) {
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <h2>Create a {kind}</h2>
      <label>Name<input name="name" required maxLength={64} autocomplete="off" /></label>
      <label>Content ({kind === 'secret' ? 'sent to the engine only, never shown again' : 'not shown again here'})<textarea name="data" required rows={3} spellcheck={false} autocomplete="off" /></label>
      <label class="check"><input type="checkbox" name="base64" /> the content is base64</label>
      <ErrorNote message={error} />
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : `Create ${kind}`}</button>
    </form>
  );
}

function RotateData({ cluster, kind, d, onDone, onError }: { cluster: string; kind: DataKind; d: DataView; onDone: (r: RotationResult) => void; onError: (m: string) => void }) {
  const [busy, setBusy] = useState(false);
  return (
    <form class="rotate" aria-label={`rotate ${d.name}`} onSubmit={async (e) => {
      e.preventDefault();
      const data = String(new FormData(e.currentTarget).get('data') ?? '');
      if (!data) return;
      setBusy(true);
      try {
        onDone(await api<RotationResult>('POST', path`/swarm/clusters/${cluster}/${kind}s/${d.id}/rotate`, { data, encoding: 'text' }));
      } catch (err) {
        onError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <label>New content of {d.name}<textarea name="data" required rows={2} spellcheck={false} autocomplete="off" /></label>
      <button type="submit" disabled={busy}>{busy ? 'Rotating (the services converge)…' : `Rotate to a new ${kind}`}</button>
    </form>
  );
}
