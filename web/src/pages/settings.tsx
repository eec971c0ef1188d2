// Settings: the server's configuration (agent endpoint from /cluster; the
// effective FLOTILLA_* values from /settings for admins), users and roles
// (admins), my API tokens (the secret shown once), client certificates.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useResource } from '../hooks.ts';
import { can, session } from '../session.ts';
import { UpdateSettingsSection } from './updates/settings.tsx';
import { ActionButton, CopyButton, ErrorNote, Page, ago, duration } from '../components/ui.tsx';

interface ClusterInfo { enabled: boolean; port: number | null; caFingerprint: string | null; connectedAgents: number; advertise: string[] }
interface Setting { variable: string; group: 'server' | 'agents' | 'docker-endpoint' | 'policy'; description: string; value: string | number | boolean | null; unit?: 'ms' }
interface UserRow { id: string; username: string; role: 'admin' | 'operator' | 'viewer'; created_at: string }
interface TokenInfo { id: string; name: string; prefix: string; created_at: string; expires_at: string | null; last_used_at: string | null }
interface ClientCert { serial: string; name: string; username: string; notAfter: string; createdAt: string; revokedAt: string | null }

const ROLES = ['admin', 'operator', 'viewer'] as const;
/** Shown with the agent endpoint (admins): what people come to this page for. */
const HIGHLIGHTS: [string, string][] = [['FLOTILLA_GRACE_PERIOD_OFFLINE', 'Offline grace period'], ['FLOTILLA_AGENT_HEARTBEAT', 'Agent heartbeat'], ['FLOTILLA_DOCKER_PORT', 'Docker endpoint port']];
const GROUPS: [Setting['group'], string][] = [['server', 'HTTP server'], ['agents', 'Agent endpoint'], ['docker-endpoint', 'Docker endpoint'], ['policy', 'Policy']];
/** What a non-admin is told is configurable (admins see the values from GET /settings). */
const KEY_VARIABLES = ['FLOTILLA_CLUSTER_ADVERTISE', 'FLOTILLA_AGENT_PORT', 'FLOTILLA_GRACE_PERIOD_OFFLINE', 'FLOTILLA_AGENT_HEARTBEAT', 'FLOTILLA_DOCKER_PORT', 'FLOTILLA_SYNC_CONCURRENCY', 'FLOTILLA_NONADMIN_BIND_MOUNTS'];

function shown(s: Setting): string {
  if (s.value === null) return 'not set';
  if (typeof s.value === 'boolean') return s.value ? 'on' : 'off';
  if (s.unit === 'ms' && typeof s.value === 'number') return duration(s.value);
  return String(s.value);
}

const day = (iso: string | null) => (iso ? new Date(iso).toLocaleDateString() : 'never');

export function SettingsPage() {
  const admin = can('users.manage');
  return (
    <Page title="Settings">
      <ServerSection admin={admin} />
      {admin && <UsersSection />}
      {can('updates.read') && <UpdateSettingsSection />}
      <TokensSection />
      <ClientCertsSection admin={admin} />
    </Page>
  );
}

