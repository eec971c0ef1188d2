// One container: its configuration, and its logs live (follow, search, download).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, path } from '../api.ts';
import { useLiveRefresh, useResource } from '../hooks.ts';
import { can } from '../session.ts';
import { ActionButton, ErrorNote, Page, Status } from '../components/ui.tsx';
import { containerAction } from './containers.tsx';

interface Inspect {
  Id: string; Name: string; Created: string;
  State: { Status: string; Health?: { Status: string } };
  Config: { Image: string; Cmd?: string[] | null; Env?: string[] | null; Labels?: Record<string, string> | null };
  HostConfig: { RestartPolicy?: { Name: string } };
  NetworkSettings: { Networks?: Record<string, { IPAddress?: string }> };
}

const MAX_LINES = 5000;

export function ContainerPage({ host, id }: { host: string; id: string }) {
  const info = useResource(() => api<Inspect>('GET', path`/hosts/${host}/containers/${id}`), [host, id]);
  useLiveRefresh('docker', (m) => m.host === host && m.data?.Type === 'container' && (m.data?.Actor?.ID === id || m.data?.id === id), info.reload);
  const [error, setError] = useState<string>();
  const c = info.data;
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
        </dl>
      )}
      <Logs host={host} id={id} />
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
        const res = await fetch(`/api/v1${path`/hosts/${host}/containers/${id}/logs`}?follow=true&tail=200`, { signal: ctl.signal, credentials: 'same-origin' });
        if (!res.ok || !res.body) throw new Error(((await res.json().catch(() => ({}))) as { message?: string }).message ?? `HTTP ${res.status}`);
        setLines([]);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let rest = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          rest += value;
          const parts = rest.split('\n');
          rest = parts.pop()!;
          const add = parts.filter(Boolean).map((p) => JSON.parse(p) as { stream: string; line: string; error?: string });
          if (add.length) setLines((old) => [...old, ...add].slice(-MAX_LINES));
        }
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
      <pre ref={box} class="logbox" aria-label="log lines" aria-live="polite">{shown.map((l, i) => <div key={i} class={l.stream === 'stderr' ? 'stderr' : ''}>{l.line}</div>)}</pre>
    </section>
  );
}
