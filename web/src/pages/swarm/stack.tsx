// One stack: its services (desired, running, failed, converged) and tasks kept
// live, its removal, its deployments newest first, the diff between two of
// them (services and fields), and a deployment deployed again (rollback) with
// its live progress.
import { useState } from 'preact/hooks';
import { api, path, ApiError } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { navigate } from '../../router.ts';
import { ErrorNote, Page, Status, ago } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import { clusterHref } from './cluster.tsx';
import { Replicas, serviceHref } from './services.tsx';
import { DeployProgress, useDeployRun } from './deploy-progress.tsx';
import { deployHref, duration, redeployUrl, type Deployment, type DeploymentDiff, type EngineTask, type StackState } from './stack-deploys.ts';
import type { NodeView } from './types.ts';

const MAX_TASKS = 60;

export function StackPage({ cluster, stack }: { cluster: string; stack: string }) {
  const state = useResource(() => api<StackState>('GET', path`/swarm/clusters/${cluster}/stacks/${stack}`).catch((err: Error) => {
    // A stack with no service left (removed, or never deployed) still has its deployments to show.
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }), [cluster, stack]);
  const tasks = useResource(() => api<EngineTask[]>('GET', path`/swarm/clusters/${cluster}/stacks/${stack}/tasks`), [cluster, stack]);
  const deployments = useResource(() => api<Deployment[]>('GET', `${path`/swarm/clusters/${cluster}/deployments`}?stack=${encodeURIComponent(stack)}`), [cluster, stack]);
  const nodes = useResource(() => api<NodeView[]>('GET', path`/swarm/clusters/${cluster}/nodes`), [cluster]);
  const reloadState = () => { state.reload(); tasks.reload(); };
  useClusterLive(cluster, { swarm: ['service'], tasks: true }, reloadState);
  const [error, setError] = useState<string>();
  const [removing, setRemoving] = useState(false);
  const run = useDeployRun();
  const manage = can('swarm.manage');
  const latest = deployments.data?.[0];

  const remove = async () => {
    if (!confirm(`Remove the stack ${stack}: its services, networks, secrets and configs?`)) return;
    setRemoving(true);
    try {
      await api('DELETE', path`/swarm/clusters/${cluster}/stacks/${stack}`);
      navigate(clusterHref(cluster, 'stacks'));
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setRemoving(false);
    }
  };
  const redeploy = async (d: Deployment) => {
    if (!confirm(`Deploy ${d.id.slice(0, 8)} of ${stack} again (started ${ago(d.startedAt)})?`)) return;
    setError(undefined);
    await run.start(redeployUrl(cluster, d.id));
    deployments.reload();
    reloadState();
  };

  return (
    <Page title={`Stack ${stack}`} actions={manage && (
      <>
        <a class="button" href={deployHref(cluster, latest?.id)}>{latest ? 'Deploy a new version' : 'Deploy'}</a>
        {state.data && <button type="button" class="danger" disabled={removing} onClick={remove}>{removing ? 'Removing…' : 'Remove stack'}</button>}
      </>
    )}>
      <p class="crumbs"><a href="/swarm">All clusters</a> › <a href={clusterHref(cluster, 'stacks')}>{cluster} stacks</a></p>
      <ErrorNote message={error ?? state.error} />
      <StackServices cluster={cluster} state={state.data} />
      {state.data && <StackTasks tasks={tasks.data} error={tasks.error} state={state.data} nodes={nodes.data} />}
      <DeployProgress run={run} label="Redeploy" />
      <Deployments list={deployments.data} error={deployments.error} manage={manage} busy={run.running} onRedeploy={redeploy} />
      {deployments.data && deployments.data.length >= 2 && <DiffPicker key={deployments.data[0]!.id} cluster={cluster} list={deployments.data} />}
    </Page>
  );
}

