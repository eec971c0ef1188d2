// Every container of the fleet as the dashboard lists it, from the synced
// inventory. Each host's part is kept, mapped, until that host's inventory is
// replaced (a sync or a container event): with 10,000 containers, an event on
// one host re-reads that host only, not the fleet.
import type { Store } from '../store/index.ts';
import type { ContainerSummary } from '../docker/containers.ts';
import { healthOf } from './fleet-health.ts';

export interface FleetContainer {
  host: string; id: string; name: string; image: string; state: string; status: string;
  health: 'healthy' | 'unhealthy' | 'starting' | null; created: number; ports: string[]; labels: Record<string, string>;
}

function portsOf(c: ContainerSummary): string[] {
  const ports = (c.Ports ?? []) as { PrivatePort: number; PublicPort?: number; Type: string }[];
  return [...new Set(ports.map((p) => (p.PublicPort ? `${p.PublicPort}→${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)))];
}

export function toFleetContainer(host: string, c: ContainerSummary): FleetContainer {
  return {
    host, id: c.Id, name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), image: c.Image ?? '', state: c.State ?? '', status: c.Status ?? '',
    health: healthOf(c), created: c.Created ?? 0, ports: portsOf(c), labels: (c.Labels ?? {}) as Record<string, string>,
  };
}

const byName = (a: FleetContainer, b: FleetContainer) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

export class FleetContainerList {
  private readonly store: Store;
  private readonly parts = new Map<string, { stamp: string; host: string; rows: FleetContainer[] }>();

  constructor(store: Store) {
    this.store = store;
  }

  /** Sorted by host name, then container name; `only` narrows to one host. */
  async list(hostNames: Map<string, string>, only?: string): Promise<FleetContainer[]> {
    const stamps = await this.store.inventory.stamps('container');
    const current = new Set<string>();
    for (const s of stamps) {
      const host = hostNames.get(s.hostId);
      if (!host) continue;
      current.add(s.hostId);
      const stamp = `${s.updatedAt}|${s.count}|${host}`;
      if (this.parts.get(s.hostId)?.stamp === stamp) continue;
      const items = await this.store.inventory.list<ContainerSummary>(s.hostId, 'container');
      this.parts.set(s.hostId, { stamp, host, rows: items.map((c) => toFleetContainer(host, c)).sort(byName) });
    }
    for (const id of [...this.parts.keys()]) if (!current.has(id)) this.parts.delete(id);
    const parts = [...this.parts.values()].filter((p) => !only || p.host === only).sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
    return parts.flatMap((p) => p.rows);
  }
}
