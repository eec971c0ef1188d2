// Stacks of a cluster: deploy a Compose file natively (load → convert → apply →
// wait for convergence), every deploy recorded as a deployment; redeploy a
// recorded one (that is rollback); diff two; status; remove. Two deploys of one
// stack never run at once.
import crypto from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { DeploymentRow } from '../store/deployments-repo.ts';
import { nowIso } from '../store/db.ts';
import { BadRequest, Conflict, NotFound } from '../errors.ts';
import type { Swarm } from '../swarm/swarm.ts';
import { SwarmServices, type SpecGate } from '../swarm/services.ts';
import { waitForConvergence, type ConvergeDone } from '../swarm/service-convergence.ts';
import { inspectService, updateService } from '../docker/swarm.ts';
import { STRATEGIES } from './strategies/index.ts';
import type { StrategyName, StrategyOptions } from './strategies/types.ts';
import { listServices } from '../docker/swarm.ts';
import { STACK_LABEL } from '../swarm/stacks.ts';
import { loadCompose } from './compose/index.ts';
import { convertStack } from './convert/index.ts';
import { StackDeployer, type DeployStep, type ResolveImage, type ServiceChange } from './deploy.ts';
import { KEEP_EXISTING_SECRET, secretFilePaths } from './secret-files.ts';
import type { StackInput, StackPlan } from './types.ts';

export const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const CONVERGE_TIMEOUT_MS = 300_000;
/** A deploy answers when its services converge: poll often enough that the answer is not late by much. */
const CONVERGE_POLL_MS = 200;

export interface DeployRequest extends StackInput {
  stack: string;
  prune?: boolean;
  resolveImage?: ResolveImage;
  /** rolling (the engine's update config, then Flotilla's rollback on failure), blue-green or canary. */
  strategy?: StrategyName;
  strategyOptions?: StrategyOptions;
  convergeTimeoutMs?: number;
}

export interface ServiceOutcome {
  name: string;
  /** not_applied: the deploy failed before reaching this service. */
  action: ServiceChange['action'] | 'not_applied';
  outcome: ConvergeDone['outcome'] | 'not_waited' | 'aborted';
  message: string;
  running?: number;
  desired?: number;
}

export type DeployEvent = DeployStep | { type: 'converge'; service: string; outcome: string; message: string } | { type: 'deployment'; id: string; status: string };

export class Stacks {
  private readonly swarm: Swarm;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly services: SwarmServices;
  private readonly deployer: StackDeployer;
  private readonly running = new Map<string, string>();
  /** Running deploys by deployment ID: abort() signals them. */
  private readonly aborts = new Map<string, AbortController>();

  constructor(deps: { swarm: Swarm; store: Store; log: Logger }) {
    this.swarm = deps.swarm;
    this.store = deps.store;
    this.log = deps.log;
    this.services = new SwarmServices(deps.swarm);
    this.deployer = new StackDeployer(deps.swarm);
  }

  /** Load and convert only: what a deploy would send (400 on a bad file, before anything is recorded). */
  plan(req: DeployRequest): StackPlan {
    if (!STACK_NAME.test(req.stack)) throw new BadRequest('a stack name is 1-63 letters, digits, _ . - starting with a letter or digit', 'body.name');
    if (req.strategy && req.strategy !== 'rolling' && !STRATEGIES[req.strategy]) throw new BadRequest(`strategy "${req.strategy}" is not available on this server`, 'body.strategy');
    return convertStack(loadCompose(req), req.stack);
  }

