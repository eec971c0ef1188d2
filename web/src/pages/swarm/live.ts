// Keeping a Swarm page current from the live stream: swarm events (node,
// service, secret, config) and cluster status of this cluster, and the
// container events of Swarm tasks (a task reaching running emits no swarm
// event). Reloads are debounced, with one trailing reload a little later: the
// manager learns a task's state shortly after the worker's container event.
import { useEffect, useRef } from 'preact/hooks';
import { onLive, type LiveMessage } from '../../live.ts';

export interface ClusterLiveFilter {
  /** Swarm event types that matter (node, service, secret, config); none: no swarm events. */
  swarm?: string[];
  /** Container events of Swarm tasks; a service ID or name limits them to that service. */
  tasks?: boolean | string;
  /** cluster.status messages of the cluster. */
  status?: boolean;
}

const SERVICE_ID = 'com.docker.swarm.service.id';
const SERVICE_NAME = 'com.docker.swarm.service.name';

export function isTaskEvent(m: LiveMessage, service?: string): boolean {
  if (m.data?.Type !== 'container') return false;
  const attrs = (m.data?.Actor?.Attributes ?? {}) as Record<string, string>;
  if (!attrs[SERVICE_ID]) return false;
  return !service || attrs[SERVICE_ID] === service || attrs[SERVICE_NAME] === service;
}

/** `cluster` undefined: every cluster (the clusters list). */
export function useClusterLive(cluster: string | undefined, filter: ClusterLiveFilter, reload: () => void, delayMs = 400, trailingMs = 2500): void {
  const latest = useRef({ filter, reload });
  latest.current = { filter, reload };
  useEffect(() => {
    let soon: ReturnType<typeof setTimeout> | undefined;
    let trailing: ReturnType<typeof setTimeout> | undefined;
    const schedule = () => {
      if (!soon) soon = setTimeout(() => { soon = undefined; latest.current.reload(); }, delayMs);
      if (trailing) clearTimeout(trailing);
      trailing = setTimeout(() => { trailing = undefined; latest.current.reload(); }, trailingMs);
    };
    const mine = (m: LiveMessage) => cluster === undefined || m.cluster === cluster;
    const reloadNow = () => latest.current.reload();
    const offs = [
      onLive('swarm.event', (m) => { if (mine(m) && latest.current.filter.swarm?.includes(m.data?.Type)) schedule(); }, reloadNow),
      onLive('cluster.status', (m) => { if (mine(m) && latest.current.filter.status) schedule(); }),
      onLive('docker', (m) => {
        const t = latest.current.filter.tasks;
        if (t && isTaskEvent(m, typeof t === 'string' ? t : undefined)) schedule();
      }),
    ];
    return () => {
      offs.forEach((off) => off());
      if (soon) clearTimeout(soon);
      if (trailing) clearTimeout(trailing);
    };
  }, [cluster, delayMs, trailingMs]);
}
