// One container: its configuration, live resource charts, an exec terminal (for
// those who may operate it), its logs live (follow, search, download) and its events.
// The terminal (xterm.js) and the charts (uPlot) load on demand: the rest of the app never pays for them.
import type { ComponentType } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { followNdjson } from '../ndjson.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { onLive, type LiveMessage } from '../live.ts';
import './container.css';
import { can } from '../session.ts';
import { ActionButton, ErrorNote, Page, Status, bytes } from '../components/ui.tsx';
import { containerAction } from './containers.tsx';

interface Inspect {
  Id: string; Name: string; Created: string;
  State: { Status: string; Health?: { Status: string } };
  Config: { Image: string; Cmd?: string[] | null; Env?: string[] | null; Labels?: Record<string, string> | null };
  HostConfig: { RestartPolicy?: { Name: string } };
  NetworkSettings: { Networks?: Record<string, { IPAddress?: string }> };
}

const MAX_LINES = 5000;
const MAX_EVENTS = 200;

type Panel = ComponentType<{ host: string; id: string }>;

/** A component from a chunk loaded on first use. */
function useLazyPanel(load: () => Promise<Panel>): { Panel?: Panel; error?: string } {
  const [state, setState] = useState<{ Panel?: Panel; error?: string }>({});
  useEffect(() => {
    let live = true;
    load().then((Panel) => { if (live) setState({ Panel }); }, (err: Error) => { if (live) setState({ error: `could not load: ${err.message}` }); });
    return () => { live = false; };
  }, []);
  return state;
}

