// Stack deployments: one row per deploy, written when it starts (status running)
// and completed once when it ends, so a deployment is never half-recorded; rows
// still running when the server starts again are marked interrupted.
import type { Selectable } from 'kysely';
import type { Db } from './db.ts';
import { nowIso } from './db.ts';
import type { StackDeploymentsTable } from './schema.ts';

export type DeploymentRow = Selectable<StackDeploymentsTable>;

export class DeploymentsRepo {
  private readonly db: Db;
  constructor(db: Db) {
    this.db = db;
  }

  async start(row: Omit<StackDeploymentsTable, 'status' | 'finished_at' | 'duration_ms' | 'outcome' | 'error' | 'warnings'>): Promise<void> {
    await this.db.insertInto('stack_deployments').values({ ...row, status: 'running', finished_at: null, duration_ms: null, outcome: null, error: null, warnings: null }).execute();
  }

  async finish(id: string, result: { status: 'succeeded' | 'failed' | 'rolled_back' | 'aborted'; outcome: unknown; error: string | null; warnings: string[]; durationMs: number }): Promise<void> {
    await this.db.updateTable('stack_deployments').set({
      status: result.status, outcome: JSON.stringify(result.outcome), error: result.error, warnings: JSON.stringify(result.warnings),
      duration_ms: Math.round(result.durationMs), finished_at: nowIso(),
    }).where('id', '=', id).execute();
  }

  async find(id: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom('stack_deployments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(clusterId: string, stack?: string, limit = 100): Promise<DeploymentRow[]> {
    let q = this.db.selectFrom('stack_deployments').selectAll().where('cluster_id', '=', clusterId);
    if (stack) q = q.where('stack', '=', stack);
    return q.orderBy('started_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async running(clusterId: string, stack: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom('stack_deployments').selectAll().where('cluster_id', '=', clusterId).where('stack', '=', stack).where('status', '=', 'running').executeTakeFirst();
  }

  /** At start-up: a deploy that was running when the server stopped did not finish here. */
  async markInterrupted(): Promise<number> {
    const res = await this.db.updateTable('stack_deployments').set({ status: 'interrupted', finished_at: nowIso(), error: 'the server stopped while this deploy ran' })
      .where('status', '=', 'running').executeTakeFirst();
    return Number(res.numUpdatedRows);
  }
}
