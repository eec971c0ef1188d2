// Events and activity, live: Docker events of every host and the audit log
// (for those who may read it), newest first, filterable.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { onLive, type LiveMessage } from '../live.ts';
import { can } from '../session.ts';
import { Page } from '../components/ui.tsx';

interface Row { at: string; kind: string; host: string; what: string; detail: string }
const KEEP = 500;

function fromLive(m: LiveMessage): Row {
  if (m.type === 'audit') return { at: m.at, kind: 'audit', host: '', what: `${m.data.username ?? '-'}: ${m.data.action}`, detail: `${m.data.result}${m.data.target ? ` · ${m.data.target}` : ''}` };
  if (m.type === 'docker') return { at: m.at, kind: `docker ${m.data.Type}`, host: m.host ?? '', what: m.data.Action, detail: m.data.Actor?.Attributes?.name ?? m.data.Actor?.ID?.slice(0, 12) ?? '' };
  return { at: m.at, kind: m.type, host: m.host ?? m.cluster ?? '', what: m.data.to ? `${m.data.from} → ${m.data.to}` : '', detail: m.data.reason ?? '' };
}

export function ActivityPage() {
  const [rows, setRows] = useState<Row[]>([]);
  const [text, setText] = useState('');
  useEffect(() => {
    if (can('audit.read')) {
      void api<{ at: string; username: string | null; action: string; result: string; target: string | null }[]>('GET', '/audit?limit=100').then((list) =>
        setRows((old) => [...old, ...list.map((a) => ({ at: a.at, kind: 'audit', host: '', what: `${a.username ?? '-'}: ${a.action}`, detail: `${a.result}${a.target ? ` · ${a.target}` : ''}` }))].slice(0, KEEP)));
    }
    return onLive('*', (m) => setRows((old) => [fromLive(m), ...old].slice(0, KEEP)));
  }, []);
  const t = text.toLowerCase();
  const shown = t ? rows.filter((r) => `${r.kind} ${r.host} ${r.what} ${r.detail}`.toLowerCase().includes(t)) : rows;
  return (
    <Page title="Activity">
      <div class="toolbar"><input type="search" placeholder="Filter" aria-label="filter activity" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} /></div>
      <table class="grid" aria-label="activity">
        <thead><tr><th>When</th><th>Kind</th><th>Host</th><th>What</th><th>Detail</th></tr></thead>
        <tbody>{shown.map((r, i) => <tr key={i}><td>{new Date(r.at).toLocaleTimeString()}</td><td>{r.kind}</td><td>{r.host}</td><td>{r.what}</td><td class="reason">{r.detail}</td></tr>)}</tbody>
      </table>
    </Page>
  );
}
