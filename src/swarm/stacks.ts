// Stacks as Swarm knows them: services (and their tasks) sharing the label
// com.docker.stack.namespace, which `docker stack deploy` sets and Flotilla's
// own deploys will set too. A summary per stack, as `docker stack ls` shows it, plus task counts.
import type { SwarmService, SwarmTask } from '../docker/swarm.ts';
import { serviceShortfalls } from './health.ts';

export const STACK_LABEL = 'com.docker.stack.namespace';

export interface StackSummary {
  name: string;
  services: string[];
  tasks: { running: number; desired: number };
  /** Services with fewer running tasks than desired. */
  belowDesired: string[];
}

export function summarizeStacks(services: SwarmService[], tasks: SwarmTask[]): StackSummary[] {
  const byStack = new Map<string, SwarmService[]>();
  for (const s of services) {
    const ns = s.Spec.Labels?.[STACK_LABEL];
    if (!ns) continue;
    byStack.set(ns, [...(byStack.get(ns) ?? []), s]);
  }
  return [...byStack.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, list]) => {
    const ids = new Set(list.map((s) => s.ID));
    const mine = tasks.filter((t) => ids.has(t.ServiceID) && t.DesiredState === 'running');
    const short = serviceShortfalls(list, tasks);
    return {
      name,
      services: list.map((s) => s.Spec.Name ?? s.ID).sort(),
      tasks: { running: mine.filter((t) => t.Status.State === 'running').length, desired: mine.length },
      belowDesired: short.map((s) => s.name).sort(),
    };
  });
}
