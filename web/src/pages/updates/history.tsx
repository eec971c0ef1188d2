// The update history, newest first: outcome, trigger, who, digests, duration,
// and on a rollback why; a run opens to its steps. Live: a finished update
// (update.run) reloads the list.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { useLiveRefresh, useResource } from '../../hooks.ts';
import { ErrorNote, Status, ago } from '../../components/ui.tsx';
import { shortDigest, type UpdateRun } from './types.ts';

export function HistoryTab() {
  const runs = useResource(() => api<UpdateRun[]>('GET', '/updates/runs?limit=200'));
  useLiveRefresh('update.run', () => true, runs.reload);
  const [open, setOpen] = useState<string>();
  const list = runs.data ?? [];
  return (
    <>
      <ErrorNote message={runs.error} />
      <table class="grid" aria-label="update history">
        <thead><tr><th>When</th><th>Host</th><th>Container</th><th>Image</th><th>From → to</th><th>Outcome</th><th>Trigger</th><th>Duration</th><th>Steps</th></tr></thead>
        <tbody>
          {list.map((r) => (
            <Fragment key={r.id}>
              <tr data-run={r.id} data-container={r.container}>
                <td title={r.startedAt}>{ago(r.startedAt)}</td>
                <td>{r.host}</td>
                <td>{r.container}</td>
                <td class="mono" title={r.image}>{r.image}</td>
                <td class="mono">{shortDigest(r.fromDigest)} → {shortDigest(r.toDigest)}</td>
                <td><Status value={r.status} />{r.reason && <div class="reason" data-reason>{r.reason}</div>}</td>
                <td>{r.trigger}{r.startedBy ? ` (${r.startedBy})` : ''}</td>
                <td>{r.durationMs === null ? '-' : `${(r.durationMs / 1000).toFixed(1)} s`}</td>
                <td><button type="button" aria-expanded={open === r.id} aria-label={`${r.steps.length} steps of the update of ${r.container}`} onClick={() => setOpen(open === r.id ? undefined : r.id)}>{r.steps.length} steps</button></td>
              </tr>
              {open === r.id && (
                <tr class="steps-row"><td colSpan={9}>
                  <ol class="steps">{r.steps.map((s, i) => <li key={i}><span class="muted">{new Date(s.at).toLocaleTimeString()}</span> <b>{s.step}</b> {s.message}</li>)}</ol>
                </td></tr>
              )}
            </Fragment>
          ))}
          {!runs.loading && list.length === 0 && <tr><td colSpan={9} class="empty">No updates yet.</td></tr>}
        </tbody>
      </table>
    </>
  );
}
