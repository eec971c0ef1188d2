// Registered hosts and their status history. Status changes go through
// setStatus so that each one is recorded with its reason.
import { sql, type Selectable, type Updateable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { HostStatus, HostsTable, HostStatusHistoryTable } from './schema.ts';

export type HostRow = Selectable<HostsTable>;
export type StatusChange = Selectable<HostStatusHistoryTable>;

/** One agent's heartbeat as stored: when it arrived and what the agent said of itself. */
export interface HeartbeatWrite {
  id: string;
  at: string;
  agentVersion: string;
  agentFeatures: string;
}

/** Hosts per heartbeat UPDATE: 7 parameters each, well under SQLite's and PostgreSQL's limits. */
const HEARTBEAT_CHUNK = 500;

export class HostsRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  async insert(row: HostsTable): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('hosts').values(row).execute();
      await tx.insertInto('host_status_history').values({
        host_id: row.id, from_status: row.status, to_status: row.status, reason: 'registered', at: row.created_at,
      }).execute();
    });
  }

  async list(): Promise<HostRow[]> {
    return this.db.selectFrom('hosts').selectAll().orderBy('name').execute();
  }

  /** By id or by name. */
  async find(idOrName: string): Promise<HostRow | undefined> {
    return this.db.selectFrom('hosts').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
  }

  /** Other hosts that reported the same engine (SPEC S8). */
  async withEngineId(engineId: string, exceptId: string): Promise<HostRow[]> {
    return this.db.selectFrom('hosts').selectAll().where('engine_id', '=', engineId).where('id', '!=', exceptId).execute();
  }

  async update(id: string, patch: Updateable<HostsTable>): Promise<void> {
    await this.db.updateTable('hosts').set(patch).where('id', '=', id).execute();
  }

  /**
   * Many agents' heartbeats in one UPDATE (per 500 hosts), each row getting its own values through CASE:
   * thousands of agents beating every 10 s cost one statement a second instead of one each.
   */
  async recordHeartbeats(beats: HeartbeatWrite[]): Promise<void> {
    for (let i = 0; i < beats.length; i += HEARTBEAT_CHUNK) {
      const chunk = beats.slice(i, i + HEARTBEAT_CHUNK);
      const byId = (value: (b: HeartbeatWrite) => string) => sql<string>`CASE id ${sql.join(chunk.map((b) => sql`WHEN ${b.id} THEN ${value(b)}`), sql` `)} END`;
      await this.db.updateTable('hosts').set({
        last_seen_at: byId((b) => b.at), agent_version: byId((b) => b.agentVersion), agent_features: byId((b) => b.agentFeatures),
      }).where('id', 'in', chunk.map((b) => b.id)).execute();
    }
  }

  /** Stores a host's disk-usage summary (JSON); the figure is replaced, never merged. */
  async setDiskUsage(id: string, json: string): Promise<void> {
    await this.db.updateTable('hosts').set({ disk_usage: json }).where('id', '=', id).execute();
  }

  /** Moves a host to a status; records the change only when the status differs. */
  async setStatus(id: string, to: HostStatus, reason: string | null, extra: Updateable<HostsTable> = {}): Promise<{ from: HostStatus; changed: boolean }> {
    // Serializable: two changes at once must not both record a change from the same status.
    return serializableTransaction(this.db, async (tx) => {
      const cur = await tx.selectFrom('hosts').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!cur) return { from: to, changed: false };
      const at = nowIso();
      const changed = cur.status !== to;
      await tx.updateTable('hosts').set({ ...extra, status: to, status_reason: reason, ...(changed ? { status_changed_at: at } : {}) })
        .where('id', '=', id).execute();
      if (changed) {
        await tx.insertInto('host_status_history').values({ host_id: id, from_status: cur.status, to_status: to, reason, at }).execute();
      }
      return { from: cur.status, changed };
    });
  }

  async history(id: string, limit: number): Promise<StatusChange[]> {
    return this.db.selectFrom('host_status_history').selectAll().where('host_id', '=', id).orderBy('id', 'desc').limit(limit).execute();
  }

  /** Removes a host; hosts flagged as its duplicates become sources of their own again. */
  async remove(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('hosts').set({ duplicate_of: null }).where('duplicate_of', '=', id).execute();
      await tx.deleteFrom('hosts').where('id', '=', id).execute();
    });
  }
}