  async deploy(clusterRef: string, req: DeployRequest, who: { user: string | null; gate: SpecGate; onEvent?: (e: DeployEvent) => void; redeployOf?: string }): Promise<DeploymentRow> {
    const cluster = await this.swarm.row(clusterRef);
    const plan = this.plan(req);
    const key = `${cluster.id}/${req.stack}`;
    const busy = this.running.get(key) ?? (await this.store.deployments.running(cluster.id, req.stack))?.id;
    if (busy) throw new Conflict(`stack "${req.stack}" is being deployed now (deployment ${busy}): wait for it or abort it`);
    const id = crypto.randomUUID();
    this.running.set(key, id);
    try {
      await this.precheck(cluster.id, plan, who.gate);
    } catch (err) {
      this.running.delete(key);
      throw err;
    }
    const started = Date.now();
    const emit = (e: DeployEvent) => who.onEvent?.(e);
    try {
      await this.store.deployments.start({
        id, cluster_id: cluster.id, stack: req.stack, strategy: req.strategy ?? 'rolling', compose: req.compose,
        env: JSON.stringify(req.env ?? {}), files: JSON.stringify(withoutSecretFiles(req)),
        options: JSON.stringify({ prune: req.prune ?? false, resolveImage: req.resolveImage ?? 'always', strategyOptions: req.strategyOptions ?? {} }),
        redeploy_of: who.redeployOf ?? null, started_by: who.user, started_at: nowIso(),
      });
      emit({ type: 'deployment', id, status: 'running' });
      const outcome: ServiceOutcome[] = [];
      const changes: ServiceChange[] = [];
      let error: string | null = null;
      const abort = new AbortController();
      this.aborts.set(id, abort);
      try {
        const strategy = req.strategy && req.strategy !== 'rolling'
          ? { name: req.strategy, run: STRATEGIES[req.strategy]!, options: req.strategyOptions ?? {}, signal: abort.signal }
          : undefined;
        await this.deployer.apply(cluster.id, plan, {
          prune: req.prune ?? false, resolveImage: req.resolveImage ?? 'always', gate: who.gate, onStep: emit, strategy,
        }, changes);
        outcome.push(...(await this.converge(cluster.id, changes, req.convergeTimeoutMs ?? CONVERGE_TIMEOUT_MS, emit, abort.signal)));
        const bad = outcome.filter((o) => o.outcome !== 'converged' && o.outcome !== 'not_waited');
        if (bad.length) error = bad.map((o) => `${o.name}: ${o.outcome} (${o.message})`).join('; ');
      } catch (err) {
        error = abort.signal.aborted ? `aborted: ${(err as Error).message}` : (err as Error).message;
        if (outcome.length === 0) outcome.push(...partialOutcome(plan, changes, error));
        this.log.warn({ stack: req.stack, cluster: cluster.name, err: error }, 'stack deploy failed');
      } finally {
        this.aborts.delete(id);
      }
      const status = deploymentStatus(error, outcome, abort.signal.aborted);
      await this.store.deployments.finish(id, { status, outcome, error, warnings: plan.warnings, durationMs: Date.now() - started });
      emit({ type: 'deployment', id, status });
      return (await this.store.deployments.find(id))!;
    } finally {
      this.running.delete(key);
    }
  }

  /** The admin-only rule on every service before anything is recorded or changed: a refusal is a 403, not a failed deployment. */
  private async precheck(clusterId: string, plan: StackPlan, gate: SpecGate): Promise<void> {
    await this.swarm.withManager(clusterId, async (d, manager) => {
      const existing = new Map((await listServices(d, { filters: { label: [`${STACK_LABEL}=${plan.stack}`] } })).map((s) => [s.Spec.Name, s.ID]));
      for (const s of plan.services) await gate(manager, s.spec, existing.get(s.name));
    });
  }

