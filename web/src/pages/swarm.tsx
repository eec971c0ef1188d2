// Swarm: the clusters, and one cluster's nodes, services (with a service's
// tasks and live logs), stacks, secrets and configs. Paths:
//   /swarm                                  clusters
//   /swarm/:cluster[/nodes|services|stacks|secrets|configs]
//   /swarm/:cluster/services/:service       one service
//   /swarm/:cluster/stacks/:stack           one stack, its deployments
//   /swarm/:cluster/deploy[?from=<id>]      deploy a stack
import { currentPath } from '../router.ts';
import { ClustersPage } from './swarm/clusters.tsx';
import { ClusterPage, TABS, type Tab } from './swarm/cluster.tsx';
import { ServicePage } from './swarm/service.tsx';
import { StackPage } from './swarm/stack.tsx';
import { DeployPage } from './swarm/deploy.tsx';

export function SwarmPage() {
  const parts = currentPath.value.split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [, cluster, tab, service] = parts;
  if (!cluster) return <ClustersPage />;
  if (tab === 'services' && service) return <ServicePage cluster={cluster} service={service} />;
  if (tab === 'stacks' && service) return <StackPage cluster={cluster} stack={service} />;
  if (tab === 'deploy' && !service) return <DeployPage cluster={cluster} />;
  if (tab === undefined || (TABS as readonly string[]).includes(tab)) return <ClusterPage cluster={cluster} tab={(tab ?? 'nodes') as Tab} />;
  return <section class="page"><h1>Not found</h1><p>No Swarm page at {currentPath.value}. <a href="/swarm">Back to the clusters</a></p></section>;
}
