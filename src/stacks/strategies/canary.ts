// Canary (SPEC W6): the new version of one stack service runs as a service of
// its own, `<stack>_<svc>-canary`, beside the current one under the same
// network alias, on a growing share of the tasks and watched at every step; then
// the current service is updated in place and the canary removed. A failing
// step, or an abort, removes the canary and gives the current service its
// replicas back.
//
// Why the split is sound. Under `endpoint_mode: dnsrr` Swarm's embedded DNS
// answers a name with the IP of every running task that carries it: the
// service's own name and each of its network aliases. The stack's clients call
// a service by its Compose name, which convert gives every service as an alias
// on each of its networks (convert/networks.ts). The canary joins the same
// networks with that alias, so the name resolves to (N − c) old and c new
// tasks, and clients that look the name up per connection (DNS round robin)
// send about c/N of their requests to the new version. It is a split by task
// count, not an exact one: a client that caches one answer stays where it is.
// Swarm puts a task in DNS only while it runs (and, with a healthcheck, only
// once healthy), so a failing canary task leaves the answer by itself. The
// names `<stack>_<svc>` and `<stack>_<svc>-canary` stay each service's own, so
// nothing that calls the full name is switched.
// Under `vip` the name would resolve to one virtual IP per service, a split of
// half and half whatever the task counts; a global service has no replica count
// to divide; a service scaled to 0 serves nothing to split. Those are updated
// rolling instead (the engine's update, then the engine's rollback when it does
// not converge), and the outcome's message says so: the deploy still goes on,
// with the same safety net as a rolling deploy.
//
// A step watches the canary converge (all its tasks running the new spec), then
// for `stepSeconds`: a canary task failed or rejected, exited (with any code: it
// should keep running), or replaced by a new one (a restart: Swarm fails a task
// whose healthcheck fails, so health shows here too). The canary never scales
// down and is never updated but for its replica count, so any of those is the
// new version's fault. Published ports stay with the current service only: a
// host-mode port cannot be bound twice on one node, and ingress needs vip.
// With `options.probe`, HTTP requests from a job inside the stack network
// (probe.ts) go to the canary's own name during the watch, so the error rate
// measured is the new version's alone; above `maxErrorRate` the step fails.
import { setTimeout as sleep } from 'node:timers/promises';
import type { DockerClient } from '../../docker/client.ts';
import { createService, inspectService, listServices, listTasks, removeService, updateService, type ServiceSpec, type SwarmService, type SwarmTask } from '../../docker/swarm.ts';
import { Conflict, NotFound } from '../../errors.ts';
import type { Manager } from '../../swarm/manager-router.ts';
import { SwarmServices } from '../../swarm/services.ts';
import { convergeService, waitForConvergence, type ConvergeDone } from '../../swarm/service-convergence.ts';
import { STACK_LABEL } from '../../swarm/stacks.ts';
import { runProbe } from './probe.ts';
import type { Strategy, StrategyContext, StrategyOutcome } from './types.ts';

export const CANARY_OF_LABEL = 'flotilla.canary.of';
export const DEFAULT_STEPS = [10, 50, 100];
export const DEFAULT_STEP_SECONDS = 20;
/** Long enough for a pull on every node; a task that fails ends the wait at once. */
const CONVERGE_TIMEOUT_MS = 180_000;
const WATCH_POLL_MS = 1000;
/** A probe job's whole run: its pull, start and requests. */
const PROBE_TIMEOUT_MS = 60_000;
const DEFAULT_PROBE_REQUESTS = 10;
const FAILED = new Set(['failed', 'rejected']);

export const canary: Strategy = (ctx) => new CanaryRun(ctx).run();

export function canaryName(service: string): string {
  return `${service}-canary`;
}

/** The steps as run: percentages in (0, 100), ascending without repeats, then 100 (always last: the full rollout). */
export function canarySteps(steps: number[] | undefined): number[] {
  const below = [...new Set((steps ?? DEFAULT_STEPS).filter((p) => Number.isFinite(p) && p > 0 && p < 100))].sort((a, b) => a - b);
  return [...below, 100];
}

/** Tasks on each version at a step of N: the canary at least 1, the current never below 1 before the last step. */
export function splitAt(n: number, percent: number): { canary: number; current: number } {
  const canaryTasks = Math.min(n, Math.max(1, Math.round((n * percent) / 100)));
  return { canary: canaryTasks, current: Math.max(1, n - canaryTasks) };
}

/** Why a canary cannot split this service's traffic by task count, or null. */
export function fallbackReason(current: SwarmService): string | null {
  const replicas = current.Spec.Mode?.Replicated?.Replicas;
  if (replicas === undefined) return 'a global service has no replica count to divide';
  if (replicas === 0) return 'the service is scaled to 0: there is no traffic to split';
  const mode = (current.Spec.EndpointSpec as { Mode?: string } | undefined)?.Mode ?? 'vip';
  if (mode !== 'dnsrr') return `endpoint_mode ${mode} resolves the name to one address per service, so traffic would not split by task count (use dnsrr)`;
  return null;
}

