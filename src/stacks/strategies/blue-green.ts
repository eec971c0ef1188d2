// Blue-green (SPEC W6): the new version of a stack service runs beside the old
// one as a service of its own, is checked, and then takes over the name the
// stack's clients call; afterwards the stack is folded back to one service.
//
// The switch, and why it is sound:
// 1. Blue, `<stack>_<svc>`, serves the alias `<svc>` (the Compose name; the
//    converter puts it on every network) under `endpoint_mode: dnsrr`, so the
//    embedded DNS answers `<svc>` with the addresses of the tasks that carry the
//    alias. (No VIP: this kernel has no IPVS, and a VIP would hide which tasks
//    answer.) A non-dnsrr service, or one with published ports (a node's port
//    cannot be held by two services), is refused before anything changes.
// 2. Green, `<stack>_<svc>-green`, is created from the new spec on the same
//    networks with NO aliases (the old name keeps only blue's tasks), labelled
//    with the stack namespace and `flotilla.bluegreen.of=<stack>_<svc>`.
// 3. Green must converge with no task failing, then stay so for a settle
//    period. That covers the container healthcheck: for a container with one,
//    Swarm's executor reports the task `running` only after the first
//    `health_status: healthy`, and it also registers the task in DNS only then;
//    an `unhealthy` task is failed by the executor ("container unhealthy").
//    With `probe`, HTTP requests to green's own name from a job inside the
//    stack network (probe.ts) must pass too. Any failure: green removed, blue
//    never touched → `rolled_back`.
// 4. Switch, add before remove: green gets the alias (its tasks restart under
//    its update config: network attachments are part of the task spec; blue
//    still serves meanwhile) and we wait until `<svc>` resolves, from inside
//    the network, to green's tasks too; only then blue leaves: scaled to 0, or
//    (keepOldRunning) its alias removed. A leaving task is dropped from DNS
//    before its container is stopped (the executor's gossip delay, 2 s), so
//    answers already handed out still reach a live task. At no moment is
//    `<svc>` empty.
// 5. Blue's old spec is kept for instant rollback: for `removeOldAfterSeconds`
//    (default 0) the switch can be undone by aborting the deploy. An abort or a
//    failure at any point restores blue's spec first (alias and replicas back,
//    waiting until it converged), and only then removes green → `aborted` /
//    `rolled_back`.
// 6. Fold back, so the stack ends as the Compose file says and later deploys
//    and prune see one `<stack>_<svc>`: blue is updated in place to the new
//    spec (which carries the alias; its tasks join the name only once healthy,
//    while green serves), we wait until it converged and resolves under the
//    name, then green is removed (its tasks leave DNS before they stop).
import type { DockerClient } from '../../docker/client.ts';
import { createService, inspectService, listTasks, removeService, updateService, type ServiceSpec, type SwarmTask } from '../../docker/swarm.ts';
import { NotFound } from '../../errors.ts';
import type { Manager } from '../../swarm/manager-router.ts';
import { convergeService } from '../../swarm/service-convergence.ts';
import { SwarmServices } from '../../swarm/services.ts';
import { STACK_LABEL } from '../../swarm/stacks.ts';
import { resolveInNetwork, runProbe } from './probe.ts';
import type { Strategy, StrategyContext, StrategyOutcome } from './types.ts';

export const BLUE_GREEN_LABEL = 'flotilla.bluegreen.of';
export const GREEN_SUFFIX = '-green';
const CONVERGE_TIMEOUT_MS = 180_000;
/** Green's tasks must stay running, none failing, this long after converging. */
const SETTLE_MS = 5_000;
const DNS_TIMEOUT_MS = 45_000;
const JOB_TIMEOUT_MS = 60_000;
/** When no DNS check can run (the image has no nslookup): twice the executor's gossip delay. */
const GOSSIP_SETTLE_MS = 4_000;

type Attachment = { Target: string; Aliases?: string[]; [k: string]: unknown };

/** A check that did not pass: the reason goes into the outcome. */
class CheckFailed extends Error {}

