// What is out of date across the fleet: the last check of every container
// (current and available digest, status, the policy in force and where it comes
// from), "Check now", a per-container policy override, and "Update now" with
// its steps. Kept current by update checks and outcomes from the live stream.
import { useMemo, useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useLiveRefresh, useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ActionButton, ErrorNote, Status, ago } from '../../components/ui.tsx';
import { UpdatesInProgress, useContainerUpdates } from './update-run.tsx';
import { shortDigest, type CheckSummary, type Policy, type UpdateCheck } from './types.ts';

const FILTERS = [['update_available', 'updates available'], ['all', 'all containers'], ['error', 'check errors'], ['pinned', 'pinned'], ['up_to_date', 'up to date']] as const;
const SOURCE: Record<string, string> = { label: 'label flotilla.policy', override: 'override', default: 'server default', fallback: 'no policy set', digest: 'referenced by digest' };

function summaryLine(s: CheckSummary): string {
  return `Checked ${s.containers} containers on ${s.hosts} host${s.hosts === 1 ? '' : 's'} in ${(s.durationMs / 1000).toFixed(1)} s: ${s.remoteChecks} registry checks (${s.registryRequests} requests), ${s.updatesAvailable} updates available, ${s.errors} errors.`;
}

export function ChecksTab() {
  const list = useResource(() => api<UpdateCheck[]>('GET', '/updates'));
  useLiveRefresh('update.check', () => true, list.reload);
  useLiveRefresh('update.run', () => true, list.reload);
  const [filter, setFilter] = useState<(typeof FILTERS)[number][0]>('update_available');
  const [text, setText] = useState('');
  const [error, setError] = useState<string>();
  const [summary, setSummary] = useState<string>();
  const manage = can('updates.manage');
  const running = useContainerUpdates(list.reload);
  const all = list.data ?? [];
  const shown = useMemo(() => {
    const t = text.trim().toLowerCase();
    return all.filter((c) => (filter === 'all' || c.status === filter) && (!t || c.container.toLowerCase().includes(t) || c.image.toLowerCase().includes(t) || c.host.toLowerCase().includes(t)))
      .sort((a, b) => a.host.localeCompare(b.host) || a.container.localeCompare(b.container));
  }, [all, filter, text]);
  const available = all.filter((c) => c.status === 'update_available').length;
  return (
    <>
      <div class="toolbar">
        <select value={filter} aria-label="show" onChange={(e) => setFilter((e.target as HTMLSelectElement).value as typeof filter)}>
          {FILTERS.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
        </select>
        <input type="search" placeholder="Filter by container, image or host" aria-label="filter updates" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <span class="muted" data-available={available}>{available} of {all.length} containers have an update</span>
        {manage && <ActionButton label="Check now" run={async () => {
          setSummary('Checking the fleet…');
          setSummary(summaryLine(await api<CheckSummary>('POST', '/updates/check', {})));
          list.reload();
        }} onError={(m) => { setSummary(undefined); setError(m); }} />}
      </div>
      {summary && <p class="muted" role="status" aria-label="check summary">{summary}</p>}
      <ErrorNote message={error ?? list.error} />
      <UpdatesInProgress updates={running.updates} clear={running.clear} />
      <table class="grid" aria-label="container updates">
        <thead><tr><th>Host</th><th>Container</th><th>Image</th><th>Running</th><th>Available</th><th>Status</th><th>Policy</th><th>Checked</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {shown.map((c) => <CheckRow key={`${c.hostId}/${c.container}`} c={c} manage={manage} busy={running.busy(c.host, c.container)}
            onUpdate={() => void running.start(c.host, c.container)} onChanged={list.reload} onError={setError} />)}
          {!list.loading && shown.length === 0 && (
            <tr><td colSpan={9} class="empty">{all.length === 0 ? 'Nothing checked yet: press Check now, or wait for the schedule.' : filter === 'update_available' ? 'Everything is up to date.' : 'No container matches.'}</td></tr>
          )}
        </tbody>
      </table>
    </>
  );
}

function CheckRow({ c, manage, busy, onUpdate, onChanged, onError }: { c: UpdateCheck; manage: boolean; busy: boolean; onUpdate: () => void; onChanged: () => void; onError: (m: string) => void }) {
  // The label and a digest reference decide by themselves: an override would not apply.
  const fixed = c.policySource === 'label' || c.policySource === 'digest';
  const setPolicy = async (value: string) => {
    try {
      await api('PUT', path`/updates/policies/containers/${c.container}`, { policy: value === 'inherit' ? null : (value as Policy), host: c.host });
      onChanged();
    } catch (err) {
      onError((err as Error).message);
    }
  };
  return (
      <tr data-update={`${c.host}/${c.container}`}>
        <td>{c.host}</td>
        <td><a href={path`/containers/${c.host}/${c.containerId}`}>{c.container}</a></td>
        <td class="mono" title={c.image}>{c.image}</td>
        <td class="mono" title={c.currentDigest ?? ''}>{shortDigest(c.currentDigest)}</td>
        <td class="mono" title={c.availableDigest ?? ''}>{shortDigest(c.availableDigest)}</td>
        <td><Status value={c.status} />{(c.error || c.warning) && <div class="reason">{c.error ?? c.warning}</div>}</td>
        <td>
          {manage && !fixed
            ? <select aria-label={`policy of ${c.container} on ${c.host}`} value={c.policySource === 'override' ? c.policy : 'inherit'} onChange={(e) => void setPolicy((e.target as HTMLSelectElement).value)}>
                <option value="inherit">{c.policySource === 'override' ? 'server default' : `${c.policy} (${SOURCE[c.policySource] ?? c.policySource})`}</option>
                <option value="auto">auto</option><option value="manual">manual</option><option value="pinned">pinned</option>
              </select>
            : <span data-policy={c.policy}>{c.policy} <span class="muted">({SOURCE[c.policySource] ?? c.policySource})</span></span>}
        </td>
        <td title={c.checkedAt}>{ago(c.checkedAt)}</td>
        {manage && (
          <td>{c.status === 'update_available' && (
            <button type="button" disabled={busy} aria-label={`Update now: ${c.container} on ${c.host}`} onClick={onUpdate}>{busy ? 'Updating…' : 'Update now'}</button>
          )}</td>
        )}
      </tr>
  );
}
