// Registries Flotilla checks and pulls from: host, credentials (only whether a
// password is set — it is never shown), plain HTTP / unverified TLS, the
// per-registry concurrency and request counters; admins add and remove them.
import { useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote } from '../../components/ui.tsx';
import { CreateForm } from '../../components/create-form.tsx';
import type { Registry } from './types.ts';

export function RegistriesTab() {
  const list = useResource(() => api<Registry[]>('GET', '/registries'));
  const [error, setError] = useState<string>();
  const admin = can('updates.admin');
  const rows = list.data ?? [];
  return (
    <>
      {admin && (
        <CreateForm label="add a registry" submit="Add registry" onCreate={async (f) => {
          const text = (k: string) => String(f.get(k) ?? '').trim();
          await api('POST', '/registries', {
            host: text('host'), ...(text('username') ? { username: text('username') } : {}), ...(text('password') ? { password: String(f.get('password')) } : {}),
            insecure: f.get('insecure') === 'on', skipTlsVerify: f.get('skipTlsVerify') === 'on', ...(text('concurrency') ? { concurrency: Number(text('concurrency')) } : {}),
          });
          list.reload();
        }}>
          <label>Registry (host[:port] as in image names; docker.io for Docker Hub)<input name="host" required maxLength={300} placeholder="registry.example.com:5000" /></label>
          <label>User name<input name="username" maxLength={256} autoComplete="off" /></label>
          <label>Password or token<input name="password" type="password" maxLength={4096} autoComplete="new-password" /></label>
          <label>Concurrent requests<input name="concurrency" type="number" min={1} max={64} placeholder="4" /></label>
          <label class="check"><input type="checkbox" name="insecure" /> plain HTTP</label>
          <label class="check"><input type="checkbox" name="skipTlsVerify" /> do not verify TLS</label>
        </CreateForm>
      )}
      <ErrorNote message={error ?? list.error} />
      <table class="grid" aria-label="registries">
        <thead><tr><th>Registry</th><th>User</th><th>Password</th><th>Transport</th><th>Concurrency</th><th>Requests (errors, rate-limited)</th>{admin && <th>Actions</th>}</tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-registry={r.host}>
              <td class="mono">{r.host}</td>
              <td>{r.username ?? '-'}</td>
              <td>{r.hasPassword ? 'set' : '-'}</td>
              <td>{r.insecure ? 'plain HTTP' : r.skipTlsVerify ? 'TLS, not verified' : 'TLS'}</td>
              <td>{r.concurrency}</td>
              <td>{r.stats ? `${r.stats.requests} (${r.stats.errors}, ${r.stats.rateLimited})` : '0'}</td>
              {admin && <td><ActionButton label="remove" title={`remove registry ${r.host}`} danger confirm={`Remove registry ${r.host} and its credentials?`}
                run={() => api('DELETE', path`/registries/${r.id}`).then(list.reload)} onError={setError} /></td>}
            </tr>
          ))}
          {!list.loading && rows.length === 0 && <tr><td colSpan={7} class="empty">No registries configured: public registries are checked anonymously over TLS.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
