// Hosts and agents: register a direct host by its endpoint; generate an
// enrollment token with the ready-to-run commands (copy button); pause,
// resume, revoke agent hosts, remove any host. A new agent appears live.
import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { can } from '../session.ts';
import { ActionButton, CopyButton, ErrorNote, Page, Status, ago } from '../components/ui.tsx';
import type { Host } from '../types.ts';

interface Created { token: string; serverAddr: string; commands: { docker: string; agent: string }; info: { kind: string; expires_at: string } }

export function HostsPage() {
  const hosts = useResource(() => api<Host[]>('GET', '/hosts'));
  useLiveRefresh('host.status', () => true, hosts.reload);
  useLiveRefresh('audit', (m) => /^(host|agent|enroll)/.test(m.data?.action ?? ''), hosts.reload);
  const [error, setError] = useState<string>();
  const manage = can('hosts.manage');
  return (
    <Page title="Hosts">
      <ErrorNote message={error ?? hosts.error} />
      {manage && <div class="two"><AddHost onAdded={hosts.reload} /><EnrollToken /></div>}
      <table class="grid" aria-label="hosts">
        <thead><tr><th>Host</th><th>Status</th><th>Kind</th><th>Endpoint</th><th>Last seen</th><th>Agent</th><th>Containers</th><th>Reason</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {(hosts.data ?? []).map((h) => (
            <tr key={h.id} data-host={h.name}>
              <td>{h.name}</td>
              <td><Status value={h.status} /></td>
              <td>{h.kind}{h.agent?.state && h.agent.state !== 'active' ? ` (${h.agent.state})` : ''}</td>
              <td class="mono">{h.endpoint}</td>
              <td>{ago(h.lastSeenAt)}</td>
              <td>{h.agent?.version ?? '-'}</td>
              <td>{h.containers.running}/{h.containers.total}</td>
              <td class="reason">{h.status === 'connected' ? '' : [h.agent?.disconnectReason, h.statusReason].filter(Boolean).join(': ')}</td>
              {manage && (
                <td class="actions">
                  {h.kind === 'agent' && h.agent?.state === 'active' && <ActionButton label="pause" title={`pause ${h.name}`} run={() => api('POST', path`/hosts/${h.name}/pause`).then(hosts.reload)} onError={setError} />}
                  {h.kind === 'agent' && h.agent?.state === 'paused' && <ActionButton label="resume" title={`resume ${h.name}`} run={() => api('POST', path`/hosts/${h.name}/resume`).then(hosts.reload)} onError={setError} />}
                  {h.kind === 'agent' && <ActionButton label="revoke" title={`revoke ${h.name}`} danger confirm={`Revoke the agent of ${h.name}? Its certificate is refused from now on and the host is removed.`} run={() => api('POST', path`/hosts/${h.name}/revoke`).then(hosts.reload)} onError={setError} />}
                  <ActionButton label="remove" title={`remove ${h.name}`} danger confirm={`Forget ${h.name}? Its engine is not touched.`} run={() => api('DELETE', path`/hosts/${h.name}`).then(hosts.reload)} onError={setError} />
                </td>
              )}
            </tr>
          ))}
          {hosts.data?.length === 0 && <tr><td colSpan={9} class="empty">No hosts yet.</td></tr>}
        </tbody>
      </table>
    </Page>
  );
}

function AddHost({ onAdded }: { onAdded: () => void }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <form class="card" aria-label="add a direct host" onSubmit={async (e) => {
      e.preventDefault();
      const form = e.currentTarget;
      const f = new FormData(form);
      setBusy(true);
      setError(undefined);
      try {
        await api('POST', '/hosts', { name: String(f.get('name')).trim(), endpoint: String(f.get('endpoint')).trim(), environment: String(f.get('environment')) });
        form.reset();
        onAdded();
      } catch (err) {
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <h2>Add a direct host</h2>
      <label>Name<input name="name" required maxLength={64} /></label>
      <label>Docker API endpoint<input name="endpoint" required placeholder="tcp://10.0.0.5:2375 or unix:///var/run/docker.sock" /></label>
      <label>Environment<select name="environment"><option>production</option><option>staging</option><option selected>development</option></select></label>
      <ErrorNote message={error} />
      <button type="submit" class="primary" disabled={busy}>{busy ? 'Adding…' : 'Add host'}</button>
    </form>
  );
}

function EnrollToken() {
  const [created, setCreated] = useState<Created>();
  const [error, setError] = useState<string>();
  const [fleet, setFleet] = useState(false);
  return (
    <div class="card" aria-label="enroll an agent">
      <h2>Enroll an agent</h2>
      <label class="check"><input type="checkbox" checked={fleet} onChange={(e) => setFleet((e.target as HTMLInputElement).checked)} /> fleet token (a Swarm global service: every node enrolls itself)</label>
      <ActionButton label="Generate enrollment token" run={async () => {
        setCreated(await api<Created>('POST', '/enroll-tokens', fleet ? { kind: 'fleet', uses: 1000, ttlSeconds: 86400 } : { kind: 'single', ttlSeconds: 3600 }));
      }} onError={setError} />
      <ErrorNote message={error} />
      {created && (
        <div class="token" data-token={created.token}>
          <p>Shown only now; expires {new Date(created.info.expires_at).toLocaleString()}. Run on the host:</p>
          <pre class="mono cmd" aria-label="docker command">{created.commands.docker}</pre>
          <CopyButton text={created.commands.docker} />
          <p>or without Docker for the agent itself:</p>
          <pre class="mono cmd" aria-label="agent command">{created.commands.agent}</pre>
          <CopyButton text={created.commands.agent} />
        </div>
      )}
    </div>
  );
}