export const blueGreen: Strategy = async (ctx) => {
  const refusal = unsupported(ctx.current.Spec, ctx.spec);
  if (refusal) return { id: ctx.current.ID, outcome: 'rolled_back', message: `blue-green not started, ${ctx.name} unchanged: ${refusal}` };
  const run = new BlueGreenRun(ctx);
  try {
    return await run.execute();
  } catch (err) {
    const aborted = ctx.signal.aborted;
    const reason = aborted ? 'the deploy was aborted' : (err as Error).message;
    if (!aborted && !(err instanceof CheckFailed)) ctx.emit(event(ctx, 'error', reason));
    const restored = await run.restore(reason);
    return { id: ctx.current.ID, outcome: aborted ? 'aborted' : 'rolled_back', message: `${reason}; ${restored}` };
  }
};

function event(ctx: StrategyContext, step: string, detail?: string) {
  return { type: 'strategy' as const, strategy: 'blue-green' as const, service: ctx.name, step, ...(detail ? { detail } : {}) };
}

/** Why this service cannot be switched by alias, or undefined. */
function unsupported(current: ServiceSpec, next: ServiceSpec): string | undefined {
  for (const [which, spec] of [['the running service', current], ['the new spec', next]] as const) {
    if (spec.EndpointSpec?.Mode !== 'dnsrr') return `${which} is not endpoint_mode: dnsrr (the switch moves a DNS alias; VIPs need IPVS)`;
    if (!spec.Mode?.Replicated) return `${which} is not a replicated service`;
    if (((spec.EndpointSpec.Ports as unknown[] | undefined) ?? []).length > 0) return `${which} publishes ports, which two services cannot share`;
    if (networksOf(spec).length === 0) return `${which} is on no network, so it has no alias to move`;
  }
  return undefined;
}

function networksOf(spec: ServiceSpec): Attachment[] {
  return ((spec.TaskTemplate.Networks ?? spec.Networks ?? []) as Attachment[]);
}

/** The spec with its attachments rewritten (the deprecated top-level Networks folded into TaskTemplate). */
function withAttachments(spec: ServiceSpec, edit: (a: Attachment) => Attachment): ServiceSpec {
  const out = structuredClone(spec);
  out.TaskTemplate.Networks = networksOf(out).map((a) => edit({ ...a }));
  delete out.Networks;
  return out;
}

function withoutAliases(a: Attachment): Attachment {
  delete a.Aliases;
  return a;
}

const addAlias = (alias: string) => (a: Attachment): Attachment => ({ ...a, Aliases: [...new Set([...(a.Aliases ?? []), alias])] });
const dropAlias = (alias: string) => (a: Attachment): Attachment => {
  const rest = (a.Aliases ?? []).filter((x) => x !== alias);
  if (rest.length) return { ...a, Aliases: rest };
  return withoutAliases(a);
};

function replicasOf(spec: ServiceSpec): number {
  return spec.Mode?.Replicated?.Replicas ?? 1;
}

function greenSpec(ctx: StrategyContext): ServiceSpec {
  const spec = withAttachments(ctx.spec, withoutAliases);
  spec.Name = `${ctx.name}${GREEN_SUFFIX}`;
  spec.Labels = { ...spec.Labels, [STACK_LABEL]: ctx.stack, [BLUE_GREEN_LABEL]: ctx.name };
  spec.TaskTemplate.ForceUpdate = 0;
  return spec;
}

class BlueGreenRun {
  private readonly ctx: StrategyContext;
  private readonly services: SwarmServices;
  private readonly greenName: string;
  private greenId: string | undefined;
  /** Blue's spec was written by us (switched away, or folded): restore must write it back. */
  private blueTouched = false;

  constructor(ctx: StrategyContext) {
    this.ctx = ctx;
    this.services = new SwarmServices(ctx.swarm);
    this.greenName = `${ctx.name}${GREEN_SUFFIX}`;
  }

  private on<T>(fn: (d: DockerClient, m: Manager) => Promise<T>, signal: AbortSignal | undefined = this.ctx.signal): Promise<T> {
    return this.ctx.swarm.withManager(this.ctx.cluster, fn, { signal });
  }

