// Keeps one live Docker event stream per connected host. Events are stored,
// published, and keep the inventory current between syncs: a container event
// refreshes that host's container list (debounced, so a burst costs one call).
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { Connections } from './connections.ts';
import { streamEvents, type DockerEvent } from '../docker/events.ts';
import { countItems, fetchKind } from './engine-snapshot.ts';
import type { InventoryKind } from '../store/schema.ts';

const DEBOUNCE_MS = 300;
const KIND_OF_EVENT: Record<string, InventoryKind> = { container: 'container', image: 'image', network: 'network', volume: 'volume' };

export interface WatcherHooks {
  onEvent(host: HostRow, event: DockerEvent): void;
  /** The stream ended or failed while we still wanted it. */
  onLost(host: HostRow, reason: string): void;
}

export class EventWatcher {
  private readonly streams = new Map<string, AbortController>();
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private readonly deps: { store: Store; connections: Connections; log: Logger; hooks: WatcherHooks };

  constructor(deps: { store: Store; connections: Connections; log: Logger; hooks: WatcherHooks }) {
    this.deps = deps;
  }

  isWatching(hostId: string): boolean {
    return this.streams.has(hostId);
  }

  watch(host: HostRow): void {
    if (this.streams.has(host.id)) return;
    const ctl = new AbortController();
    this.streams.set(host.id, ctl);
    void this.run(host, ctl);
  }

  unwatch(hostId: string): void {
    this.streams.get(hostId)?.abort();
    this.streams.delete(hostId);
    for (const [key, t] of this.pending) if (key.startsWith(`${hostId}:`)) { clearTimeout(t); this.pending.delete(key); }
  }

  stopAll(): void {
    for (const id of [...this.streams.keys()]) this.unwatch(id);
  }

  private async run(host: HostRow, ctl: AbortController): Promise<void> {
    const docker = this.deps.connections.clientFor(host);
    let reason = 'event stream ended';
    try {
      for await (const event of streamEvents(docker, { signal: ctl.signal, since: new Date() })) {
        await this.ingest(host, event);
      }
    } catch (err) {
      reason = `event stream lost: ${(err as Error).message}`;
    }
    if (ctl.signal.aborted) return;
    this.streams.delete(host.id);
    this.deps.hooks.onLost(host, reason);
  }

  /** Stores and publishes one event and refreshes what it touched (also fed by agent channels). */
  async ingest(host: HostRow, event: DockerEvent): Promise<void> {
    const at = event.timeNano ? new Date(Number(BigInt(event.timeNano) / 1_000_000n)).toISOString() : new Date().toISOString();
    try {
      await this.deps.store.events.add({
        at, host_id: host.id, type: event.Type ?? 'unknown', action: event.Action ?? 'unknown', actor_id: event.Actor?.ID ?? null, data: JSON.stringify(event),
      });
    } catch (err) {
      this.deps.log.error({ err, host: host.name }, 'could not store event');
    }
    this.deps.hooks.onEvent(host, event);
    const kind = KIND_OF_EVENT[event.Type ?? ''];
    if (kind) this.refreshSoon(host, kind);
  }

  private refreshSoon(host: HostRow, kind: InventoryKind): void {
    const key = `${host.id}:${kind}`;
    if (this.pending.has(key)) return;
    this.pending.set(key, setTimeout(() => {
      this.pending.delete(key);
      void this.refresh(host, kind).catch((err: unknown) => this.deps.log.debug({ err, host: host.name, kind }, 'inventory refresh failed'));
    }, DEBOUNCE_MS));
  }

  private async refresh(host: HostRow, kind: InventoryKind): Promise<void> {
    // The host may have gone, or stopped being scanned, since the event.
    const current = await this.deps.store.hosts.find(host.id);
    if (!current || current.status === 'maintenance' || current.duplicate_of) return;
    const items = await fetchKind(this.deps.connections.clientFor(current), kind, AbortSignal.timeout(10_000));
    await this.deps.store.inventory.replace(host.id, kind, items);
    if (kind === 'container') {
      const c = countItems(items);
      await this.deps.store.hosts.update(host.id, { containers_total: c.total, containers_running: c.running, last_seen_at: new Date().toISOString() });
    }
  }
}