  /**
   * Waits for every created or updated service, in parallel; unchanged and removed
   * ones are not waited for, and a strategy has already waited for its own. A
   * rolling update that pauses (task failures over the service's threshold, a
   * failing healthcheck), times out or is aborted is rolled back with the
   * engine's rollback, and the reason recorded.
   */
  private async converge(clusterId: string, changes: ServiceChange[], timeoutMs: number, emit: (e: DeployEvent) => void, signal: AbortSignal): Promise<ServiceOutcome[]> {
    return Promise.all(changes.map(async (c): Promise<ServiceOutcome> => {
      if (c.action === 'unchanged' || c.action === 'removed') return { name: c.name, action: c.action, outcome: 'not_waited', message: c.action };
      if (c.strategy) {
        emit({ type: 'converge', service: c.name, outcome: c.strategy.outcome, message: c.strategy.message });
        return { name: c.name, action: c.action, outcome: c.strategy.outcome, message: `${c.strategy.name}: ${c.strategy.message}` };
      }
      let done: ConvergeDone;
      try {
        done = await waitForConvergence(this.swarm, this.services, clusterId, c.id, { timeoutMs, expect: c.action === 'updated' ? 'update' : 'any', signal, pollMs: CONVERGE_POLL_MS });
      } catch (err) {
        if (!signal.aborted) throw err;
        if (c.action !== 'updated') return { name: c.name, action: c.action, outcome: 'aborted', message: 'aborted by the user while it converged' };
        return this.rollBack(clusterId, c, 'aborted by the user', timeoutMs, emit);
      }
      if (signal.aborted && c.action === 'updated') return this.rollBack(clusterId, c, 'aborted by the user', timeoutMs, emit);
      emit({ type: 'converge', service: c.name, outcome: done.outcome, message: done.message });
      const result: ServiceOutcome = { name: c.name, action: c.action, outcome: done.outcome, message: done.message, running: done.running, desired: done.desired };
      if (c.action !== 'updated' || done.outcome === 'converged' || done.outcome === 'rolled_back' || done.outcome === 'removed') return result;
      return this.rollBack(clusterId, c, signal.aborted ? 'aborted by the user' : `${done.outcome}: ${done.message}`, timeoutMs, emit);
    }));
  }

  /** The engine's rollback to the previous spec (as `docker service rollback`), then waits for it. */
  private async rollBack(clusterId: string, c: ServiceChange, why: string, timeoutMs: number, emit: (e: DeployEvent) => void): Promise<ServiceOutcome> {
    try {
      await this.swarm.withManager(clusterId, async (d) => {
        const svc = await inspectService(d, c.id);
        await updateService(d, c.id, svc.Version.Index, svc.Spec, { rollback: 'previous' });
      });
      const back = await waitForConvergence(this.swarm, this.services, clusterId, c.id, { timeoutMs, expect: 'any' });
      const message = `rolled back (${why}); the previous spec is ${back.outcome === 'converged' ? 'running again' : `${back.outcome}: ${back.message}`}`;
      emit({ type: 'converge', service: c.name, outcome: why.startsWith('aborted') ? 'aborted' : 'rolled_back', message });
      return { name: c.name, action: c.action, outcome: why.startsWith('aborted') ? 'aborted' : 'rolled_back', message, running: back.running, desired: back.desired };
    } catch (err) {
      return { name: c.name, action: c.action, outcome: 'paused', message: `${why}; the rollback failed too: ${(err as Error).message}` };
    }
  }

  /** Aborts a running deploy: what it updated is rolled back. */
  abort(clusterRef: string, deploymentId: string): Promise<DeploymentRow> {
    return this.deployment(clusterRef, deploymentId).then((row) => {
      const ctl = this.aborts.get(row.id);
      if (!ctl) throw new Conflict(`deployment ${row.id} is ${row.status}, not running on this server`);
      ctl.abort(new Error('aborted by the user'));
      return row;
    });
  }

  /** Deploys a recorded deployment again (rollback). Secrets whose content Flotilla never kept must still exist in the cluster. */
  async redeploy(clusterRef: string, deploymentId: string, who: { user: string | null; gate: SpecGate; onEvent?: (e: DeployEvent) => void }): Promise<DeploymentRow> {
    const row = await this.deployment(clusterRef, deploymentId);
    return this.deploy(clusterRef, requestOf(row), { ...who, redeployOf: row.id });
  }