  private step(step: string, detail?: string): void {
    this.ctx.emit(event(this.ctx, step, detail));
  }

  async execute(): Promise<StrategyOutcome> {
    const { ctx } = this;
    await this.createGreen();
    await this.checkGreen();
    await this.switchToGreen();
    const holdS = ctx.options.removeOldAfterSeconds ?? 0;
    if (holdS > 0) {
      this.step('holding-old', `${ctx.name} kept ${ctx.options.keepOldRunning ? 'running' : 'at 0 replicas'} for ${holdS} s: abort the deploy to switch back`);
      await abortableSleep(holdS * 1000, ctx.signal);
    }
    await this.foldBack();
    return { id: ctx.current.ID, outcome: 'converged', message: `${this.greenName} passed its checks and took over "${ctx.composeName}"; ${ctx.name} now runs the new spec and serves it again, ${this.greenName} removed` };
  }

  private async createGreen(): Promise<void> {
    const spec = greenSpec(this.ctx);
    await this.clearStaleGreen();
    const created = await this.on(async (d, manager) => {
      await this.ctx.gate(manager, spec);
      return createService(d, spec);
    });
    this.greenId = created.ID;
    this.step('green-created', `${this.greenName}, ${replicasOf(spec)} replica(s), not under "${this.ctx.composeName}"`);
  }

  /** A green left by an interrupted run takes the name: removed if it does not serve the alias, else left for the user to judge. */
  private async clearStaleGreen(): Promise<void> {
    const stale = await this.on((d) => inspectService(d, this.greenName)).catch((err: unknown) => {
      if (err instanceof NotFound) return undefined;
      throw err;
    });
    if (!stale) return;
    if (networksOf(stale.Spec).some((a) => a.Aliases?.includes(this.ctx.composeName))) {
      throw new CheckFailed(`${this.greenName} is left from an earlier blue-green and serves "${this.ctx.composeName}": remove it (or scale ${this.ctx.name} back up) first`);
    }
    await this.removeService(stale.ID, this.ctx.signal);
    this.step('stale-green-removed', stale.ID);
  }

  private async checkGreen(): Promise<void> {
    const id = this.greenId!;
    await this.converged(id, this.greenName, 'any', this.ctx.signal);
    await this.settled(id);
    this.step('green-healthy', `every task running (healthy where a healthcheck is set) for ${SETTLE_MS / 1000} s`);
    const probe = this.ctx.options.probe;
    if (!probe) return;
    const requests = probe.requests ?? 10;
    const url = `http://${this.greenName}:${probe.port}${probe.path.startsWith('/') ? '' : '/'}${probe.path}`;
    const r = await runProbe({ ...this.jobBase(), url, requests, timeoutMs: JOB_TIMEOUT_MS });
    const rate = r.failed / Math.max(1, r.ok + r.failed);
    if (rate > (probe.maxErrorRate ?? 0)) throw new CheckFailed(`probe ${url}: ${r.failed} of ${r.ok + r.failed} requests failed (${r.errors.slice(0, 3).join('; ')})`);
    this.step('green-probed', `${url}: ${r.ok} of ${r.ok + r.failed} requests answered`);
  }

  private jobBase(spec: ServiceSpec = this.ctx.spec) {
    return {
      swarm: this.ctx.swarm, cluster: this.ctx.cluster, signal: this.ctx.signal,
      network: networksOf(spec)[0]!.Target,
      // The service's own image: it is pullable where the service runs, hence its constraints too.
      image: spec.TaskTemplate.ContainerSpec!.Image,
      constraints: spec.TaskTemplate.Placement?.Constraints ?? [],
    };
  }

