// Applies a StackPlan to a cluster the way `docker stack deploy` does, through
// the Engine API: external networks, secrets and configs are looked up (never
// created), the stack's own are created when missing, existing services are
// updated at their version (ForceUpdate kept, so an unchanged file restarts
// nothing), new ones created, and with `prune` services no longer in the file
// removed. Every call goes through the cluster's manager router, step by step,
// so a manager lost mid-deploy costs one retried step, not the deploy. Each
// step is reported as it happens.
import type { DockerClient } from '../docker/client.ts';
import { listNetworks } from '../docker/networks.ts';
import { listSwarmData, updateSwarmData, type SwarmDataKind } from '../docker/secrets.ts';
import { inspectService, listServices, removeService, updateService, type ServiceSpec, type SwarmService } from '../docker/swarm.ts';
import { inspectDistribution } from '../docker/images.ts';
import { BadRequest, DockerApiError } from '../errors.ts';
import type { Swarm } from '../swarm/swarm.ts';
import type { SpecGate } from '../swarm/services.ts';
import { STACK_LABEL } from '../swarm/stacks.ts';
import type { PlannedData, StackPlan } from './types.ts';
import { coveredBy, sameSpec } from './spec-compare.ts';
import type { Strategy, StrategyName, StrategyOptions, StrategyOutcome } from './strategies/types.ts';
import { STRATEGY_LABELS } from './strategies/index.ts';
import { KEEP_EXISTING_SECRET } from './secret-files.ts';
import { createStackData, createStackNetwork, createStackService } from './create-once.ts';

export const IMAGE_LABEL = 'com.docker.stack.image';
export type ResolveImage = 'always' | 'changed' | 'never';

export type DeployStep =
  | { type: 'step'; kind: 'network' | 'secret' | 'config'; name: string; action: 'created' | 'exists' | 'external' | 'updated' }
  | { type: 'step'; kind: 'service'; name: string; action: 'created' | 'updated' | 'unchanged' | 'removed'; image?: string; warnings?: string[] }
  | { type: 'warning'; message: string }
  | { type: 'strategy'; strategy: StrategyName; service: string; step: string; detail?: string };

/** A strategy other than rolling, for the services it applies to (src/stacks/strategies/). */
export interface StrategyPlan {
  name: StrategyName;
  run: Strategy;
  options: StrategyOptions;
  signal: AbortSignal;
}

export interface DeployOptions {
  prune: boolean;
  resolveImage: ResolveImage;
  strategy?: StrategyPlan;
  /** The admin-only rule for the caller, judged on the manager that takes each write. */
  gate: SpecGate;
  onStep: (s: DeployStep) => void;
}

export interface ServiceChange {
  name: string;
  id: string;
  action: 'created' | 'updated' | 'unchanged' | 'removed';
  /** Set when a strategy did the update: it also waited, watched and rolled back if it had to. */
  strategy?: StrategyOutcome & { name: StrategyName };
}

export class StackDeployer {
  private readonly swarm: Swarm;

  constructor(swarm: Swarm) {
    this.swarm = swarm;
  }

  /** `changes` fills as services are applied, so a caller whose deploy fails midway knows what was done. */
  async apply(cluster: string, plan: StackPlan, opts: DeployOptions, changes: ServiceChange[] = []): Promise<ServiceChange[]> {
    const on = <T>(fn: (d: DockerClient) => Promise<T>) => this.swarm.withManager(cluster, fn);
    for (const w of plan.warnings) opts.onStep({ type: 'warning', message: w });
    await this.networks(plan, on, opts);
    const secretIds = await this.data('secrets', plan.stack, plan.secrets, on, opts);
    const configIds = await this.data('configs', plan.stack, plan.configs, on, opts);
    const existing = new Map((await on((d) => listServices(d, { filters: { label: [`${STACK_LABEL}=${plan.stack}`] } }))).map((s) => [s.Spec.Name!, s]));
    for (const planned of plan.services) {
      const spec = withDataIds(planned.spec, secretIds, configIds);
      changes.push(await this.service(cluster, plan.stack, planned.composeName, planned.name, spec, existing.get(planned.name), on, opts));
    }
    if (opts.prune) {
      const keep = new Set(plan.services.map((s) => s.name));
      for (const [name, svc] of existing) {
        // A strategy's second version (…-green, …-canary) is its own to remove.
        if (keep.has(name) || STRATEGY_LABELS.some((l) => svc.Spec.Labels?.[l])) continue;
        await on((d) => removeService(d, svc.ID));
        opts.onStep({ type: 'step', kind: 'service', name, action: 'removed' });
        changes.push({ name, id: svc.ID, action: 'removed' });
      }
    }
    return changes;
  }