  async deployment(clusterRef: string, id: string): Promise<DeploymentRow> {
    const cluster = await this.swarm.row(clusterRef);
    const row = await this.store.deployments.find(id);
    if (!row || row.cluster_id !== cluster.id) throw new NotFound(`deployment "${id}" not found in cluster "${cluster.name}"`);
    return row;
  }

  async deployments(clusterRef: string, stack?: string): Promise<DeploymentRow[]> {
    return this.store.deployments.list((await this.swarm.row(clusterRef)).id, stack);
  }

  /** The services of a stack as two deployments would make them: added, removed, and the fields that differ. */
  async diff(clusterRef: string, fromId: string, toId: string): Promise<{ from: string; to: string; services: { name: string; change: 'added' | 'removed' | 'changed'; fields: string[] }[] }> {
    const [a, b] = await Promise.all([this.deployment(clusterRef, fromId), this.deployment(clusterRef, toId)]);
    const pa = this.plan(requestOf(a));
    const pb = this.plan(requestOf(b));
    const before = new Map(pa.services.map((s) => [s.name, s.spec]));
    const after = new Map(pb.services.map((s) => [s.name, s.spec]));
    const out: { name: string; change: 'added' | 'removed' | 'changed'; fields: string[] }[] = [];
    for (const [name, spec] of after) {
      const old = before.get(name);
      if (!old) out.push({ name, change: 'added', fields: [] });
      else {
        const fields = changedPaths(old, spec);
        if (fields.length) out.push({ name, change: 'changed', fields });
      }
    }
    for (const name of before.keys()) if (!after.has(name)) out.push({ name, change: 'removed', fields: [] });
    return { from: a.id, to: b.id, services: out.sort((x, y) => x.name.localeCompare(y.name)) };
  }
}

function deploymentStatus(error: string | null, outcome: ServiceOutcome[], aborted: boolean): 'succeeded' | 'failed' | 'rolled_back' | 'aborted' {
  if (aborted) return 'aborted';
  if (!error) return 'succeeded';
  return outcome.some((o) => o.outcome === 'rolled_back') && outcome.every((o) => ['rolled_back', 'converged', 'not_waited'].includes(o.outcome)) ? 'rolled_back' : 'failed';
}

/** A stored deployment as a request again; secret files were never stored, so they stand for "the secret as it is in the cluster". */
function requestOf(row: DeploymentRow): DeployRequest {
  const files = JSON.parse(row.files) as Record<string, string>;
  for (const p of secretFilePaths(row.compose)) files[p] ??= KEEP_EXISTING_SECRET;
  const options = JSON.parse(row.options) as { prune: boolean; resolveImage: ResolveImage; strategyOptions?: StrategyOptions };
  return {
    stack: row.stack, compose: row.compose, env: JSON.parse(row.env) as Record<string, string>, files, prune: options.prune, resolveImage: options.resolveImage,
    strategy: row.strategy as StrategyName, strategyOptions: options.strategyOptions,
  };
}

function withoutSecretFiles(req: DeployRequest): Record<string, string> {
  const secret = new Set(secretFilePaths(req.compose));
  return Object.fromEntries(Object.entries(req.files ?? {}).filter(([p]) => !secret.has(p)));
}

/** Dotted paths where two JSON values differ (arrays compared whole). */
export function changedPaths(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(a) || !isObj(b)) return [at || '(root)'];
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  return [...keys].sort().flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
}


/** A deploy that failed while applying: what was applied (not waited for) and what was not reached. */
function partialOutcome(plan: StackPlan, changes: ServiceChange[], error: string): ServiceOutcome[] {
  const done = new Map(changes.map((c) => [c.name, c]));
  const applied = changes.map((c): ServiceOutcome => ({ name: c.name, action: c.action, outcome: 'not_waited', message: 'applied before the deploy failed; not waited for' }));
  const missed = plan.services.filter((s) => !done.has(s.name))
    .map((s): ServiceOutcome => ({ name: s.name, action: 'not_applied', outcome: 'not_waited', message: `not applied: ${error}` }));
  return [...applied, ...missed];
}
