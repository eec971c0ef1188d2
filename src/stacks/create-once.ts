// Creates that survive a lost answer. A create sent to a manager that dies may
// be applied by the raft log before its answer is lost; the router then sends it
// again through another manager, which refuses it as a name conflict. The object
// found under that name carrying the stack's label is the one that lost attempt
// created, so the step is done; any other owner keeps the conflict.
import type { DockerClient } from '../docker/client.ts';
import { createNetwork, listNetworks, type NetworkCreateBody } from '../docker/networks.ts';
import { createSwarmData, listSwarmData, type SwarmDataKind, type SwarmDataSpec } from '../docker/secrets.ts';
import { createService, listServices, type ServiceSpec } from '../docker/swarm.ts';
import { Conflict } from '../errors.ts';
import { STACK_LABEL } from '../swarm/stacks.ts';

async function createOnce(create: () => Promise<{ ID: string }>, ours: () => Promise<string | undefined>): Promise<{ ID: string }> {
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof Conflict) && !/already exists/i.test((err as Error).message)) throw err;
    const id = await ours();
    if (!id) throw err;
    return { ID: id };
  }
}

export function createStackService(d: DockerClient, stack: string, spec: ServiceSpec): Promise<{ ID: string }> {
  return createOnce(() => createService(d, spec), async () => {
    const found = await listServices(d, { filters: { name: [spec.Name!] } });
    return found.find((s) => s.Spec.Name === spec.Name && s.Spec.Labels?.[STACK_LABEL] === stack)?.ID;
  });
}

export function createStackNetwork(d: DockerClient, stack: string, spec: NetworkCreateBody): Promise<{ ID: string }> {
  return createOnce(async () => ({ ID: (await createNetwork(d, spec)).Id }), async () => {
    const found = await listNetworks(d, { filters: { name: [spec.Name] } });
    return found.find((n) => n.Name === spec.Name && n.Labels?.[STACK_LABEL] === stack)?.Id;
  });
}

export function createStackData(d: DockerClient, stack: string, kind: SwarmDataKind, spec: SwarmDataSpec): Promise<{ ID: string }> {
  return createOnce(() => createSwarmData(d, kind, spec), async () => {
    const found = await listSwarmData(d, kind);
    return found.find((x) => x.Spec.Name === spec.Name && x.Spec.Labels?.[STACK_LABEL] === stack)?.ID;
  });
}
