// Agent versions: every agent host's agent against the server's version, the
// flotilla.self container it runs in, the image it would follow to, and its last
// self-update (with why it failed).
import { api } from '../../api.ts';
import { useLiveRefresh, useResource } from '../../hooks.ts';
import { ErrorNote, Status, ago } from '../../components/ui.tsx';
import type { AgentVersion } from './types.ts';

const STATE: Record<AgentVersion['state'], string> = {
  current: 'current', outdated: 'outdated: follows at its next sync', updating: 'updating', failed: 'failed: not retried until the version changes',
  no_self_container: 'not in a flotilla.self container: update it yourself', paused: 'paused', disconnected: 'disconnected', disabled: 'agent self-update is off',
};

export function AgentsTab() {
  const list = useResource(() => api<AgentVersion[]>('GET', '/updates/agents'));
  useLiveRefresh('update.run', () => true, list.reload);
  useLiveRefresh('host.status', () => true, list.reload);
  const rows = list.data ?? [];
  return (
    <>
      <ErrorNote message={list.error} />
      <p class="muted">The server runs version <b class="mono">{rows[0]?.serverVersion ?? '…'}</b>; agents in a <code>flotilla.self=true</code> container update themselves to it.</p>
      <table class="grid" aria-label="agent versions">
        <thead><tr><th>Host</th><th>Agent version</th><th>State</th><th>Container</th><th>Follows to</th><th>Last self-update</th></tr></thead>
        <tbody>
          {rows.map((a) => (
            <tr key={a.host.id} data-agent={a.host.name}>
              <td>{a.host.name}</td>
              <td class="mono">{a.agentVersion ?? '-'}</td>
              <td><Status value={a.state} /> <span class="muted">{STATE[a.state]}</span></td>
              <td class="mono">{a.container ? `${a.container.name} (${a.container.image})` : '-'}</td>
              <td class="mono">{a.target ?? '-'}</td>
              <td>{a.lastRun ? <><Status value={a.lastRun.status} /> {ago(a.lastRun.startedAt)}{a.lastRun.reason && <div class="reason">{a.lastRun.reason}</div>}</> : '-'}</td>
            </tr>
          ))}
          {!list.loading && rows.length === 0 && <tr><td colSpan={6} class="empty">No agent hosts.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
