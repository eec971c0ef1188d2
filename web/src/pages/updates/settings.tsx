// Update settings: the default policy, how often the fleet is checked, the
// window `auto` updates may start in (server default and per host), the health
// gate's stable time and whether agents follow the server's version. Admins
// change them; the server validates each value and says which one was wrong.
import { useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote, duration } from '../../components/ui.tsx';
import type { Host } from '../../types.ts';
import type { Policy, UpdateSettings } from './types.ts';

/** As the server reads durations back: 21600000 → "6h". */
function input(ms: number): string {
  if (ms === 0) return '0';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return String(ms);
}

export function UpdateSettingsSection() {
  const settings = useResource(() => api<UpdateSettings>('GET', '/updates/settings'));
  const policies = useResource(() => api<{ defaultPolicy: Policy; overrides: Record<string, string> }>('GET', '/updates/policies'));
  const hosts = useResource(() => api<Host[]>('GET', '/hosts'));
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();
  const admin = can('updates.admin');
  const s = settings.data;
  const hostName = (id: string) => hosts.data?.find((h) => h.id === id)?.name ?? id;
  const patch = async (body: Record<string, unknown>, what: string) => {
    setError(undefined);
    await api('PATCH', '/updates/settings', body);
    setSaved(`${what} saved.`);
    settings.reload();
  };
  if (!s) return <ErrorNote message={settings.error} />;
  return (
    <section class="card" aria-labelledby="update-settings-h">
      <h2 id="update-settings-h">Update settings</h2>
      <ErrorNote message={error ?? policies.error} />
      {saved && <p class="muted" role="status">{saved}</p>}
      <form aria-label="update settings" class="settings-form" onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const window = String(f.get('window') ?? '').trim();
        void patch({
          checkInterval: String(f.get('checkInterval')).trim(), window: window || null, windowDuration: String(f.get('windowDuration')).trim(),
          stable: String(f.get('stable')).trim(), agentSelfUpdate: f.get('agentSelfUpdate') === 'on',
        }, 'Update settings').catch((err: Error) => setError(err.message));
      }}>
        <fieldset disabled={!admin}>
          <label>Default policy (containers without a label or override)
            <select name="defaultPolicy" value={policies.data?.defaultPolicy ?? 'manual'} onChange={(e) => {
              const policy = (e.target as HTMLSelectElement).value;
              api('PUT', '/updates/policies/default', { policy }).then(() => { setSaved(`Default policy is now ${policy}.`); policies.reload(); }, (err: Error) => setError(err.message));
            }}>
              <option value="manual">manual: notify, update when asked</option><option value="auto">auto: update in the window</option><option value="pinned">pinned: never</option>
            </select>
          </label>
          <label>Check every (e.g. 6h, 30m; 0 = only when asked) <span class="muted">now {s.checkIntervalMs ? duration(s.checkIntervalMs) : 'off'}</span>
            <input name="checkInterval" defaultValue={input(s.checkIntervalMs)} required maxLength={32} />
          </label>
          <label>Update window (cron, UTC, or CRON_TZ=Europe/Paris …; empty = any time)
            <input name="window" defaultValue={s.window ?? ''} maxLength={200} placeholder="0 3 * * *" />
          </label>
          <label>Window stays open for<input name="windowDuration" defaultValue={input(s.windowDurationMs)} required maxLength={32} /></label>
          <label>Health gate without a healthcheck: running for<input name="stable" defaultValue={input(s.stableMs)} required maxLength={32} /></label>
          <label class="check"><input type="checkbox" name="agentSelfUpdate" defaultChecked={s.agentSelfUpdate} /> agents follow the server's version</label>
          {admin && <div><button type="submit" class="primary">Save update settings</button></div>}
        </fieldset>
      </form>
      <h3>Per-host windows</h3>
      <table class="grid" aria-label="per-host update windows">
        <thead><tr><th>Host</th><th>Window</th>{admin && <th>Actions</th>}</tr></thead>
        <tbody>
          {Object.entries(s.hostWindows).map(([id, w]) => (
            <tr key={id} data-host-window={hostName(id)}>
              <td>{hostName(id)}</td><td class="mono">{w}</td>
              {admin && <td><ActionButton label="remove" title={`remove the window of ${hostName(id)}`} run={() => patch({ hostWindows: { [id]: null } }, `The window of ${hostName(id)}`)} onError={setError} /></td>}
            </tr>
          ))}
          {Object.keys(s.hostWindows).length === 0 && <tr><td colSpan={3} class="empty">Every host uses the default window.</td></tr>}
        </tbody>
      </table>
      {admin && (
        <form class="inline-form" aria-label="set a host window" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const host = String(f.get('host'));
          void patch({ hostWindows: { [host]: String(f.get('window')).trim() } }, `The window of ${host}`).catch((err: Error) => setError(err.message));
        }}>
          <label>Host<select name="host" required>{(hosts.data ?? []).map((h) => <option key={h.id} value={h.name}>{h.name}</option>)}</select></label>
          <label>Window (cron)<input name="window" required maxLength={200} placeholder="0 4 * * 6" /></label>
          <button type="submit">Set host window</button>
        </form>
      )}
    </section>
  );
}
