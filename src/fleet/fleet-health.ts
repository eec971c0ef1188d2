// Container health of the fleet (SPEC S10) from the synced inventory: per host
// and overall, running / stopped / healthy / unhealthy / starting, from the
// state and the health suffix the engine puts in each container's status.
import type { ContainerSummary } from '../docker/containers.ts';

export interface ContainerHealthCounts {
  total: number;
  running: number;
  stopped: number;
  healthy: number;
  unhealthy: number;
  starting: number;
}

export function healthOf(c: Pick<ContainerSummary, 'State' | 'Status'>): 'healthy' | 'unhealthy' | 'starting' | null {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(c.Status ?? '');
  if (!m) return null;
  return m[1] === 'health: starting' ? 'starting' : (m[1] as 'healthy' | 'unhealthy');
}

export function countHealth(list: Pick<ContainerSummary, 'State' | 'Status'>[]): ContainerHealthCounts {
  const out: ContainerHealthCounts = { total: 0, running: 0, stopped: 0, healthy: 0, unhealthy: 0, starting: 0 };
  for (const c of list) {
    out.total++;
    if (c.State === 'running') out.running++;
    else out.stopped++;
    const h = healthOf(c);
    if (h) out[h]++;
  }
  return out;
}

export function addCounts(a: ContainerHealthCounts, b: ContainerHealthCounts): ContainerHealthCounts {
  return { total: a.total + b.total, running: a.running + b.running, stopped: a.stopped + b.stopped, healthy: a.healthy + b.healthy, unhealthy: a.unhealthy + b.unhealthy, starting: a.starting + b.starting };
}