  private async switchToGreen(): Promise<void> {
    const { ctx } = this;
    const alias = ctx.composeName;
    await this.update(this.greenId!, (s) => withAttachments(s, addAlias(alias)), ctx.signal);
    await this.converged(this.greenId!, this.greenName, 'update', ctx.signal);
    await this.untilResolves({ include: this.greenId! }, ctx.signal);
    this.step('alias-added', `"${alias}" answers with ${this.greenName}'s tasks beside ${ctx.name}'s`);
    const blueIps = await this.addresses(ctx.current.ID, ctx.signal);
    this.blueTouched = true;
    const keep = ctx.options.keepOldRunning === true;
    await this.update(ctx.current.ID, (s) => (keep ? withAttachments(s, dropAlias(alias)) : scaled(s, 0)), ctx.signal);
    await this.converged(ctx.current.ID, ctx.name, keep ? 'update' : 'any', ctx.signal);
    await this.untilResolves({ include: this.greenId!, exclude: ctx.current.ID, excludeIps: blueIps }, ctx.signal);
    this.step('switched', `"${alias}" answers with ${this.greenName} only; ${ctx.name} ${keep ? 'kept running without the alias' : 'scaled to 0'}`);
  }

  private async foldBack(): Promise<void> {
    const { ctx } = this;
    this.step('fold-back', `${ctx.name} updated to the new spec while ${this.greenName} serves`);
    await this.update(ctx.current.ID, () => structuredClone(ctx.spec), ctx.signal);
    await this.converged(ctx.current.ID, ctx.name, 'update', ctx.signal);
    await this.untilResolves({ include: ctx.current.ID }, ctx.signal);
    await this.removeService(this.greenId!, ctx.signal);
    this.greenId = undefined;
    this.step('green-removed', `${ctx.name} serves "${ctx.composeName}" with the new spec`);
  }

  /** Blue back as it was (waiting until it converged and resolves), then green removed. Says what it did; throws when blue cannot be restored. */
  async restore(reason: string): Promise<string> {
    const { ctx } = this;
    // The caller's signal may be the reason we are here: the restore has its own deadline.
    const signal = AbortSignal.timeout(CONVERGE_TIMEOUT_MS + DNS_TIMEOUT_MS);
    this.step('rollback', reason);
    try {
      if (this.blueTouched) {
        await this.update(ctx.current.ID, () => structuredClone(ctx.current.Spec), signal);
        await this.converged(ctx.current.ID, ctx.name, 'any', signal);
        await this.untilResolves({ include: ctx.current.ID }, signal, ctx.current.Spec);
      }
    } catch (err) {
      const kept = this.greenId ? `${this.greenName} left in place, it may be serving "${ctx.composeName}"` : 'no green service left';
      throw new Error(`${reason}; then ${ctx.name} could not be restored (${(err as Error).message}): ${kept}`);
    }
    if (this.greenId) await this.removeService(this.greenId, signal);
    const what = this.blueTouched ? `${ctx.name} restored to its previous spec` : `${ctx.name} untouched`;
    this.step('rolled-back', what);
    return `${what}, ${this.greenName} removed`;
  }

  /** Reads the service fresh on the manager, lets the gate judge the result, writes at that version (safe to retry: edits are idempotent). */
  private async update(id: string, edit: (spec: ServiceSpec) => ServiceSpec, signal: AbortSignal): Promise<void> {
    await this.on(async (d, manager) => {
      const fresh = await inspectService(d, id);
      const spec = edit(structuredClone(fresh.Spec));
      await this.ctx.gate(manager, spec, id);
      await updateService(d, id, fresh.Version.Index, spec);
    }, signal);
  }

  private async removeService(ref: string, signal: AbortSignal): Promise<void> {
    await this.on((d) => removeService(d, ref), signal).catch((err: unknown) => {
      if (!(err instanceof NotFound)) throw err;
    });
  }

  /** Convergence as waitForConvergence judges it, but a failed task ends the wait at once: a failing healthcheck shows as one. */
  private async converged(id: string, what: string, expect: 'any' | 'update', signal: AbortSignal): Promise<void> {
    for await (const e of convergeService(this.ctx.swarm, this.services, this.ctx.cluster, id, { timeoutMs: CONVERGE_TIMEOUT_MS, expect, signal })) {
      if (e.type === 'progress' && e.lastError) throw new CheckFailed(`${what}: ${e.lastError}`);
      if (e.type === 'done') {
        if (e.outcome !== 'converged') throw new CheckFailed(`${what} ${e.outcome.replace('_', ' ')}: ${e.message}`);
        return;
      }
    }
  }

