// A cluster's health from what a manager reports (SPEC S10): managers reachable
// of total and the leader, nodes down or drained, services whose running tasks
// are below their desired count. Pure: the sync feeds it, tests call it directly.
import type { SwarmNode, SwarmService, SwarmTask } from '../docker/swarm.ts';

export interface ServiceShortfall {
  id: string;
  name: string;
  desired: number;
  running: number;
}

export interface ClusterHealth {
  managers: { total: number; reachable: number; unreachable: string[]; leader: { nodeId: string; hostname: string } | null };
  quorum: boolean;
  nodes: { total: number; ready: number; down: string[]; drained: string[]; paused: string[] };
  services: { total: number; belowDesired: ServiceShortfall[] };
}

export function hasQuorum(reachable: number, total: number): boolean {
  return total > 0 && reachable > total / 2;
}

/** Desired and running tasks of each service: replicated by Replicas, global by the tasks the orchestrator wants running. */
export function serviceShortfalls(services: SwarmService[], tasks: SwarmTask[]): ServiceShortfall[] {
  const running = new Map<string, number>();
  const wanted = new Map<string, number>();
  for (const t of tasks) {
    if (t.DesiredState !== 'running') continue;
    wanted.set(t.ServiceID, (wanted.get(t.ServiceID) ?? 0) + 1);
    if (t.Status.State === 'running') running.set(t.ServiceID, (running.get(t.ServiceID) ?? 0) + 1);
  }
  const out: ServiceShortfall[] = [];
  for (const s of services) {
    const replicated = s.Spec.Mode?.Replicated;
    const desired = replicated ? replicated.Replicas : s.Spec.Mode?.Global ? (wanted.get(s.ID) ?? 0) : undefined;
    if (desired === undefined) continue; // jobs run to completion: no steady count to fall short of
    const have = running.get(s.ID) ?? 0;
    if (have < desired) out.push({ id: s.ID, name: s.Spec.Name ?? s.ID, desired, running: have });
  }
  return out;
}

export function computeHealth(nodes: SwarmNode[], services: SwarmService[], tasks: SwarmTask[]): ClusterHealth {
  const managers = nodes.filter((n) => n.ManagerStatus);
  const reachable = managers.filter((n) => n.ManagerStatus!.Reachability === 'reachable');
  const leader = managers.find((n) => n.ManagerStatus!.Leader);
  const name = (n: SwarmNode) => n.Description.Hostname;
  return {
    managers: {
      total: managers.length, reachable: reachable.length,
      unreachable: managers.filter((n) => n.ManagerStatus!.Reachability !== 'reachable').map(name).sort(),
      leader: leader ? { nodeId: leader.ID, hostname: name(leader) } : null,
    },
    quorum: hasQuorum(reachable.length, managers.length),
    nodes: {
      total: nodes.length,
      ready: nodes.filter((n) => n.Status.State === 'ready').length,
      down: nodes.filter((n) => n.Status.State !== 'ready').map(name).sort(),
      drained: nodes.filter((n) => n.Spec.Availability === 'drain').map(name).sort(),
      paused: nodes.filter((n) => n.Spec.Availability === 'pause').map(name).sort(),
    },
    services: { total: services.length, belowDesired: serviceShortfalls(services, tasks) },
  };
}

/** One line for the cluster's status reason. */
export function describeHealth(h: ClusterHealth): string {
  const parts = [`${h.managers.reachable} of ${h.managers.total} managers reachable`, `leader ${h.managers.leader?.hostname ?? 'none'}`];
  if (h.nodes.down.length) parts.push(`nodes down: ${h.nodes.down.join(', ')}`);
  if (h.nodes.drained.length) parts.push(`drained: ${h.nodes.drained.join(', ')}`);
  if (h.services.belowDesired.length) parts.push(`services below desired: ${h.services.belowDesired.map((s) => `${s.name} ${s.running}/${s.desired}`).join(', ')}`);
  return parts.join('; ');
}