  private async networks(plan: StackPlan, on: <T>(fn: (d: DockerClient) => Promise<T>) => Promise<T>, opts: DeployOptions): Promise<void> {
    const all = await on((d) => listNetworks(d));
    for (const n of plan.networks) {
      const found = all.find((x) => x.Name === n.name);
      if (n.external) {
        if (!found) throw new BadRequest(`network "${n.name}" is declared as external, but could not be found: create a swarm-scoped network before the stack is deployed`, `networks.${n.name}`);
        if (found.Scope !== 'swarm') throw new BadRequest(`network "${n.name}" is declared as external, but it is not in the right scope: "${found.Scope}" instead of "swarm"`, `networks.${n.name}`);
        opts.onStep({ type: 'step', kind: 'network', name: n.name, action: 'external' });
        continue;
      }
      if (found) {
        opts.onStep({ type: 'step', kind: 'network', name: n.name, action: 'exists' });
        continue;
      }
      await on((d) => createStackNetwork(d, plan.stack, { ...n.spec, Name: n.name }));
      opts.onStep({ type: 'step', kind: 'network', name: n.name, action: 'created' });
    }
  }

  /** Secrets or configs: external looked up; the stack's own created, or their labels updated (contents are immutable). Returns name → ID. */
  private async data(kind: SwarmDataKind, stack: string, planned: PlannedData[], on: <T>(fn: (d: DockerClient) => Promise<T>) => Promise<T>, opts: DeployOptions): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    if (planned.length === 0) return ids;
    const all = await on((d) => listSwarmData(d, kind));
    const noun = kind === 'secrets' ? 'secret' : 'config';
    for (const p of planned) {
      const found = all.find((x) => x.Spec.Name === p.name);
      if (p.external) {
        if (!found) throw new BadRequest(`${noun} "${p.name}" is declared as external, but could not be found: create it before the stack is deployed`, `${kind}.${p.name}`);
        ids.set(p.name, found.ID);
        opts.onStep({ type: 'step', kind: noun, name: p.name, action: 'external' });
        continue;
      }
      const kept = p.spec.Data !== undefined && Buffer.from(p.spec.Data, 'base64').toString('utf8') === KEEP_EXISTING_SECRET;
      if (kept) {
        // A redeploy of a recorded deployment: the secret's content was never stored, so the one in the cluster is used.
        if (!found) throw new BadRequest(`${noun} "${p.name}" no longer exists and its content is not stored by Flotilla: deploy with its file again`, `${kind}.${p.name}`);
        ids.set(p.name, found.ID);
        opts.onStep({ type: 'step', kind: noun, name: p.name, action: 'exists' });
        continue;
      }
      if (!found) {
        const { ID } = await on((d) => createStackData(d, stack, kind, p.spec));
        ids.set(p.name, ID);
        opts.onStep({ type: 'step', kind: noun, name: p.name, action: 'created' });
        continue;
      }
      // As the CLI: the same name is updated in place; the engine refuses a changed content ("only updates to Labels are allowed").
      try {
        await on((d) => updateSwarmData(d, kind, found.ID, found.Version.Index, p.spec));
      } catch (err) {
        if (err instanceof DockerApiError && /only updates to labels/i.test(err.message)) {
          throw new BadRequest(`${noun} "${p.name}" of stack "${stack}" already exists with other content, which Swarm cannot change: rotate it (flotilla ${noun} rotate) or give it a new name`, `${kind}.${p.name}`);
        }
        throw err;
      }
      ids.set(p.name, found.ID);
      opts.onStep({ type: 'step', kind: noun, name: p.name, action: 'updated' });
    }
    return ids;
  }

  private async service(cluster: string, stack: string, composeName: string, name: string, planned: ServiceSpec, current: SwarmService | undefined, on: <T>(fn: (d: DockerClient) => Promise<T>) => Promise<T>, opts: DeployOptions): Promise<ServiceChange> {
    const spec = structuredClone(planned);
    const image = spec.TaskTemplate.ContainerSpec!.Image;
    const query = opts.resolveImage === 'always' || (opts.resolveImage === 'changed' && (!current || current.Spec.Labels?.[IMAGE_LABEL] !== image));
    if (opts.resolveImage === 'changed' && !query && current) spec.TaskTemplate.ContainerSpec!.Image = current.Spec.TaskTemplate.ContainerSpec!.Image;
    const warnings: string[] = [];
    if (query) {
      const pinned = await on((d) => pinDigest(d, image)).catch((err: Error) => {
        warnings.push(`image ${image} could not be accessed on a registry to record its digest: ${err.message.replace(/^host "[^"]*":\s*/, '')}; each node will access ${image} independently, possibly leading to different nodes running different versions of the image`);
        return image;
      });
      spec.TaskTemplate.ContainerSpec!.Image = pinned;
    }
    if (!current) {
      const created = await this.swarm.withManager(cluster, async (d, manager) => {
        await opts.gate(manager, spec);
        return createStackService(d, stack, spec);
      });
      opts.onStep({ type: 'step', kind: 'service', name, action: 'created', image: spec.TaskTemplate.ContainerSpec!.Image, warnings });
      return { name, id: created.ID, action: 'created' };
    }
    // `docker stack deploy` has no --force: the service's ForceUpdate stays what it is.
    spec.TaskTemplate.ForceUpdate = current.Spec.TaskTemplate.ForceUpdate;
    const strategy = opts.strategy;
    if (strategy && (!strategy.options.services || strategy.options.services.includes(composeName)) && !coveredBy(spec, current.Spec)) {
      opts.onStep({ type: 'step', kind: 'service', name, action: 'updated', image: spec.TaskTemplate.ContainerSpec!.Image, warnings });
      const outcome = await strategy.run({
        swarm: this.swarm, cluster, stack, name, composeName, spec, current, gate: opts.gate, signal: strategy.signal, options: strategy.options,
        emit: (e) => opts.onStep(e),
      });
      return { name, id: outcome.id, action: 'updated', strategy: { ...outcome, name: strategy.name } };
    }
    const before = current.Spec;
    await this.swarm.withManager(cluster, async (d, manager) => {
      await opts.gate(manager, spec, current.ID);
      const fresh = await inspectService(d, current.ID);
      await updateService(d, current.ID, fresh.Version.Index, spec);
    });
    const after = await on((d) => inspectService(d, current.ID));
    const action = sameSpec(before, after.Spec) ? 'unchanged' : 'updated';
    opts.onStep({ type: 'step', kind: 'service', name, action, image: spec.TaskTemplate.ContainerSpec!.Image, warnings });
    return { name, id: current.ID, action };
  }
}

/** `image:tag@sha256:…` as the CLI pins it; an image already given by digest stays as it is. */
async function pinDigest(docker: DockerClient, image: string): Promise<string> {
  if (image.includes('@')) return image;
  const { Descriptor } = await inspectDistribution(docker, image, { timeoutMs: 30_000 });
  return `${image}@${Descriptor.digest}`;
}

/** Secret and config references get the IDs of the objects of those names. */
function withDataIds(spec: ServiceSpec, secrets: Map<string, string>, configs: Map<string, string>): ServiceSpec {
  const out = structuredClone(spec);
  const cs = out.TaskTemplate.ContainerSpec as { Secrets?: { SecretName: string; SecretID?: string }[]; Configs?: { ConfigName: string; ConfigID?: string }[] } | undefined;
  for (const s of cs?.Secrets ?? []) s.SecretID = secrets.get(s.SecretName) ?? s.SecretID;
  for (const c of cs?.Configs ?? []) c.ConfigID = configs.get(c.ConfigName) ?? c.ConfigID;
  return out;
}