/** The canary: the new spec under its own name, labelled as the stack's and as whose canary it is, with the Compose name as alias on every network. */
export function canarySpec(ctx: StrategyContext, replicas: number): ServiceSpec {
  const spec = structuredClone(ctx.spec);
  spec.Name = canaryName(ctx.name);
  spec.Labels = { ...spec.Labels, [STACK_LABEL]: ctx.stack, [CANARY_OF_LABEL]: ctx.name };
  spec.Mode = { Replicated: { Replicas: replicas } };
  spec.EndpointSpec = { Mode: 'dnsrr' };
  const networks = (spec.TaskTemplate.Networks ?? []) as { Target: string; Aliases?: string[] }[];
  spec.TaskTemplate.Networks = networks.map((n) => ({ ...n, Aliases: n.Aliases?.includes(ctx.composeName) ? n.Aliases : [...(n.Aliases ?? []), ctx.composeName] }));
  return spec;
}

/** The first sign among the canary's tasks that the new version does not hold up, or null. */
export function canaryTaskProblem(tasks: SwarmTask[]): string | null {
  for (const t of tasks) {
    const which = `canary task ${t.Slot ?? t.ID.slice(0, 12)}`;
    const code = t.Status.ContainerStatus?.ExitCode;
    if (FAILED.has(t.Status.State)) return `${which} ${t.Status.State}: ${t.Status.Err || t.Status.Message}`;
    if (code !== undefined && code !== 0) return `${which} exited with code ${code}`;
    if (t.Status.State === 'complete') return `${which} exited (code 0) while it should keep running`;
    if (t.DesiredState !== 'running' && t.DesiredState !== 'ready') return `${which} was replaced (a restart: ${t.Status.Message || t.Status.State})`;
  }
  return null;
}

/** A step's verdict: the canary did not hold up. */
class StepFailed extends Error {}

class CanaryRun {
  private readonly ctx: StrategyContext;
  private readonly services: SwarmServices;
  /** The current service's replicas before the canary: what a rollback restores. */
  private readonly n: number | undefined;
  private readonly stepSeconds: number;
  private canaryId: string | undefined;
  private updatedInPlace = false;
  private engineRolledBack = false;
  private readonly passed: string[] = [];

  constructor(ctx: StrategyContext) {
    this.ctx = ctx;
    this.services = new SwarmServices(ctx.swarm);
    this.n = ctx.current.Spec.Mode?.Replicated?.Replicas;
    this.stepSeconds = ctx.options.stepSeconds ?? DEFAULT_STEP_SECONDS;
  }

  async run(): Promise<StrategyOutcome> {
    const why = fallbackReason(this.ctx.current);
    const steps = why ? [100] : canarySteps(this.ctx.options.steps);
    if (!why) await this.clearLeftover();
    this.emit('start', why ? `canary not possible (${why}): updated rolling instead` : `steps ${steps.join('% → ')}%, ${this.stepSeconds} s each, of ${this.n} tasks${this.ctx.options.probe ? `, probed at :${this.ctx.options.probe.port}${this.ctx.options.probe.path}` : ''}`);
    let at = 'start';
    try {
      for (const p of steps) {
        at = `${p}%`;
        if (p < 100) await this.step(p);
      }
      return await this.fullRollout(why);
    } catch (err) {
      const aborted = this.ctx.signal.aborted;
      const reason = aborted ? `aborted at step ${at}` : `step ${at} failed: ${(err as Error).message}`;
      return this.rollBack(aborted ? 'aborted' : 'rolled_back', reason);
    }
  }

  private async step(p: number): Promise<void> {
    const split = splitAt(this.n!, p);
    this.emit(`${p}%`, `canary ${split.canary} of ${this.n} tasks, current ${split.current}`);
    await this.scaleCanary(split.canary);
    await this.convergeCanary();
    // The canary runs before the current gives up tasks: capacity never dips.
    await this.scaleCurrent(split.current);
    this.emit(`${p}% watching`, `${split.canary} canary / ${split.current} current tasks for ${this.stepSeconds} s`);
    const probed = await this.watch(`${p}%`);
    this.passed.push(probed ? `${p}% (probe ${probed})` : `${p}%`);
    this.emit(`${p}% passed`);
  }