function ServerSection({ admin }: { admin: boolean }) {
  const cluster = useResource(() => api<ClusterInfo>('GET', '/cluster'));
  const settings = useResource(() => (admin ? api<Setting[]>('GET', '/settings') : Promise.resolve(undefined)), [admin]);
  const c = cluster.data;
  const byVar = new Map((settings.data ?? []).map((x) => [x.variable, x]));
  return (
    <section class="card" aria-labelledby="server-h">
      <h2 id="server-h">Server</h2>
      <ErrorNote message={cluster.error ?? settings.error} />
      {c && (
        <dl class="fields">
          <dt>Agent endpoint</dt><dd>{c.enabled ? `on, port ${c.port}` : 'off (FLOTILLA_CLUSTER=false)'}</dd>
          <dt>Advertised as</dt><dd class="mono">{c.advertise.length ? c.advertise.join(', ') : <span class="muted">not set (FLOTILLA_CLUSTER_ADVERTISE): enrollment commands use the address this page was reached by</span>}</dd>
          <dt>CA fingerprint</dt><dd class="mono fingerprint">{c.caFingerprint ?? '-'} {c.caFingerprint && <CopyButton text={c.caFingerprint} label="Copy fingerprint" />}</dd>
          <dt>Agents connected</dt><dd>{c.connectedAgents}</dd>
          {HIGHLIGHTS.map(([variable, label]) => {
            const v = byVar.get(variable);
            return v && <Fragment key={variable}><dt>{label}</dt><dd data-highlight={variable}>{shown(v)} <span class="muted">({variable})</span></dd></Fragment>;
          })}
        </dl>
      )}
      <p class="muted">These settings are environment variables (FLOTILLA_*), read once at start-up; change them where the server runs and restart it.</p>
      {admin && settings.data && (
        <details class="settings-all">
          <summary>All {settings.data.length} settings in force</summary>
          <table class="grid settings" aria-label="effective configuration">
            <thead><tr><th>Variable</th><th>Value</th><th>What it does</th></tr></thead>
            {GROUPS.map(([g, title]) => (
              <tbody key={g}>
                <tr class="subhead"><th colSpan={3} scope="colgroup">{title}</th></tr>
                {settings.data!.filter((s) => s.group === g).map((s) => (
                  <tr key={s.variable} data-setting={s.variable}>
                    <td class="mono">{s.variable}</td><td class="mono">{shown(s)}</td><td class="muted">{s.description}</td>
                  </tr>
                ))}
              </tbody>
            ))}
          </table>
        </details>
      )}
      {!admin && <p class="muted">Among them: {KEY_VARIABLES.map((v, i) => <span key={v}>{i ? ', ' : ''}<code>{v}</code></span>)}. An admin sees their values here.</p>}
    </section>
  );
}

