// The synced inventory: each host's containers, images, networks and volumes as
// the engine last reported them (raw Docker JSON), replaced per host and kind.
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { InventoryKind } from './schema.ts';

export interface InventoryItem {
  objectId: string;
  name: string | null;
  data: unknown;
}

export class InventoryRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /**
   * Replaces everything of one kind on one host in one transaction. Serializable:
   * on PostgreSQL two replaces at once (a sync and an event refresh) would
   * otherwise both insert after both deleted.
   */
  async replace(hostId: string, kind: InventoryKind, items: InventoryItem[]): Promise<void> {
    const at = nowIso();
    await serializableTransaction(this.db, async (tx) => {
      await tx.deleteFrom('inventory').where('host_id', '=', hostId).where('kind', '=', kind).execute();
      // Chunked: SQLite limits bound parameters per statement.
      for (let i = 0; i < items.length; i += 100) {
        const rows = items.slice(i, i + 100).map((it) => ({
          host_id: hostId, kind, object_id: it.objectId, name: it.name, data: JSON.stringify(it.data), updated_at: at,
        }));
        await tx.insertInto('inventory').values(rows).execute();
      }
    });
  }

  async list<T = unknown>(hostId: string, kind: InventoryKind): Promise<T[]> {
    const rows = await this.db.selectFrom('inventory').select('data').where('host_id', '=', hostId).where('kind', '=', kind)
      .orderBy('object_id').execute();
    return rows.map((r) => JSON.parse(r.data) as T);
  }

  /**
   * Hosts holding an object that a reference names, by the indexes on (kind,
   * object_id) and (kind, name): an exact id or name wins; otherwise an id prefix
   * of at least `minPrefix` characters, as `docker` accepts one.
   */
  async hostsMatching(kind: InventoryKind, ref: string, minPrefix = 3): Promise<string[]> {
    // Two lookups, not one OR: SQLite would then search by kind alone.
    const byId = await this.db.selectFrom('inventory').select('host_id').where('kind', '=', kind).where('object_id', '=', ref).execute();
    const byName = await this.db.selectFrom('inventory').select('host_id').where('kind', '=', kind).where('name', '=', ref).execute();
    const exact = [...new Set([...byId, ...byName].map((r) => r.host_id))];
    if (exact.length || ref.length < minPrefix) return exact;
    // A range on the index rather than LIKE, which SQLite would not serve from it.
    const prefix = await this.db.selectFrom('inventory').select('host_id').distinct().where('kind', '=', kind)
      .where('object_id', '>=', ref).where('object_id', '<', `${ref}\u{10FFFF}`).execute();
    return prefix.map((r) => r.host_id);
  }

  /** Per host: when its inventory of this kind was last replaced, and how many objects (to tell whether a cached view is current). */
  async stamps(kind: InventoryKind): Promise<{ hostId: string; updatedAt: string; count: number }[]> {
    const rows = await this.db.selectFrom('inventory').select((eb) => ['host_id', eb.fn.max('updated_at').as('at'), eb.fn.countAll<number>().as('n')])
      .where('kind', '=', kind).groupBy('host_id').execute();
    return rows.map((r) => ({ hostId: r.host_id, updatedAt: String(r.at), count: Number(r.n) }));
  }

  async listAll<T = unknown>(kind: InventoryKind): Promise<{ hostId: string; data: T }[]> {
    const rows = await this.db.selectFrom('inventory').select(['host_id', 'data']).where('kind', '=', kind).execute();
    return rows.map((r) => ({ hostId: r.host_id, data: JSON.parse(r.data) as T }));
  }
}
