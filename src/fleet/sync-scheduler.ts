// Decides when each host (or Swarm cluster) is synced: every one on its own
// interval, many at once with bounded parallelism, so one slow or dead host only
// holds its own slot and never delays the others. Rows and due times live in
// memory between full reads of the store (RESCAN_MS, or sooner when told of a change).
import pLimit from 'p-limit';

const TICK_MS = 1000;
/**
 * A full read of every row at most this often; ticks in between decide from memory. Listing 5,000 hosts
 * took 12.6 ms, every second, to find the few that were due. New, changed and resumed rows come through
 * dueNow() (a read on the next tick); a row synced since it was read is read again before its next sync.
 */
export const RESCAN_MS = 10_000;

/** What the scheduler needs of a syncable row: hosts and Swarm clusters both are. */
export interface Syncable {
  id: string;
  status: string;
  sync_interval_s: number;
}

export interface Syncer<Row, Result> {
  /** Every row: read every RESCAN_MS, and on the next tick after dueNow() or forget(). */
  list(): Promise<Row[]>;
  sync(row: Row): Promise<Result>;
  abortAll(): void;
}

export class SyncScheduler<Row extends Syncable, Result> {
  private readonly syncer: Syncer<Row, Result>;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly nextDue = new Map<string, number>();
  private readonly running = new Map<string, Promise<Result>>();
  /** The rows as last read, and when (Date.now()); `stale` asks the next tick to read them again. */
  private rows = new Map<string, Row>();
  private readAt = 0;
  private stale = true;
  /** When each row's last sync ended: a row read before that may have moved (status, error) and is read again. */
  private readonly syncedAt = new Map<string, number>();
  /** Full reads of the rows so far: what a test counts. */
  listCalls = 0;
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
    this.stale = true; // a new or changed row: read it before syncing it
  }

  forget(hostId: string): void {
    this.nextDue.delete(hostId);
    this.rows.delete(hostId);
    this.syncedAt.delete(hostId);
  }

  /** Runs one host's sync now, or joins the one already running. */
  syncNow(host: Row): Promise<Result> {
    const running = this.running.get(host.id);
    if (running) return running;
    const job = this.limit(() => this.syncer.sync(host)).then((result) => {
      this.nextDue.set(host.id, Date.now() + host.sync_interval_s * 1000);
      this.syncedAt.set(host.id, Date.now());
      this.afterSync(host, result);
      return result;
    }).finally(() => this.running.delete(host.id));
    this.running.set(host.id, job);
    return job;
  }

  private async tick(): Promise<void> {
    if (!this.timer) return;
    const now = Date.now();
    const due = (row: Row) => (this.nextDue.get(row.id) ?? 0) <= now;
    // A due row synced since it was read (its status may have moved, to error or maintenance): read first.
    if (!this.stale && now - this.readAt < RESCAN_MS) {
      for (const row of this.rows.values()) {
        if (due(row) && (this.syncedAt.get(row.id) ?? 0) >= this.readAt) {
          this.stale = true;
          break;
        }
      }
    }
    if (this.stale || now - this.readAt >= RESCAN_MS) {
      this.stale = false; // a dueNow() during the read asks for the next one
      try {
        this.listCalls++;
        const rows = await this.syncer.list();
        this.rows = new Map(rows.map((r) => [r.id, r]));
        this.readAt = now;
      } catch {
        this.stale = true;
        return; // store closing; the next tick retries
      }
    }
    for (const host of this.rows.values()) {
      if (host.status === 'maintenance' || host.status === 'error' || this.running.has(host.id) || !this.canSync(host)) continue;
      if (due(host)) void this.syncNow(host);
    }
  }
}