  /** The last step: the current service updated in place (its own rolling update), then the canary removed. */
  private async fullRollout(fallback: string | null): Promise<StrategyOutcome> {
    this.emit('100%', `${this.ctx.name} updated in place to the new version`);
    await this.write(this.ctx.spec, this.ctx.current.ID);
    this.updatedInPlace = true;
    const done = await this.wait(this.ctx.current.ID, 'update', this.ctx.signal);
    if (done.outcome === 'rolled_back') this.engineRolledBack = true;
    if (done.outcome !== 'converged') throw new StepFailed(`the in-place update ended ${done.outcome}: ${done.message}`);
    await this.removeCanary();
    const how = fallback ? `canary not possible (${fallback}): updated rolling instead` : `canary steps ${this.passed.join(', ') || 'none'} passed (${this.stepSeconds} s each)`;
    const message = `${how}; ${this.ctx.name} runs the new version, ${done.running}/${done.desired} tasks${fallback ? '' : '; canary removed'}`;
    this.emit('converged', message);
    return { id: this.ctx.current.ID, outcome: 'converged', message };
  }

  /** Undoes what was done, in the order that serves best: the in-place update back, the canary away, the current service's replicas back to N. */
  private async rollBack(outcome: 'rolled_back' | 'aborted', reason: string): Promise<StrategyOutcome> {
    this.emit('rolling back', reason);
    const done: string[] = [];
    try {
      if (this.updatedInPlace && !this.engineRolledBack) done.push(await this.rollBackInPlace());
      if (this.canaryId) {
        await this.removeCanary();
        done.push('canary removed');
      }
      done.push(await this.restoreCurrent());
    } catch (err) {
      throw new Error(`${reason}; the rollback failed after ${done.join(', ') || 'nothing'}: ${(err as Error).message}`);
    }
    const message = `${reason}; ${done.filter(Boolean).join(', ')}`;
    this.emit(outcome === 'aborted' ? 'aborted' : 'rolled back', message);
    return { id: this.ctx.current.ID, outcome, message };
  }

  /** The engine's rollback to the previous spec, unless the engine is already rolling back (a second rollback would go forward again). */
  private async rollBackInPlace(): Promise<string> {
    const id = this.ctx.current.ID;
    await this.ctx.swarm.withManager(this.ctx.cluster, async (d, manager) => {
      const fresh = await inspectService(d, id);
      if (fresh.UpdateStatus?.State?.startsWith('rollback')) return;
      await this.ctx.gate(manager, fresh.PreviousSpec ?? fresh.Spec, id);
      await updateService(d, id, fresh.Version.Index, fresh.Spec, { rollback: 'previous' });
    });
    const done = await this.wait(id, 'any');
    return `the in-place update rolled back (${done.outcome}: ${done.message})`;
  }

  /** The current service at N replicas again (its spec otherwise as it is: the old version), waited for. */
  private async restoreCurrent(): Promise<string> {
    if (this.n === undefined) return '';
    const scaled = await this.scaleCurrent(this.n);
    if (!scaled) return `${this.ctx.name} kept at ${this.n} replicas`;
    const done = await this.wait(this.ctx.current.ID, 'any');
    return done.outcome === 'converged' ? `${this.ctx.name} back at ${done.running}/${done.desired} tasks` : `${this.ctx.name} back at ${this.n} replicas, not converged yet (${done.message})`;
  }

  private async scaleCanary(replicas: number): Promise<void> {
    if (this.canaryId) {
      await this.scale(this.canaryId, replicas);
      return;
    }
    const spec = canarySpec(this.ctx, replicas);
    const created = await this.ctx.swarm.withManager(this.ctx.cluster, async (d, manager) => {
      await this.ctx.gate(manager, spec);
      return createService(d, spec);
    });
    this.canaryId = created.ID;
  }

  /** Sets the current service's replica count; false when it already had it. */
  private scaleCurrent(replicas: number): Promise<boolean> {
    return this.scale(this.ctx.current.ID, replicas);
  }

  /** A replica count change only: the engine starts or stops tasks, none is replaced. */
  private async scale(id: string, replicas: number): Promise<boolean> {
    return this.ctx.swarm.withManager(this.ctx.cluster, async (d, manager) => {
      const fresh = await inspectService(d, id);
      if (fresh.Spec.Mode?.Replicated?.Replicas === replicas) return false;
      const spec: ServiceSpec = { ...fresh.Spec, Mode: { Replicated: { Replicas: replicas } } };
      await this.ctx.gate(manager, spec, id);
      await updateService(d, id, fresh.Version.Index, spec);
      return true;
    });
  }

  private async write(spec: ServiceSpec, id: string): Promise<void> {
    await this.ctx.swarm.withManager(this.ctx.cluster, async (d: DockerClient, manager: Manager) => {
      await this.ctx.gate(manager, spec, id);
      const fresh = await inspectService(d, id);
      await updateService(d, id, fresh.Version.Index, spec);
    });
  }

