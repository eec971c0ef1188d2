// Swarm clusters, their status history and their synced inventory (nodes,
// services, tasks, networks, secrets, configs), replaced per cluster and kind.
import type { Selectable, Updateable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { ClusterStatus, SwarmClustersTable, SwarmInventoryKind, SwarmStatusHistoryTable } from './schema.ts';
import type { InventoryItem } from './inventory-repo.ts';
import type { HostRow } from './hosts-repo.ts';

export type ClusterRow = Selectable<SwarmClustersTable>;
export type ClusterStatusChange = Selectable<SwarmStatusHistoryTable>;

export class SwarmRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  async insert(row: SwarmClustersTable): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('swarm_clusters').values(row).execute();
      await tx.insertInto('swarm_status_history').values({
        cluster_id: row.id, from_status: row.status, to_status: row.status, reason: row.status_reason, at: row.created_at,
      }).execute();
    });
  }

  async list(): Promise<ClusterRow[]> {
    return this.db.selectFrom('swarm_clusters').selectAll().orderBy('name').execute();
  }

  /** By Swarm ID or by name. */
  async find(idOrName: string): Promise<ClusterRow | undefined> {
    return this.db.selectFrom('swarm_clusters').selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)])).executeTakeFirst();
  }

  async update(id: string, patch: Updateable<SwarmClustersTable>): Promise<void> {
    await this.db.updateTable('swarm_clusters').set(patch).where('id', '=', id).execute();
  }

  /** Moves a cluster to a status; records the change only when the status differs. */
  async setStatus(id: string, to: ClusterStatus, reason: string | null, extra: Updateable<SwarmClustersTable> = {}): Promise<{ from: ClusterStatus; changed: boolean }> {
    return serializableTransaction(this.db, async (tx) => {
      const cur = await tx.selectFrom('swarm_clusters').select(['status']).where('id', '=', id).executeTakeFirst();
      if (!cur) return { from: to, changed: false };
      const at = nowIso();
      const changed = cur.status !== to;
      await tx.updateTable('swarm_clusters').set({ ...extra, status: to, status_reason: reason, ...(changed ? { status_changed_at: at } : {}) })
        .where('id', '=', id).execute();
      if (changed) await tx.insertInto('swarm_status_history').values({ cluster_id: id, from_status: cur.status, to_status: to, reason, at }).execute();
      return { from: cur.status, changed };
    });
  }

  async history(id: string, limit: number): Promise<ClusterStatusChange[]> {
    return this.db.selectFrom('swarm_status_history').selectAll().where('cluster_id', '=', id).orderBy('id', 'desc').limit(limit).execute();
  }

  /** Forgets a cluster (its inventory and history go with it); its hosts stay registered, unlinked. */
  async remove(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('hosts').set({ swarm_cluster_id: null }).where('swarm_cluster_id', '=', id).execute();
      await tx.deleteFrom('swarm_clusters').where('id', '=', id).execute();
    });
  }

  /** Replaces everything of the given kinds in one transaction, so a reader never sees half a sync (serializable: see InventoryRepo.replace). */
  async replaceInventory(clusterId: string, byKind: Partial<Record<SwarmInventoryKind, InventoryItem[]>>): Promise<void> {
    const at = nowIso();
    await serializableTransaction(this.db, async (tx) => {
      for (const [kind, items] of Object.entries(byKind) as [SwarmInventoryKind, InventoryItem[]][]) {
        await tx.deleteFrom('swarm_inventory').where('cluster_id', '=', clusterId).where('kind', '=', kind).execute();
        for (let i = 0; i < items.length; i += 100) {
          await tx.insertInto('swarm_inventory').values(items.slice(i, i + 100).map((it) => ({
            cluster_id: clusterId, kind, object_id: it.objectId, name: it.name, data: JSON.stringify(it.data), updated_at: at,
          }))).execute();
        }
      }
    });
  }

  async inventory<T = unknown>(clusterId: string, kind: SwarmInventoryKind): Promise<T[]> {
    const rows = await this.db.selectFrom('swarm_inventory').select('data').where('cluster_id', '=', clusterId).where('kind', '=', kind)
      .orderBy('name').orderBy('object_id').execute();
    return rows.map((r) => JSON.parse(r.data) as T);
  }

  /** Registered hosts that are nodes of the cluster. */
  async hostsOf(clusterId: string): Promise<HostRow[]> {
    return this.db.selectFrom('hosts').selectAll().where('swarm_cluster_id', '=', clusterId).orderBy('name').execute();
  }

  /** Hosts linked to a cluster, and the links a cluster sync found (node ID → cluster). */
  async linkHosts(clusterId: string, nodeIds: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      let unlink = tx.updateTable('hosts').set({ swarm_cluster_id: null }).where('swarm_cluster_id', '=', clusterId);
      if (nodeIds.length) unlink = unlink.where((eb) => eb.or([eb('swarm_node_id', 'is', null), eb('swarm_node_id', 'not in', nodeIds)]));
      await unlink.execute();
      if (nodeIds.length) await tx.updateTable('hosts').set({ swarm_cluster_id: clusterId }).where('swarm_node_id', 'in', nodeIds).where('swarm_state', '=', 'active').execute();
    });
  }
}
