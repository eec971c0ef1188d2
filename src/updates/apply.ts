// Applies one container update (SPEC S6) and records it: the decision (policy,
// paused host, window), one lock per container, the run row from start to
// outcome, the audit record, the notice. Where it runs: on the agent for agent
// hosts (AgentRuns), here for direct hosts, with a journal on disk so an update
// interrupted by a server restart or an engine crash is undone on return.
import crypto from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Store } from '../store/index.ts';
import type { HostRow } from '../store/hosts-repo.ts';
import type { UpdateRunRow } from '../store/updates-repo.ts';
import type { DockerClient } from '../docker/client.ts';
import type { RegistryAuth } from '../docker/images.ts';
import { inspectContainer } from '../docker/containers.ts';
import { Conflict } from '../errors.ts';
import { updateContainer, type UpdateJournal, type UpdateResult, type UpdateStepEvent } from './recreate/index.ts';
import { mayUpdateNow, resolveUpdatePolicy } from './policy.ts';
import { effectiveWindow } from './window.ts';
import { parseImageRef } from './registry/reference.ts';
import type { UpdateSettings } from './settings.ts';
import type { AgentRuns } from './agent-runs.ts';
import type { UpdateNotice } from './notify/index.ts';
import { awaitSelfUpdateResult, isSelfContainer, isUpdaterContainer, launchSelfUpdate } from './self-update/index.ts';

export type UpdateTrigger = 'auto' | 'manual' | 'self';

export interface ApplyRequest {
  host: HostRow;
  container: string;
  trigger: UpdateTrigger;
  user: string | null;
  /** Another reference to move to; default the one the container runs. */
  image?: string;
  onStep?: (e: UpdateStepEvent) => void;
  /** Set by apply: the container is a Flotilla agent (label flotilla.self=true). */
  self?: boolean;
}

export interface ApplyDeps {
  store: Store;
  log: Logger;
  docker: (host: HostRow) => Promise<DockerClient>;
  agentRuns: AgentRuns;
  journal: UpdateJournal;
  settings: () => Promise<UpdateSettings>;
  policies: () => Promise<{ overrides: Record<string, string>; defaultPolicy?: string }>;
  onStep: (run: { id: string; host: string; container: string }, e: UpdateStepEvent) => void;
  onFinished: (run: UpdateRunRow, notice: UpdateNotice | undefined) => void;
}

const SWARM_TASK_LABEL = 'com.docker.swarm.service.id';

export class UpdateApplier {
  private readonly d: ApplyDeps;
  private readonly locks = new Set<string>();

  constructor(deps: ApplyDeps) {
    this.d = deps;
  }

