// The audit log: who did what to which target, when, and how it ended.
import type { Db } from './db.ts';
import { nowIso } from './db.ts';
import type { AuditLogTable } from './schema.ts';
import type { Selectable } from 'kysely';

export type AuditEntry = Selectable<AuditLogTable>;
export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'>;

export class AuditRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  async record(entry: NewAuditEntry): Promise<void> {
    await this.db.insertInto('audit_log').values({ ...entry, at: nowIso() }).execute();
  }

  async query(q: { limit: number; beforeId?: number; username?: string; action?: string; target?: string }): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(q.limit);
    if (q.beforeId) query = query.where('id', '<', q.beforeId);
    if (q.username) query = query.where('username', '=', q.username);
    if (q.action) query = query.where('action', '=', q.action);
    if (q.target) query = query.where('target', '=', q.target);
    return query.execute();
  }
}
