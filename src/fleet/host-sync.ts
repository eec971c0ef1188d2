// Syncs one host: takes a snapshot under a deadline, stores the inventory and
// moves the host's status. Never throws for an engine failure: it records it.
import type { Logger } from '../log.ts';
import type { Metrics } from '../api/metrics.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { HostStatus, InventoryKind } from '../store/schema.ts';
import type { Connections } from './connections.ts';
import type { StatusTracker } from './status-tracker.ts';
import { takeSnapshot } from './engine-snapshot.ts';
import type { Syncer } from './sync-scheduler.ts';

export interface SyncResult {
  ok: boolean;
  status: HostStatus;
  durationMs: number;
  error?: string;
  counts?: Record<InventoryKind, number>;
}

export class HostSyncer implements Syncer<HostRow, SyncResult> {
  private readonly store: Store;
  private readonly connections: Connections;
  private readonly tracker: StatusTracker;
  private readonly log: Logger;
  private readonly metrics: Metrics;
  private readonly timeoutMs: number;
  /** Aborts every sync in flight when the server stops, so shutdown never waits on a dead host. */
  private readonly shutdown = new AbortController();

  constructor(deps: { store: Store; connections: Connections; tracker: StatusTracker; log: Logger; metrics: Metrics; timeoutMs: number }) {
    this.store = deps.store;
    this.connections = deps.connections;
    this.tracker = deps.tracker;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.timeoutMs = deps.timeoutMs;
  }

  list(): Promise<HostRow[]> {
    return this.store.hosts.list();
  }

  abortAll(): void {
    this.shutdown.abort();
  }

  async sync(host: HostRow): Promise<SyncResult> {
    const started = performance.now();
    const signal = AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.shutdown.signal]);
    try {
      const snap = await takeSnapshot(this.connections.clientFor(host), signal);
      for (const kind of Object.keys(snap.inventory) as InventoryKind[]) {
        await this.store.inventory.replace(host.id, kind, snap.inventory[kind]);
      }
      const durationMs = performance.now() - started;
      // The host may have been removed or put in maintenance while we were away.
      const current = await this.store.hosts.find(host.id);
      if (!current || current.status === 'maintenance') return { ok: true, status: current?.status ?? 'pending', durationMs };
      await this.tracker.succeeded(current, snap.facts, durationMs);
      this.metrics.hostSyncs.labels('ok').observe(durationMs / 1000);
      const counts = Object.fromEntries(Object.entries(snap.inventory).map(([k, v]) => [k, v.length])) as Record<InventoryKind, number>;
      return { ok: true, status: 'connected', durationMs, counts };
    } catch (err) {
      const durationMs = performance.now() - started;
      if (this.shutdown.signal.aborted) return { ok: false, status: host.status, durationMs, error: 'server stopping' };
      const reason = signal.aborted && !(err instanceof Error && /host "/.test(err.message))
        ? `sync timed out after ${this.timeoutMs} ms`
        : (err as Error).message;
      this.metrics.hostSyncs.labels('error').observe(durationMs / 1000);
      const current = await this.store.hosts.find(host.id);
      if (!current || current.status === 'maintenance') return { ok: false, status: current?.status ?? 'pending', durationMs, error: reason };
      const status = await this.tracker.failed(current, reason);
      this.log.warn({ host: host.name, reason, status }, 'host sync failed');
      return { ok: false, status, durationMs, error: reason };
    }
  }
}
