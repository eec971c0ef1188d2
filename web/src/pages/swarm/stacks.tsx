// A cluster's stacks (services labelled com.docker.stack.namespace): their
// services and tasks running of desired; each links to its page, and
// operators find the deploy form here.
import { api, path } from '../../api.ts';
import { useResource } from '../../hooks.ts';
import { can } from '../../session.ts';
import { ErrorNote } from '../../components/ui.tsx';
import { useClusterLive } from './live.ts';
import { Replicas, serviceHref } from './services.tsx';
import { deployHref, stackHref } from './stack-deploys.ts';
import type { StackView } from './types.ts';

export function StacksTab({ cluster }: { cluster: string }) {
  const stacks = useResource(() => api<StackView[]>('GET', path`/swarm/clusters/${cluster}/stacks`), [cluster]);
  useClusterLive(cluster, { swarm: ['service'], tasks: true }, stacks.reload);
  return (
    <section aria-label="stacks">
      {can('swarm.manage') && <p class="toolbar"><a class="button primary" href={deployHref(cluster)}>Deploy a stack</a></p>}
      <ErrorNote message={stacks.error} />
      <table class="grid" aria-label="stacks">
        <thead><tr><th>Stack</th><th>Services</th><th>Tasks running</th><th>Below desired</th></tr></thead>
        <tbody>
          {(stacks.data ?? []).map((st) => (
            <tr key={st.name} data-stack={st.name}>
              <td><a href={stackHref(cluster, st.name)}>{st.name}</a></td>
              <td>{st.services.map((name, i) => <span key={name}>{i > 0 && ', '}<a href={serviceHref(cluster, name)}>{name}</a></span>)}</td>
              <td><Replicas s={st.tasks} /></td>
              <td>{st.belowDesired.length ? <span class="bad">{st.belowDesired.join(', ')}</span> : <span class="muted">none</span>}</td>
            </tr>
          ))}
          {stacks.data?.length === 0 && <tr><td colSpan={4} class="empty">No stacks: services deployed with a stack namespace label appear here.</td></tr>}
        </tbody>
      </table>
    </section>
  );
}
