// One cluster's inventory as a manager reports it now: the swarm, nodes,
// services, tasks, swarm-scoped networks, secrets and configs (metadata only:
// the engine never returns a secret's value), fetched in parallel.
import type { DockerClient } from '../docker/client.ts';
import { inspectSwarm, listNodes, listServices, listTasks, type SwarmInspect, type SwarmNode, type SwarmService, type SwarmTask } from '../docker/swarm.ts';
import { listSwarmData, type SwarmDataObject } from '../docker/secrets.ts';
import { listNetworks, type NetworkSummary } from '../docker/networks.ts';
import type { InventoryItem } from '../store/inventory-repo.ts';
import type { SwarmInventoryKind } from '../store/schema.ts';

export interface ClusterSnapshot {
  swarm: SwarmInspect;
  nodes: SwarmNode[];
  services: SwarmService[];
  tasks: SwarmTask[];
  networks: NetworkSummary[];
  secrets: SwarmDataObject[];
  configs: SwarmDataObject[];
}

export async function takeClusterSnapshot(docker: DockerClient, signal: AbortSignal): Promise<ClusterSnapshot> {
  const [swarm, nodes, services, tasks, networks, secrets, configs] = await Promise.all([
    inspectSwarm(docker, { signal }),
    listNodes(docker, { signal }),
    listServices(docker, { signal }),
    listTasks(docker, { signal }),
    listNetworks(docker, { signal, filters: { scope: ['swarm'] } }),
    listSwarmData(docker, 'secrets', { signal }),
    listSwarmData(docker, 'configs', { signal }),
  ]);
  return { swarm, nodes, services, tasks, networks, secrets, configs };
}

/** Configs' content is not kept: the inventory is metadata only, like the secrets the engine gives us. */
function withoutData(o: SwarmDataObject): SwarmDataObject {
  const { Data: _data, ...spec } = o.Spec;
  return { ...o, Spec: spec };
}

export function snapshotItems(s: ClusterSnapshot): Record<SwarmInventoryKind, InventoryItem[]> {
  return {
    node: s.nodes.map((n) => ({ objectId: n.ID, name: n.Description.Hostname, data: n })),
    service: s.services.map((v) => ({ objectId: v.ID, name: v.Spec.Name ?? null, data: v })),
    task: s.tasks.map((t) => ({ objectId: t.ID, name: null, data: t })),
    network: s.networks.map((n) => ({ objectId: n.Id, name: n.Name, data: n })),
    secret: s.secrets.map((o) => ({ objectId: o.ID, name: o.Spec.Name, data: o })),
    config: s.configs.map((o) => ({ objectId: o.ID, name: o.Spec.Name, data: withoutData(o) })),
  };
}