  /** Every task meant to run keeps running, and none fails, for SETTLE_MS. */
  private async settled(id: string): Promise<void> {
    const until = Date.now() + SETTLE_MS;
    const since = Date.now() - 1000;
    while (Date.now() < until) {
      const tasks = await this.tasks(id, this.ctx.signal);
      const bad = tasks.find((t) => (t.DesiredState === 'running' && t.Status.State !== 'running') || (['failed', 'rejected'].includes(t.Status.State) && Date.parse(t.Status.Timestamp ?? '') >= since));
      if (bad) throw new CheckFailed(`${this.greenName}: task ${bad.Slot ?? bad.ID} ${bad.Status.State}${bad.Status.Err ? `: ${bad.Status.Err}` : ''} within ${SETTLE_MS / 1000} s of converging`);
      await abortableSleep(500, this.ctx.signal);
    }
  }

  private tasks(id: string, signal: AbortSignal): Promise<SwarmTask[]> {
    return this.on(async (d) => (await listTasks(d, { filters: { service: [id] } })).filter((t) => t.ServiceID === id), signal);
  }

  /**
   * Polls, from a job inside each network, until `<svc>` resolves to every running task of `include` (when given) and to
   * none of `exclude`'s tasks (running now, or the addresses they had before), and to something.
   */
  private async untilResolves(want: { include?: string; exclude?: string; excludeIps?: string[] }, signal: AbortSignal, image: ServiceSpec = this.ctx.spec): Promise<void> {
    const deadline = Date.now() + DNS_TIMEOUT_MS;
    for (const target of networksOf(this.ctx.spec).map((a) => a.Target)) {
      for (;;) {
        const inc = want.include ? taskAddresses(await this.tasks(want.include, signal), target) : [];
        const exc = [...(want.excludeIps ?? []), ...(want.exclude ? taskAddresses(await this.tasks(want.exclude, signal), target) : [])];
        let got: string[];
        try {
          got = await resolveInNetwork({ ...this.jobBase(image), network: target, signal, name: this.ctx.composeName, timeoutMs: JOB_TIMEOUT_MS });
        } catch (err) {
          if (signal.aborted) throw err;
          // No lookup possible with this image: fall back to the engine's own propagation delay.
          this.step('dns-check-skipped', (err as Error).message);
          await abortableSleep(GOSSIP_SETTLE_MS, signal);
          return;
        }
        if (got.length > 0 && inc.every((ip) => got.includes(ip)) && exc.every((ip) => !got.includes(ip)) && (!want.include || inc.length > 0)) break;
        if (Date.now() > deadline) throw new CheckFailed(`"${this.ctx.composeName}" on ${target} still resolves to ${got.join(', ') || 'nothing'} after ${DNS_TIMEOUT_MS / 1000} s (wanted ${inc.join(', ') || 'any task'}${exc.length ? `, not ${exc.join(', ')}` : ''})`);
        await abortableSleep(1000, signal);
      }
    }
  }

  /** Addresses of the service's running tasks on all its networks. */
  private async addresses(id: string, signal: AbortSignal): Promise<string[]> {
    const tasks = await this.tasks(id, signal);
    return networksOf(this.ctx.current.Spec).flatMap((a) => taskAddresses(tasks, a.Target));
  }
}

function scaled(spec: ServiceSpec, replicas: number): ServiceSpec {
  return { ...spec, Mode: { Replicated: { Replicas: replicas } } };
}

/** The addresses of a service's running tasks on one network (by ID or name, as the spec names it). */
function taskAddresses(tasks: SwarmTask[], network: string): string[] {
  type Att = { Network?: { ID?: string; Spec?: { Name?: string } }; Addresses?: string[] };
  return tasks
    .filter((t) => t.DesiredState === 'running' && t.Status.State === 'running')
    .flatMap((t) => ((t.NetworksAttachments ?? []) as Att[]).filter((a) => a.Network?.ID === network || a.Network?.Spec?.Name === network))
    .flatMap((a) => (a.Addresses ?? []).map((x) => x.split('/')[0]!));
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
