// The audit log: who did what to which target, when, and how it ended.
import type { Db } from './db.ts';
import { nowIso } from './db.ts';
import type { AuditLogTable } from './schema.ts';
import type { Insertable, Selectable } from 'kysely';

export type AuditEntry = Selectable<AuditLogTable>;
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'>;

/** Queued entries are written together at most this long after the first of them. */
const BATCH_DELAY_MS = 20;
const BATCH_MAX = 200;

export class AuditRepo {
  private readonly db: Db;
  private queued: Insertable<AuditLogTable>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  /** Told when queued entries cannot be written (their requests have long been answered). */
  onBatchError: (err: unknown, lost: number) => void = () => {};
  /** Told of every entry as it is recorded (the live stream of the dashboard). */
  onRecorded: (entry: Omit<AuditEntry, 'id'>) => void = () => {};

  constructor(db: Db) {
    this.db = db;
  }

  async record(entry: NewAuditEntry): Promise<void> {
    const row = { ...entry, at: nowIso() };
    await this.db.insertInto('audit_log').values(row).execute();
    this.onRecorded(row);
  }

  /**
   * Records an entry in the next batch: a busy endpoint (the Docker API, where one
   * `docker` command is several calls) then pays one statement per batch instead of
   * one per call. The entry is stamped now; it reaches the table within
   * BATCH_DELAY_MS, and before any query() or close().
   */
  recordSoon(entry: NewAuditEntry): void {
    const row = { ...entry, at: nowIso() };
    this.queued.push(row);
    this.onRecorded(row);
    if (this.queued.length >= BATCH_MAX) void this.flush();
    else this.timer ??= setTimeout(() => void this.flush(), BATCH_DELAY_MS);
  }

  /** Writes every queued entry; resolves when they are in the table. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queued;
    this.queued = [];
    if (batch.length) {
      // Batches are written in order, one after another.
      this.flushing = this.flushing.then(() => this.write(batch));
    }
    return this.flushing;
  }

  /** One statement for the batch; if it fails, row by row, so one bad entry loses only itself. */
  private async write(batch: Insertable<AuditLogTable>[]): Promise<void> {
    try {
      await this.db.insertInto('audit_log').values(batch).execute();
      return;
    } catch (err) {
      if (batch.length === 1) return this.onBatchError(err, 1);
    }
    for (const row of batch) {
      try {
        await this.db.insertInto('audit_log').values(row).execute();
      } catch (err) {
        this.onBatchError(err, 1);
      }
    }
  }

  async query(q: { limit: number; beforeId?: number; username?: string; action?: string; target?: string }): Promise<AuditEntry[]> {
    await this.flush();
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.beforeId) query = query.where('id', '<', q.beforeId);
    if (q.username) query = query.where('username', '=', q.username);
    if (q.action) query = query.where('action', '=', q.action);
    if (q.target) query = query.where('target', '=', q.target);
    return query.execute();
  }
}