function UsersSection() {
  const users = useResource(() => api<UserRow[]>('GET', '/users'));
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const me = session.value?.user.id;
  return (
    <section class="card" aria-labelledby="users-h">
      <h2 id="users-h">Users</h2>
      <ErrorNote message={error ?? users.error} />
      <table class="grid" aria-label="users">
        <thead><tr><th>Username</th><th>Role</th><th>Created</th><th>Actions</th></tr></thead>
        <tbody>
          {(users.data ?? []).map((u) => (
            <tr key={u.id} data-user={u.username}>
              <td>{u.username}{u.id === me && <span class="muted"> (you)</span>}</td>
              <td>
                <select aria-label={`role of ${u.username}`} value={u.role} onChange={async (e) => {
                  const role = (e.target as HTMLSelectElement).value;
                  setError(undefined);
                  try {
                    await api('PATCH', path`/users/${u.id}`, { role });
                  } catch (err) {
                    setError((err as Error).message);
                  }
                  users.reload();
                }}>{ROLES.map((r) => <option key={r} value={r}>{r}</option>)}</select>
              </td>
              <td>{day(u.created_at)}</td>
              <td><div class="actions">
                {u.id !== me && <ActionButton label="delete" title={`delete user ${u.username}`} danger confirm={`Delete user ${u.username}? Their sessions and tokens end.`}
                  run={() => api('DELETE', path`/users/${u.id}`).then(users.reload)} onError={setError} />}
              </div></td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="inline-form" aria-label="create a user" onSubmit={async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const f = new FormData(form);
        setBusy(true);
        setError(undefined);
        try {
          await api('POST', '/users', { username: String(f.get('username')).trim(), password: String(f.get('password')), role: String(f.get('role')) });
          form.reset();
          users.reload();
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <label>New username<input name="username" required maxLength={64} autocomplete="off" /></label>
        <label>Password (at least 10 characters)<input name="password" type="password" required minLength={10} autocomplete="new-password" /></label>
        <label>Role<select name="role">{[...ROLES].reverse().map((r) => <option key={r} value={r}>{r}</option>)}</select></label>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create user'}</button>
      </form>
    </section>
  );
}

function TokensSection() {
  const tokens = useResource(() => api<TokenInfo[]>('GET', '/tokens'));
  const [created, setCreated] = useState<{ name: string; token: string }>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <section class="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">My API tokens</h2>
      <p class="muted">For the CLI and scripts: <code>Authorization: Bearer &lt;token&gt;</code>. A token acts with your role.</p>
      <ErrorNote message={error ?? tokens.error} />
      <table class="grid" aria-label="API tokens">
        <thead><tr><th>Name</th><th>Prefix</th><th>Created</th><th>Expires</th><th>Last used</th><th>Actions</th></tr></thead>
        <tbody>
          {(tokens.data ?? []).map((t) => (
            <tr key={t.id} data-token-name={t.name}>
              <td>{t.name}</td><td class="mono">{t.prefix}…</td><td>{day(t.created_at)}</td><td>{day(t.expires_at)}</td><td>{t.last_used_at ? ago(t.last_used_at) : 'never'}</td>
              <td><div class="actions"><ActionButton label="revoke" title={`revoke token ${t.name}`} danger confirm={`Revoke the token ${t.name}? Whatever uses it is refused from now on.`}
                run={async () => { await api('DELETE', path`/tokens/${t.id}`); if (created?.name === t.name) setCreated(undefined); tokens.reload(); }} onError={setError} /></div></td>
            </tr>
          ))}
          {tokens.data?.length === 0 && <tr><td colSpan={6} class="empty">No API tokens.</td></tr>}
        </tbody>
      </table>
      <form class="inline-form" aria-label="create an API token" onSubmit={async (e) => {
        e.preventDefault();
        const form = e.currentTarget;
        const f = new FormData(form);
        const days = Number(f.get('ttlDays') || 0);
        setBusy(true);
        setError(undefined);
        try {
          const t = await api<TokenInfo & { token: string }>('POST', '/tokens', { name: String(f.get('name')).trim(), ...(days ? { ttlDays: days } : {}) });
          setCreated({ name: t.name, token: t.token });
          form.reset();
          tokens.reload();
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <label>Token name<input name="name" required maxLength={100} /></label>
        <label>Expires after (days, empty: never)<input name="ttlDays" type="number" min={1} max={3650} /></label>
        <button type="submit" class="primary" disabled={busy}>{busy ? 'Creating…' : 'Create token'}</button>
      </form>
      {created && (
        <div class="token" data-new-token={created.token}>
          <p>Token <b>{created.name}</b>, shown only now: copy it somewhere safe.</p>
          <pre class="mono cmd" aria-label="new API token">{created.token}</pre>
          <CopyButton text={created.token} label="Copy token" />
          <button type="button" onClick={() => setCreated(undefined)}>Done</button>
        </div>
      )}
    </section>
  );
}

function ClientCertsSection({ admin }: { admin: boolean }) {
  const [all, setAll] = useState(false);
  const certs = useResource(() => api<ClientCert[]>('GET', `/client-certs${all ? '?all=1' : ''}`), [all]);
  const [error, setError] = useState<string>();
  const command = `flotilla context create fleet --url ${location.origin}`;
  return (
    <section class="card" aria-labelledby="certs-h">
      <h2 id="certs-h">Client certificates (docker contexts)</h2>
      <p class="muted">The fleet as a <code>docker context</code>. The private key is made on your machine and never leaves it, so certificates are created with the CLI:</p>
      <pre class="mono cmd" aria-label="context command">{command}</pre>
      <CopyButton text={command} />
      {admin && <label class="check"><input type="checkbox" checked={all} onChange={(e) => setAll((e.target as HTMLInputElement).checked)} /> everyone&apos;s certificates</label>}
      <ErrorNote message={error ?? certs.error} />
      <table class="grid" aria-label="client certificates">
        <thead><tr><th>Name</th>{all && <th>User</th>}<th>Serial</th><th>Status</th><th>Expires</th><th>Actions</th></tr></thead>
        <tbody>
          {(certs.data ?? []).map((c) => (
            <tr key={c.serial} data-cert={c.name}>
              <td>{c.name}</td>{all && <td>{c.username}</td>}<td class="mono">{c.serial.slice(0, 16)}</td>
              <td>{c.revokedAt ? <span class="status status-error">revoked</span> : Date.parse(c.notAfter) < Date.now() ? <span class="status status-pending">expired</span> : <span class="status status-active">valid</span>}</td>
              <td>{day(c.notAfter)}</td>
              <td><div class="actions">{!c.revokedAt && <ActionButton label="revoke" title={`revoke certificate ${c.name}`} danger confirm={`Revoke the certificate ${c.name}? The Docker endpoint refuses it from now on.`}
                run={() => api('DELETE', path`/client-certs/${c.serial}`).then(certs.reload)} onError={setError} />}</div></td>
            </tr>
          ))}
          {certs.data?.length === 0 && <tr><td colSpan={all ? 6 : 5} class="empty">No client certificates.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