  /** Runs the update to its outcome and returns the completed run. Refusals (policy, lock, Swarm task) are 409 before anything starts. */
  async apply(req: ApplyRequest): Promise<UpdateRunRow> {
    const docker = await this.d.docker(req.host);
    const current = await inspectContainer(docker, req.container);
    const name = current.Name.replace(/^\//, '');
    const labels = current.Config.Labels ?? {};
    if (labels[SWARM_TASK_LABEL]) {
      throw new Conflict(`container "${name}" is a task of Swarm service ${labels['com.docker.swarm.service.name'] ?? labels[SWARM_TASK_LABEL]}: tasks are updated by a service update (flotilla service update … --image), not by recreating the container`);
    }
    const image = current.Config.Image ?? '';
    if (isUpdaterContainer(labels)) throw new Conflict(`container "${name}" is a self-update's updater: it is never updated`);
    req = { ...req, self: isSelfContainer(labels) };
    const settings = await this.decide(req, name, labels, image);
    const key = `${req.host.id}/${name}`;
    if (this.locks.has(key)) throw new Conflict(`container "${name}" on host "${req.host.name}" is being updated now`);
    this.locks.add(key);
    try {
      return await this.run(req, docker, current.Id, name, image, settings);
    } finally {
      this.locks.delete(key);
    }
  }

  /** Refuses (409) what policy, a paused host or the window forbid; answers the settings it judged by. */
  private async decide(req: ApplyRequest, name: string, labels: Record<string, string>, image: string): Promise<UpdateSettings> {
    const p = await this.d.policies();
    const resolved = resolveUpdatePolicy({ labels, containerName: name, overrides: p.overrides, hostId: req.host.id, defaultPolicy: p.defaultPolicy, image });
    const s = await this.d.settings();
    // An agent following the server's version is held back only by its own label or an override naming it,
    // not by the default policy meant for workloads, nor by a digest reference (the version picks the tag).
    const policy = req.trigger === 'self' && resolved.source !== 'label' && resolved.source !== 'override' ? 'manual' : resolved.policy;
    const decision = mayUpdateNow({
      policy, trigger: req.trigger === 'auto' ? 'auto' : 'manual',
      hostPaused: req.host.agent_state === 'paused' || req.host.status === 'maintenance', agentAutonomous: false,
      window: effectiveWindow(s.hostWindows[req.host.id], s.window), windowDurationMs: s.windowDurationMs,
    });
    if (!decision.allowed) throw new Conflict(`container "${name}" on host "${req.host.name}" is not updated: ${decision.reason}`);
    return s;
  }

  private async run(req: ApplyRequest, docker: DockerClient, containerId: string, name: string, image: string, s: UpdateSettings): Promise<UpdateRunRow> {
    const id = crypto.randomUUID();
    const target = req.image ?? image;
    const check = await this.d.store.updates.check(req.host.id, containerId);
    await this.d.store.updates.startRun({
      id, host_id: req.host.id, container_name: name, old_container_id: containerId, image_ref: target,
      from_digest: check?.current_digest ?? null, trigger: req.trigger, started_by: req.user, started_at: new Date().toISOString(),
    });
    const plan = { containerId, image: target, pullAuth: await this.pullAuth(target), stableMs: s.stableMs };
    const onStep = (e: UpdateStepEvent) => {
      req.onStep?.(e);
      this.d.onStep({ id, host: req.host.name, container: name }, e);
    };
    let result: UpdateResult;
    try {
      // An agent cannot recreate its own container in-process: an updater container from the new image does it.
      if (req.host.kind === 'agent' && req.self) {
        const { updaterId } = await launchSelfUpdate(docker, { agentContainerId: containerId, image: target, updateId: id, pullAuth: plan.pullAuth, stableMs: plan.stableMs });
        result = await awaitSelfUpdateResult(docker, updaterId);
      } else {
        result = req.host.kind === 'agent'
          ? await this.d.agentRuns.run(req.host, plan, id, onStep)
          : await updateContainer(docker, plan, { journal: this.d.journal, updateId: id, onStep: (e) => this.stepHere(id, e, onStep) });
      }
    } catch (err) {
      result = { outcome: 'failed', containerName: name, oldContainerId: containerId, oldImageId: '', reason: (err as Error).message, steps: [], durationMs: 0 };
    }
    await this.complete(id, result);
    return (await this.d.store.updates.run(id))!;
  }

  /** Direct hosts: steps stored as they happen (an agent's arrive through its journal). */
  private stepHere(id: string, e: UpdateStepEvent, onStep: (e: UpdateStepEvent) => void): void {
    onStep(e);
    if (!e.progress) void this.d.store.updates.appendStep(id, e).catch((err: Error) => this.d.log.warn({ err: err.message, update: id }, 'could not store an update step'));
  }

  /** The outcome of a run, once: from the waiting apply, or from an agent's journal after a server restart. */
  async complete(id: string, result: UpdateResult): Promise<void> {
    const status = result.outcome;
    const first = await this.d.store.updates.finishRun(id, {
      status, reason: result.reason, newContainerId: result.newContainerId, toDigest: result.toDigest, durationMs: result.durationMs,
      steps: result.steps.length ? result.steps.filter((s) => !s.progress) : undefined,
    });
    if (!first) return;
    const run = (await this.d.store.updates.run(id))!;
    const host = await this.d.store.hosts.find(run.host_id);
    if (status === 'updated') await this.d.store.updates.markUpdated(run.host_id, run.old_container_id, result.newContainerId ?? run.old_container_id, result.toDigest ?? null);
    await this.d.store.audit.record({
      user_id: null, username: run.started_by, action: 'container update', target: `${host?.name ?? run.host_id}/${run.container_name}`,
      result: status === 'updated' || status === 'unchanged' ? 'ok' : 'error',
      detail: JSON.stringify({ update: id, trigger: run.trigger, outcome: status, image: run.image_ref, from: run.from_digest, to: result.toDigest ?? null, reason: result.reason ?? null }),
      request_id: null, source_ip: null,
    });
    const notice: UpdateNotice | undefined = status === 'updated' || status === 'rolled_back'
      ? {
        kind: status, at: new Date().toISOString(), host: { id: run.host_id, name: host?.name ?? run.host_id },
        container: { id: result.newContainerId ?? run.old_container_id, name: run.container_name }, image: run.image_ref,
        fromDigest: run.from_digest ?? undefined, toDigest: result.toDigest, reason: result.reason,
      }
      : undefined;
    this.d.onFinished(run, notice);
  }

  /** Credentials of the image's registry for the pull, when Flotilla has them. */
  private async pullAuth(image: string): Promise<RegistryAuth | undefined> {
    try {
      const ref = parseImageRef(image);
      const access = await this.d.store.registries.access(ref.registry);
      if (!access?.username || !access.password) return undefined;
      return { username: access.username, password: access.password, serveraddress: ref.registry };
    } catch {
      return undefined;
    }
  }
}
