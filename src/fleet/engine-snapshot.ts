// One host's full inventory as the engine reports it now: system facts plus
// containers, images, networks and volumes, fetched in parallel.
import type { DockerClient } from '../docker/client.ts';
import { getInfo, type EngineInfo } from '../docker/system.ts';
import { listContainers, type ContainerSummary } from '../docker/containers.ts';
import { listImages } from '../docker/images.ts';
import { listNetworks } from '../docker/networks.ts';
import { listVolumes } from '../docker/volumes.ts';
import type { InventoryItem } from '../store/inventory-repo.ts';
import type { InventoryKind } from '../store/schema.ts';

export interface EngineFacts {
  engineId: string;
  name: string;
  engineVersion: string;
  apiVersion: string;
  os: string;
  arch: string;
  cpus: number;
  memoryBytes: number;
  containersTotal: number;
  containersRunning: number;
  swarm: SwarmFacts;
}

/** What an engine says of its Swarm membership; a worker does not know the Swarm ID. */
export interface SwarmFacts {
  nodeId: string | null;
  state: string;
  role: 'manager' | 'worker' | null;
  clusterId: string | null;
}

export function swarmFacts(info: EngineInfo): SwarmFacts {
  const sw = info.Swarm;
  if (!sw || !sw.NodeID) return { nodeId: null, state: sw?.LocalNodeState ?? 'inactive', role: null, clusterId: null };
  return { nodeId: sw.NodeID, state: sw.LocalNodeState, role: sw.ControlAvailable ? 'manager' : 'worker', clusterId: sw.Cluster?.ID ?? null };
}

export interface EngineSnapshot {
  facts: EngineFacts;
  inventory: Record<InventoryKind, InventoryItem[]>;
}

export function containerItems(list: ContainerSummary[]): InventoryItem[] {
  return list.map((c) => ({ objectId: c.Id, name: c.Names?.[0]?.replace(/^\//, '') ?? null, data: c }));
}

export function countContainers(list: ContainerSummary[]): { total: number; running: number } {
  return { total: list.length, running: list.filter((c) => c.State === 'running').length };
}

/** Lists one kind of object on an engine, as inventory items. */
export async function fetchKind(docker: DockerClient, kind: InventoryKind, signal: AbortSignal): Promise<InventoryItem[]> {
  switch (kind) {
    case 'container':
      return containerItems(await listContainers(docker, { all: true, signal }));
    case 'image':
      return (await listImages(docker, { signal })).map((i) => ({ objectId: i.Id, name: i.RepoTags?.[0] ?? null, data: i }));
    case 'network':
      return (await listNetworks(docker, { signal })).map((n) => ({ objectId: n.Id, name: n.Name, data: n }));
    case 'volume':
      return ((await listVolumes(docker, { signal })).Volumes ?? []).map((v) => ({ objectId: v.Name, name: v.Name, data: v }));
  }
}

/** Container counts from stored inventory items. */
export function countItems(items: InventoryItem[]): { total: number; running: number } {
  return countContainers(items.map((i) => i.data as ContainerSummary));
}

export async function takeSnapshot(docker: DockerClient, signal: AbortSignal): Promise<EngineSnapshot> {
  const apiVersion = await docker.negotiate({ signal });
  const [info, container, image, network, volume] = await Promise.all([
    getInfo(docker, { signal }),
    fetchKind(docker, 'container', signal),
    fetchKind(docker, 'image', signal),
    fetchKind(docker, 'network', signal),
    fetchKind(docker, 'volume', signal),
  ]);
  const counts = countItems(container);
  return {
    facts: {
      engineId: info.ID, name: info.Name, engineVersion: info.ServerVersion ?? docker.engineVersion ?? '', apiVersion,
      os: info.OperatingSystem ?? '', arch: String(info.Architecture ?? ''), cpus: info.NCPU ?? 0, memoryBytes: info.MemTotal ?? 0,
      containersTotal: counts.total, containersRunning: counts.running, swarm: swarmFacts(info),
    },
    inventory: { container, image, network, volume },
  };
}
