// One service: what it runs, its update state, its tasks (node, state, error)
// and its logs followed live; scale, update the image, roll back, remove.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { navigate } from '../../router.ts';
import { ErrorNote, Page, Status, ago } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import { followNdjson } from '../../ndjson.ts';
import { RemoveButton, RollbackButton, ScaleForm, UpdateImageForm } from './service-actions.tsx';
import { Replicas } from './services.tsx';
import { clusterHref } from './cluster.tsx';
import type { ServiceView, TaskView } from './types.ts';

const MAX_TASKS = 60;
const MAX_LINES = 5000;

export function ServicePage({ cluster, service }: { cluster: string; service: string }) {
  const info = useResource(() => api<ServiceView>('GET', path`/swarm/clusters/${cluster}/services/${service}`), [cluster, service]);
  const tasks = useResource(() => api<TaskView[]>('GET', path`/swarm/clusters/${cluster}/services/${service}/tasks`), [cluster, service]);
  const reload = () => { info.reload(); tasks.reload(); };
  useClusterLive(cluster, { swarm: ['service'], tasks: info.data?.id ?? service }, reload);
  const [error, setError] = useState<string>();
  const s = info.data;
  const manage = can('swarm.manage');
  const done = () => { setError(undefined); reload(); };
  const gone = info.error && !s;
  return (
    <Page title={`Service ${service}`} actions={s && manage && (
      <>
        <RollbackButton cluster={cluster} s={s} onDone={done} onError={setError} />
        <RemoveButton cluster={cluster} s={s} onDone={() => navigate(clusterHref(cluster, 'services'))} onError={setError} />
      </>
    )}>
      <p class="crumbs"><a href="/swarm">All clusters</a> › <a href={clusterHref(cluster, 'services')}>{cluster} services</a></p>
      <ErrorNote message={error ?? info.error} />
      {s && (
        <>
          <dl class="fields" aria-label="service">
            <dt>Image</dt><dd class="mono" data-field="image">{s.image}</dd>
            <dt>Mode</dt><dd>{s.mode} · endpoint {s.endpointMode}{s.stack ? ` · stack ${s.stack}` : ''}</dd>
            <dt>Running</dt><dd data-field="replicas"><Replicas s={s} /></dd>
            <dt>Update</dt><dd>{s.updateState ? <><Status value={s.updateState} /> <span class="reason">{s.updateMessage}</span></> : 'none'}</dd>
            <dt>Previous image</dt><dd class="mono">{s.previousImage ?? '-'}</dd>
            <dt>Ports</dt><dd class="mono">{s.ports.join(', ') || '-'}</dd>
            <dt>Constraints</dt><dd class="mono">{s.constraints.join(', ') || '-'}</dd>
            <dt>Updated</dt><dd>{ago(s.updatedAt)} · version {s.version}</dd>
          </dl>
          {manage && (
            <div class="toolbar service-actions">
              <ScaleForm cluster={cluster} s={s} onDone={done} onError={setError} />
              <UpdateImageForm key={s.image} cluster={cluster} s={s} onDone={done} onError={setError} />
            </div>
          )}
        </>
      )}
      {!gone && <Tasks tasks={tasks.data} error={tasks.error} />}
      {!gone && <ServiceLogs cluster={cluster} service={service} />}
    </Page>
  );
}

function Tasks({ tasks, error }: { tasks: TaskView[] | undefined; error: string | undefined }) {
  const sorted = [...(tasks ?? [])].sort((a, b) => (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '')).slice(0, MAX_TASKS);
  return (
    <section class="tasks">
      <h2>Tasks</h2>
      <ErrorNote message={error} />
      <table class="grid" aria-label="tasks">
        <thead><tr><th>Task</th><th>Node</th><th>Host</th><th>State</th><th>Desired</th><th>Image</th><th>Error</th><th>Updated</th></tr></thead>
        <tbody>
          {sorted.map((t) => (
            <tr key={t.id} data-task={t.id} data-state={t.state} data-image={t.image ?? undefined}>
              <td class="mono" title={t.id}>{t.slot !== null ? `slot ${t.slot}` : t.id.slice(0, 12)}</td>
              <td>{t.node ?? '-'}</td>
              <td>{t.host ?? <span class="muted">-</span>}</td>
              <td><Status value={t.state} /></td>
              <td>{t.desiredState}</td>
              <td class="mono">{t.image ?? '-'}</td>
              <td class="reason">{t.error ?? (t.exitCode ? `exit ${t.exitCode}` : '')}</td>
              <td>{ago(t.updatedAt)}</td>
            </tr>
          ))}
          {tasks?.length === 0 && <tr><td colSpan={8} class="empty">No tasks.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

interface LogLine { stream: 'stdout' | 'stderr'; line: string; task?: string; slot?: number; node?: string; error?: string }

function ServiceLogs({ cluster, service }: { cluster: string; service: string }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [following, setFollowing] = useState(true);
  const [search, setSearch] = useState('');
  const [error, setError] = useState<string>();
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (!following) return;
    const ctl = new AbortController();
    setError(undefined);
    setLines([]);
    followNdjson<LogLine>(`/api/v1${path`/swarm/clusters/${cluster}/services/${service}/logs`}?follow=true&tail=200`, ctl.signal, (add) => {
      const failed = add.find((l) => l.error);
      if (failed) setError(failed.error);
      setLines((old) => [...old, ...add.filter((l) => !l.error)].slice(-MAX_LINES));
    }).then(() => setFollowing(false), (err: Error) => { if (!ctl.signal.aborted) setError(err.message); });
    return () => ctl.abort();
  }, [cluster, service, following]);
  useEffect(() => {
    const el = box.current;
    if (el && following) el.scrollTop = el.scrollHeight;
  }, [lines, following]);
  const shown = search ? lines.filter((l) => l.line.toLowerCase().includes(search.toLowerCase())) : lines;
  return (
    <section class="logs">
      <div class="toolbar">
        <h2>Logs</h2>
        <input type="search" placeholder="Search the logs" aria-label="search logs" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        <label class="check"><input type="checkbox" checked={following} onChange={(e) => setFollowing((e.target as HTMLInputElement).checked)} /> follow</label>
      </div>
      <ErrorNote message={error} />
      <pre ref={box} class="logbox" aria-label="log lines" aria-live="polite" tabIndex={0}>
        {shown.map((l, i) => <div key={i} class={l.stream === 'stderr' ? 'stderr' : ''}><span class="logsrc">{l.node ?? '?'}{l.slot !== undefined ? `.${l.slot}` : ''}</span> {l.line}</div>)}
      </pre>
    </section>
  );
}
