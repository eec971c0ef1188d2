// A stack as the cluster has it now: its services with desired / running /
// failed tasks and whether each has converged (as `docker stack services` and
// `docker stack ps` show it), and its removal (as `docker stack rm`: services,
// then the networks, secrets and configs labelled with the stack).
import type { DockerClient } from '../docker/client.ts';
import { listNetworks, removeNetwork } from '../docker/networks.ts';
import { listSwarmData, removeSwarmData } from '../docker/secrets.ts';
import { listServices, listTasks, removeService } from '../docker/swarm.ts';
import { NotFound } from '../errors.ts';
import type { Swarm } from '../swarm/swarm.ts';
import { STACK_LABEL } from '../swarm/stacks.ts';
import { isCurrent, taskCounts } from '../swarm/service-view.ts';

export interface StackServiceState {
  name: string;
  id: string;
  image: string;
  mode: 'replicated' | 'global' | 'other';
  desired: number;
  running: number;
  failed: number;
  updateState: string | null;
  converged: boolean;
}

export interface StackState {
  name: string;
  services: StackServiceState[];
  converged: boolean;
}

const FAILED = new Set(['failed', 'rejected']);

export async function stackState(swarm: Swarm, cluster: string, stack: string): Promise<StackState> {
  return swarm.withManager(cluster, async (d) => {
    const filters = { label: [`${STACK_LABEL}=${stack}`] };
    const services = await listServices(d, { filters });
    if (services.length === 0) throw new NotFound(`stack "${stack}" not found: no service carries ${STACK_LABEL}=${stack}`);
    const tasks = await listTasks(d, { filters });
    const out = services.map((s): StackServiceState => {
      const mine = tasks.filter((t) => t.ServiceID === s.ID);
      const { running, desired } = taskCounts(s, mine);
      const updateState = s.UpdateStatus?.State ?? null;
      return {
        name: s.Spec.Name ?? s.ID, id: s.ID, image: s.Spec.TaskTemplate.ContainerSpec?.Image ?? '',
        mode: s.Spec.Mode?.Replicated ? 'replicated' : s.Spec.Mode?.Global ? 'global' : 'other',
        desired, running, failed: mine.filter((t) => FAILED.has(t.Status.State) && isCurrent(t)).length, updateState,
        converged: running >= desired && (updateState === null || updateState === 'completed' || updateState === 'rollback_completed'),
      };
    }).sort((a, b) => a.name.localeCompare(b.name));
    return { name: stack, services: out, converged: out.every((s) => s.converged) };
  });
}

/** `docker stack rm`: what was removed. Networks are retried while tasks still hold them. */
export async function removeStack(swarm: Swarm, cluster: string, stack: string): Promise<{ services: string[]; networks: string[]; secrets: string[]; configs: string[] }> {
  const filters = { label: [`${STACK_LABEL}=${stack}`] };
  const on = <T>(fn: (d: DockerClient) => Promise<T>) => swarm.withManager(cluster, fn);
  const [services, networks, secrets, configs] = await on((d) => Promise.all([
    listServices(d, { filters }), listNetworks(d, { filters }), listSwarmData(d, 'secrets', { filters }), listSwarmData(d, 'configs', { filters }),
  ]));
  if (services.length + networks.length + secrets.length + configs.length === 0) throw new NotFound(`stack "${stack}" not found: nothing carries ${STACK_LABEL}=${stack}`);
  for (const s of services) await on((d) => removeService(d, s.ID));
  for (const s of secrets) await on((d) => removeSwarmData(d, 'secrets', s.ID)).catch(() => undefined);
  for (const c of configs) await on((d) => removeSwarmData(d, 'configs', c.ID)).catch(() => undefined);
  const deadline = Date.now() + 60_000;
  for (const n of networks) {
    for (;;) {
      try {
        await on((d) => removeNetwork(d, n.Id));
        break;
      } catch (err) {
        // A network stays in use until the removed services' tasks have stopped.
        if (Date.now() > deadline || !/in use|active endpoints/i.test((err as Error).message)) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  return { services: services.map((s) => s.Spec.Name ?? s.ID), networks: networks.map((n) => n.Name), secrets: secrets.map((s) => s.Spec.Name), configs: configs.map((c) => c.Spec.Name) };
}