export function ContainerPage({ host, id }: { host: string; id: string }) {
  const info = useResource(() => api<Inspect>('GET', path`/hosts/${host}/containers/${id}`), [host, id]);
  // Sizes walk the container's files: asked for apart, so the page does not wait for them.
  const size = useResource(() => api<{ SizeRw?: number; SizeRootFs?: number }>('GET', `${path`/hosts/${host}/containers/${id}`}?size=true`), [host, id]);
  useLiveRefresh('docker', (m) => m.host === host && m.data?.Type === 'container' && (m.data?.Actor?.ID === id || m.data?.id === id), info.reload);
  const [error, setError] = useState<string>();
  const c = info.data;
  const stats = useLazyPanel(() => import('../components/stats-chart.tsx').then((m) => m.StatsCharts));
  const mayExec = can('containers.operate');
  return (
    <Page title={c ? c.Name.replace(/^\//, '') : id.slice(0, 12)} actions={c && can('containers.operate') && (
      <>
        {c.State.Status === 'running'
          ? <ActionButton label="Stop" run={() => containerAction({ host, id }, 'stop').then(info.reload)} onError={setError} />
          : <ActionButton label="Start" run={() => containerAction({ host, id }, 'start').then(info.reload)} onError={setError} />}
        <ActionButton label="Restart" run={() => containerAction({ host, id }, 'restart').then(info.reload)} onError={setError} />
      </>
    )}>
      <ErrorNote message={error ?? info.error} />
      {c && (
        <dl class="fields">
          <dt>Host</dt><dd>{host}</dd>
          <dt>State</dt><dd><Status value={c.State.Status} />{c.State.Health && <> <Status value={c.State.Health.Status} /></>}</dd>
          <dt>Image</dt><dd class="mono">{c.Config.Image}</dd>
          <dt>Command</dt><dd class="mono">{(c.Config.Cmd ?? []).join(' ')}</dd>
          <dt>Restart</dt><dd>{c.HostConfig.RestartPolicy?.Name || 'no'}</dd>
          <dt>Networks</dt><dd>{Object.entries(c.NetworkSettings.Networks ?? {}).map(([n, v]) => `${n} ${v.IPAddress ?? ''}`).join(', ')}</dd>
          <dt>Created</dt><dd>{c.Created}</dd>
          <dt>Storage</dt><dd data-storage>{size.data ? `${bytes(size.data.SizeRw ?? 0)} written, ${bytes(size.data.SizeRootFs ?? 0)} with the image` : size.error ? <span class="muted">{size.error}</span> : '…'}</dd>
        </dl>
      )}
      <ErrorNote message={stats.error} />
      {stats.Panel && <stats.Panel host={host} id={id} />}
      {mayExec && c && (c.State.Status === 'running'
        ? <TerminalPanel host={host} id={id} />
        : <p class="muted terminal-off">The terminal opens when the container is running.</p>)}
      <Logs host={host} id={id} />
      <Events host={host} id={id} fullId={c?.Id} name={c?.Name.replace(/^\//, '')} />
    </Page>
  );
}

function Logs({ host, id }: { host: string; id: string }) {
  const [lines, setLines] = useState<{ stream: string; line: string }[]>([]);
  const [search, setSearch] = useState('');
  const [following, setFollowing] = useState(true);
  const [error, setError] = useState<string>();
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!following) return;
    const ctl = new AbortController();
    setError(undefined);
    void (async () => {
      try {
        setLines([]);
        await followNdjson<{ stream: string; line: string; error?: string }>(`/api/v1${path`/hosts/${host}/containers/${id}/logs`}?follow=true&tail=200`, ctl.signal,
          (add) => setLines((old) => [...old, ...add].slice(-MAX_LINES)));
        setFollowing(false);
      } catch (err) {
        if (!ctl.signal.aborted) setError((err as Error).message);
      }
    })();
    return () => ctl.abort();
  }, [host, id, following]);
  useEffect(() => {
    const el = box.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [lines, following]);
  const shown = search ? lines.filter((l) => l.line.toLowerCase().includes(search.toLowerCase())) : lines;
  const download = () => {
    const blob = new Blob([lines.map((l) => l.line).join('\n') + '\n'], { type: 'text/plain' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${id.slice(0, 12)}.log`;
    a.click();
    URL.revokeObjectURL(a.href);
  };
  return (
    <section class="logs">
      <div class="toolbar">
        <h2>Logs</h2>
        <input type="search" placeholder="Search the logs" aria-label="search logs" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <label class="check"><input type="checkbox" checked={following} onChange={(e) => setFollowing((e.target as HTMLInputElement).checked)} /> follow</label>
        <button type="button" onClick={download}>Download</button>
      </div>
      <ErrorNote message={error} />
      <pre ref={box} class="logbox" role="log" aria-label="log lines">{shown.map((l, i) => <div key={i} class={l.stream === 'stderr' ? 'stderr' : ''}>{l.line}</div>)}</pre>
    </section>
  );
}

function TerminalPanel({ host, id }: { host: string; id: string }) {
  const terminal = useLazyPanel(() => import('../components/terminal.tsx').then((m) => m.Terminal));
  if (terminal.error) return <ErrorNote message={terminal.error} />;
  return terminal.Panel ? <terminal.Panel host={host} id={id} /> : <p class="muted">Loading the terminal…</p>;
}

/** What a Docker event says beyond its action, briefly. */
function eventDetail(m: LiveMessage): string {
  const a = (m.data?.Actor?.Attributes ?? {}) as Record<string, string>;
  const parts: string[] = [];
  if (a.exitCode !== undefined) parts.push(`exit code ${a.exitCode}`);
  if (a.signal) parts.push(`signal ${a.signal}`);
  if (a.execID) parts.push(`exec ${a.execID.slice(0, 12)}`);
  if (a.image && !a.execID) parts.push(a.image);
  return parts.join(', ');
}

/** This container's Docker events from the live stream, newest first, since the page opened. */
function Events({ host, id, fullId, name }: { host: string; id: string; fullId?: string; name?: string }) {
  const [events, setEvents] = useState<LiveMessage[]>([]);
  const mine = useRef({ id, fullId, name });
  mine.current = { id, fullId, name };
  useEffect(() => {
    setEvents([]);
    return onLive('docker', (m) => {
      if (m.host !== host || m.data?.Type !== 'container') return;
      const actor = m.data?.Actor?.ID as string | undefined;
      const { id: ref, fullId: full, name: n } = mine.current;
      const named = m.data?.Actor?.Attributes?.name as string | undefined;
      if (actor !== full && actor !== ref && !(n && named === n) && named !== ref) return;
      setEvents((old) => [m, ...old].slice(0, MAX_EVENTS));
    });
  }, [host, id]);
  return (
    <section class="events">
      <h2 id="events-title">Events</h2>
      {events.length === 0
        ? <p class="muted">No events since this page opened; they appear here as they happen.</p>
        : (
          <table class="grid" aria-labelledby="events-title">
            <thead><tr><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Details</th></tr></thead>
            <tbody>
              {events.map((m) => (
                <tr key={m.id} data-action={String(m.data?.Action ?? '')}>
                  <td>{new Date(typeof m.data?.time === 'number' ? m.data.time * 1000 : Date.parse(m.at)).toLocaleTimeString()}</td>
                  <td class="mono">{String(m.data?.Action ?? '')}</td>
                  <td>{eventDetail(m)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
    </section>
  );
}
