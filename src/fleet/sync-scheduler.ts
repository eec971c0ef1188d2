// Decides when each host (or Swarm cluster) is synced: every one on its own
// interval, many at once with bounded parallelism, so one slow or dead host only
// holds its own slot and never delays the others.
import pLimit from 'p-limit';

const TICK_MS = 1000;

/** What the scheduler needs of a syncable row: hosts and Swarm clusters both are. */
export interface Syncable {
  id: string;
  status: string;
  sync_interval_s: number;
}

export interface Syncer<Row, Result> {
  /** Every row, read each tick. */
  list(): Promise<Row[]>;
  sync(row: Row): Promise<Result>;
  abortAll(): void;
}

export class SyncScheduler<Row extends Syncable, Result> {
  private readonly syncer: Syncer<Row, Result>;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly nextDue = new Map<string, number>();
  private readonly running = new Map<string, Promise<Result>>();
  private timer: NodeJS.Timeout | undefined;
  private afterSync: (host: Row, result: Result) => void = () => undefined;
  /** Rows the timer may sync (not duplicates, agents only while connected); manual syncs ignore it. */
  canSync: (host: Row) => boolean = () => true;

  constructor(syncer: Syncer<Row, Result>, concurrency: number) {
    this.syncer = syncer;
    this.limit = pLimit(concurrency);
  }

  onSynced(fn: (host: Row, result: Result) => void): void {
    this.afterSync = fn;
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.limit.clearQueue();
    this.syncer.abortAll();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Sync as soon as a slot is free (new host, lost event stream). */
  dueNow(hostId: string): void {
    this.nextDue.set(hostId, 0);
  }

  forget(hostId: string): void {
    this.nextDue.delete(hostId);
  }

  /** Runs one host's sync now, or joins the one already running. */
  syncNow(host: Row): Promise<Result> {
    const running = this.running.get(host.id);
    if (running) return running;
    const job = this.limit(() => this.syncer.sync(host)).then((result) => {
      this.nextDue.set(host.id, Date.now() + host.sync_interval_s * 1000);
      this.afterSync(host, result);
      return result;
    }).finally(() => this.running.delete(host.id));
    this.running.set(host.id, job);
    return job;
  }

  private async tick(): Promise<void> {
    if (!this.timer) return;
    const now = Date.now();
    let hosts: Row[];
    try {
      hosts = await this.syncer.list();
    } catch {
      return; // store closing; the next tick retries
    }
    for (const host of hosts) {
      if (host.status === 'maintenance' || host.status === 'error' || this.running.has(host.id) || !this.canSync(host)) continue;
      if ((this.nextDue.get(host.id) ?? 0) <= now) void this.syncNow(host);
    }
  }
}