function StackServices({ cluster, state }: { cluster: string; state: StackState | null | undefined }) {
  if (state === undefined) return <p class="muted">Loading…</p>;
  if (state === null) return <p class="empty" data-field="no-services">No service carries this stack's label now.</p>;
  return (
    <section class="stack-services">
      <h2>Services {state.converged ? <span class="good" data-field="converged">converged</span> : <span class="bad" data-field="converged">converging</span>}</h2>
      <table class="grid" aria-label="stack services">
        <thead><tr><th>Service</th><th>Image</th><th>Mode</th><th>Running</th><th>Failed</th><th>Update</th><th>Converged</th></tr></thead>
        <tbody>
          {state.services.map((s) => (
            <tr key={s.id} data-service={s.name} data-converged={String(s.converged)}>
              <td><a href={serviceHref(cluster, s.name)}>{s.name}</a></td>
              <td class="mono">{s.image.replace(/@sha256:[0-9a-f]+$/, '')}</td>
              <td>{s.mode}</td>
              <td data-field="replicas"><Replicas s={s} /></td>
              <td data-field="failed">{s.failed ? <span class="bad">{s.failed}</span> : 0}</td>
              <td>{s.updateState ? <Status value={s.updateState} /> : <span class="muted">-</span>}</td>
              <td>{s.converged ? <span class="good">yes</span> : <span class="bad">no</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function StackTasks({ tasks, error, state, nodes }: { tasks: EngineTask[] | undefined; error: string | undefined; state: StackState; nodes: NodeView[] | undefined }) {
  const serviceName = new Map(state.services.map((s) => [s.id, s.name]));
  const nodeName = new Map((nodes ?? []).map((n) => [n.id, n.hostname]));
  const when = (t: EngineTask) => t.Status.Timestamp ?? t.UpdatedAt ?? '';
  const sorted = [...(tasks ?? [])].sort((a, b) => when(b).localeCompare(when(a))).slice(0, MAX_TASKS);
  return (
    <section class="tasks">
      <h2>Tasks</h2>
      <ErrorNote message={error} />
      <table class="grid" aria-label="stack tasks">
        <thead><tr><th>Task</th><th>Node</th><th>State</th><th>Desired</th><th>Image</th><th>Error</th><th>Updated</th></tr></thead>
        <tbody>
          {sorted.map((t) => (
            <tr key={t.ID} data-task={t.ID} data-state={t.Status.State}>
              <td class="mono" title={t.ID}>{serviceName.get(t.ServiceID) ?? t.ServiceID.slice(0, 12)}{t.Slot ? `.${t.Slot}` : ''}</td>
              <td>{t.NodeID ? (nodeName.get(t.NodeID) ?? t.NodeID.slice(0, 12)) : '-'}</td>
              <td><Status value={t.Status.State} /></td>
              <td>{t.DesiredState}</td>
              <td class="mono">{(t.Spec?.ContainerSpec?.Image ?? '-').replace(/@sha256:[0-9a-f]+$/, '')}</td>
              <td class="reason">{t.Status.Err ?? (t.Status.ContainerStatus?.ExitCode ? `exit ${t.Status.ContainerStatus.ExitCode}` : '')}</td>
              <td>{ago(when(t) || null)}</td>
            </tr>
          ))}
          {tasks?.length === 0 && <tr><td colSpan={7} class="empty">No tasks.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function Deployments({ list, error, manage, busy, onRedeploy }: { list: Deployment[] | undefined; error: string | undefined; manage: boolean; busy: boolean; onRedeploy: (d: Deployment) => void }) {
  return (
    <section class="deployments">
      <h2>Deployments</h2>
      <ErrorNote message={error} />
      <table class="grid" aria-label="deployments">
        <thead><tr><th>Deployment</th><th>Status</th><th>By</th><th>Started</th><th>Duration</th><th>Options</th><th>Error / warnings</th>{manage && <th>Actions</th>}</tr></thead>
        <tbody>
          {(list ?? []).map((d) => (
            <tr key={d.id} data-deployment={d.id} data-status={d.status}>
              <td class="mono" title={d.id}>{d.id.slice(0, 8)}{d.redeployOf && <div class="muted">redeploy of {d.redeployOf.slice(0, 8)}</div>}</td>
              <td><Status value={d.status} /></td>
              <td>{d.startedBy ?? <span class="muted">-</span>}</td>
              <td title={d.startedAt}>{ago(d.startedAt)}</td>
              <td>{duration(d.durationMs)}</td>
              <td class="muted">{d.strategy}{d.options.prune ? ' · prune' : ''} · resolve {d.options.resolveImage}</td>
              <td class="reason">{d.error && <span class="bad">{d.error}</span>}{d.warnings.map((w, i) => <div key={i}>warning: {w}</div>)}</td>
              {manage && (
                <td>
                  <div class="actions">
                    <button type="button" aria-label={`redeploy ${d.id.slice(0, 8)}`} disabled={busy || d.status === 'running'} onClick={() => onRedeploy(d)}>redeploy</button>
                    <a href={deployHref(d.cluster, d.id)} aria-label={`edit and deploy from ${d.id.slice(0, 8)}`}>edit</a>
                  </div>
                </td>
              )}
            </tr>
          ))}
          {list?.length === 0 && <tr><td colSpan={8} class="empty">No deployment recorded for this stack.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}

function label(d: Deployment): string {
  return `${d.id.slice(0, 8)} · ${d.status} · ${new Date(d.startedAt).toLocaleString()}`;
}

/** Two deployments to compare: the one before the newest and the newest, until chosen otherwise. */
function DiffPicker({ cluster, list }: { cluster: string; list: Deployment[] }) {
  const [from, setFrom] = useState(list[1]!.id);
  const [to, setTo] = useState(list[0]!.id);
  const [diff, setDiff] = useState<DeploymentDiff>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  return (
    <section class="card stack-diff" aria-label="compare deployments">
      <h2>Compare deployments</h2>
      <form class="inline-form" aria-label="choose deployments to compare" onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(undefined);
        try {
          setDiff(await api<DeploymentDiff>('GET', `${path`/swarm/clusters/${cluster}/deployments/${to}/diff`}?against=${encodeURIComponent(from)}`));
        } catch (err) {
          setDiff(undefined);
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}>
        <label>From<select name="from" value={from} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}>{list.map((d) => <option key={d.id} value={d.id}>{label(d)}</option>)}</select></label>
        <label>To<select name="to" value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>{list.map((d) => <option key={d.id} value={d.id}>{label(d)}</option>)}</select></label>
        <button type="submit" disabled={busy}>{busy ? 'Comparing…' : 'Show the differences'}</button>
      </form>
      <ErrorNote message={error} />
      {diff && (
        <table class="grid" aria-label="differences">
          <thead><tr><th>Service</th><th>Change</th><th>Fields</th></tr></thead>
          <tbody>
            {diff.services.map((s) => (
              <tr key={s.name} data-service={s.name} data-change={s.change}>
                <td>{s.name}</td>
                <td>{s.change}</td>
                <td>{s.fields.length ? <ul class="diff-fields">{s.fields.map((f) => <li key={f} class="mono">{f}</li>)}</ul> : <span class="muted">-</span>}</td>
              </tr>
            ))}
            {diff.services.length === 0 && <tr><td colSpan={3} class="empty">No difference: both deployments make the same services.</td></tr>}
          </tbody>
        </table>
      )}
    </section>
  );
}
