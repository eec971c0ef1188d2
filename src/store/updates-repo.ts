// Image updates in the store: the last check of each container (replaced per
// host each cycle) and every update run, written when it starts and completed
// once when it ends, as stack deployments are.
import type { Selectable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso, serializableTransaction } from './db.ts';
import type { UpdateChecksTable, UpdateRunsTable } from './schema.ts';

export type UpdateCheckRow = Selectable<UpdateChecksTable>;
export type UpdateRunRow = Selectable<UpdateRunsTable>;
export type UpdateRunStatus = 'running' | 'updated' | 'rolled_back' | 'failed' | 'unchanged' | 'interrupted';

export class UpdatesRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  /** The checks of one host, all at once: containers gone since the last cycle leave with it. */
  async replaceChecks(hostId: string, rows: UpdateCheckRow[]): Promise<void> {
    // Serializable: see InventoryRepo.replace.
    await serializableTransaction(this.db, async (tx) => {
      await tx.deleteFrom('update_checks').where('host_id', '=', hostId).execute();
      for (let i = 0; i < rows.length; i += 200) await tx.insertInto('update_checks').values(rows.slice(i, i + 200)).execute();
    });
  }

  async checks(filter: { hostId?: string; status?: string } = {}): Promise<UpdateCheckRow[]> {
    let q = this.db.selectFrom('update_checks').selectAll();
    if (filter.hostId) q = q.where('host_id', '=', filter.hostId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return q.orderBy('host_id').orderBy('container_name').execute();
  }

  async check(hostId: string, containerIdOrName: string): Promise<UpdateCheckRow | undefined> {
    return this.db.selectFrom('update_checks').selectAll().where('host_id', '=', hostId)
      .where((eb) => eb.or([eb('container_id', '=', containerIdOrName), eb('container_name', '=', containerIdOrName.replace(/^\//, ''))]))
      .executeTakeFirst();
  }

  /** After an update: the check follows the new container, up to date at the digest it now runs. */
  async markUpdated(hostId: string, oldContainerId: string, newContainerId: string, digest: string | null): Promise<void> {
    await this.db.updateTable('update_checks').set({
      container_id: newContainerId, status: 'up_to_date', ...(digest ? { current_digest: digest, available_digest: digest } : {}), checked_at: nowIso(),
    }).where('host_id', '=', hostId).where('container_id', '=', oldContainerId).execute();
  }

  async startRun(row: Omit<UpdateRunsTable, 'status' | 'finished_at' | 'duration_ms' | 'reason' | 'new_container_id' | 'to_digest' | 'steps'>): Promise<void> {
    await this.db.insertInto('update_runs').values({ ...row, status: 'running', finished_at: null, duration_ms: null, reason: null, new_container_id: null, to_digest: null, steps: '[]' }).execute();
  }

  async appendStep(id: string, step: unknown): Promise<void> {
    const row = await this.run(id);
    if (!row || row.status !== 'running') return;
    const steps = JSON.parse(row.steps) as unknown[];
    steps.push(step);
    // Only while still running: a late step must not overwrite the steps the outcome stored.
    await this.db.updateTable('update_runs').set({ steps: JSON.stringify(steps) }).where('id', '=', id).where('status', '=', 'running').execute();
  }

  /** Completes a run once; a second outcome for the same run (a replayed journal) changes nothing. */
  async finishRun(id: string, result: { status: Exclude<UpdateRunStatus, 'running'>; reason?: string; newContainerId?: string; toDigest?: string; durationMs: number; steps?: unknown[] }): Promise<boolean> {
    const res = await this.db.updateTable('update_runs').set({
      status: result.status, reason: result.reason ?? null, new_container_id: result.newContainerId ?? null, to_digest: result.toDigest ?? null,
      duration_ms: Math.round(result.durationMs), finished_at: nowIso(), ...(result.steps ? { steps: JSON.stringify(result.steps) } : {}),
    }).where('id', '=', id).where('status', 'in', ['running', 'interrupted']).executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async run(id: string): Promise<UpdateRunRow | undefined> {
    return this.db.selectFrom('update_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async runs(filter: { hostId?: string; container?: string; trigger?: string; status?: string; limit?: number } = {}): Promise<UpdateRunRow[]> {
    let q = this.db.selectFrom('update_runs').selectAll();
    if (filter.hostId) q = q.where('host_id', '=', filter.hostId);
    if (filter.container) q = q.where('container_name', '=', filter.container);
    if (filter.trigger) q = q.where('trigger', '=', filter.trigger);
    if (filter.status) q = q.where('status', '=', filter.status);
    return q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(filter.limit ?? 100).execute();
  }

  /**
   * At start-up: runs the server itself was doing on direct hosts did not finish here (its journal
   * puts the containers back); runs on agent hosts stay running — the agent finishes them and reports.
   */
  async markInterrupted(directHostIds: string[]): Promise<number> {
    if (directHostIds.length === 0) return 0;
    const res = await this.db.updateTable('update_runs').set({ status: 'interrupted', finished_at: nowIso(), reason: 'the server stopped during this update' })
      .where('status', '=', 'running').where('host_id', 'in', directHostIds).executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}