  private wait(id: string, expect: 'update' | 'any', signal?: AbortSignal): Promise<ConvergeDone> {
    return waitForConvergence(this.ctx.swarm, this.services, this.ctx.cluster, id, { timeoutMs: CONVERGE_TIMEOUT_MS, expect, signal });
  }

  /** Waits for the canary's tasks to run; the first task failure ends the step at once rather than at the timeout. */
  private async convergeCanary(): Promise<void> {
    const events = convergeService(this.ctx.swarm, this.services, this.ctx.cluster, this.canaryId!, { timeoutMs: CONVERGE_TIMEOUT_MS, expect: 'any', signal: this.ctx.signal });
    for await (const e of events) {
      if (e.type === 'progress' && e.lastError) throw new StepFailed(`a canary task failed while starting: ${e.lastError}`);
      if (e.type === 'done' && e.outcome !== 'converged') throw new StepFailed(`the canary did not converge (${e.outcome}): ${e.message}`);
    }
  }

  /**
   * Polls the canary's tasks for stepSeconds (the whole task history counts, so a failure between polls is seen too),
   * with the probe, if any, running meanwhile; a step lasting longer than stepSeconds waits for the probe's verdict.
   */
  private async watch(step: string): Promise<string | null> {
    // Settled into a value at once: when a task failure ends the step first, the probe's own end is no unhandled rejection.
    const probing = this.probe(step).then((ok) => ({ ok }), (err: Error) => ({ err }));
    const deadline = Date.now() + this.stepSeconds * 1000;
    for (;;) {
      const tasks = await this.ctx.swarm.withManager(this.ctx.cluster, (d) => listTasks(d, { filters: { service: [this.canaryId!] } }), { signal: this.ctx.signal });
      const problem = canaryTaskProblem(tasks.filter((t) => t.ServiceID === this.canaryId));
      if (problem) throw new StepFailed(problem);
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(WATCH_POLL_MS, left), undefined, { signal: this.ctx.signal });
    }
    const probed = await probing;
    if ('err' in probed) throw probed.err;
    return probed.ok;
  }

  /** HTTP requests to the canary's own name (only its tasks answer it) from a job on its first network; "k/n ok", or null without a probe. */
  private async probe(step: string): Promise<string | null> {
    const probe = this.ctx.options.probe;
    if (!probe) return null;
    const spec = canarySpec(this.ctx, 1);
    const network = (spec.TaskTemplate.Networks as { Target: string }[])[0]?.Target;
    if (!network) throw new StepFailed('the probe needs the service on a network, and it is on none');
    const url = `http://${spec.Name}:${probe.port}${probe.path.startsWith('/') ? '' : '/'}${probe.path}`;
    const requests = probe.requests ?? DEFAULT_PROBE_REQUESTS;
    const r = await runProbe({
      swarm: this.ctx.swarm, cluster: this.ctx.cluster, network, url, requests, timeoutMs: PROBE_TIMEOUT_MS, signal: this.ctx.signal,
      // The new version's own image and placement: it is known to be pullable there.
      image: spec.TaskTemplate.ContainerSpec!.Image, constraints: spec.TaskTemplate.Placement?.Constraints ?? [],
    });
    const total = Math.max(1, r.ok + r.failed);
    if (r.failed / total > (probe.maxErrorRate ?? 0)) throw new StepFailed(`probe ${url}: ${r.failed} of ${r.ok + r.failed} requests failed (${r.errors.slice(0, 3).join('; ')})`);
    this.emit(`${step} probed`, `${url}: ${r.ok} of ${r.ok + r.failed} requests answered`);
    return `${r.ok}/${r.ok + r.failed} ok`;
  }

  private async removeCanary(): Promise<void> {
    if (!this.canaryId) return;
    const id = this.canaryId;
    await this.ctx.swarm.withManager(this.ctx.cluster, (d) => removeService(d, id)).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
    this.canaryId = undefined;
  }

  /** A canary left by an interrupted run is removed; a service of that name that is no canary of ours is a conflict. */
  private async clearLeftover(): Promise<void> {
    const name = canaryName(this.ctx.name);
    const found = (await this.ctx.swarm.withManager(this.ctx.cluster, (d) => listServices(d, { filters: { name: [name] } }))).find((s) => s.Spec.Name === name);
    if (!found) return;
    if (found.Spec.Labels?.[CANARY_OF_LABEL] !== this.ctx.name) throw new Conflict(`service "${name}" exists and is not a canary of "${this.ctx.name}": rename or remove it to deploy by canary`);
    await this.ctx.swarm.withManager(this.ctx.cluster, (d) => removeService(d, found.ID));
    this.emit('leftover canary removed', found.ID);
  }

  private emit(step: string, detail?: string): void {
    this.ctx.emit({ type: 'strategy', strategy: 'canary', service: this.ctx.name, step, ...(detail ? { detail } : {}) });
  }
}
