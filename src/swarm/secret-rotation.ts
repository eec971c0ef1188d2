// Rotation of a secret or config: Swarm objects are immutable, so the next
// version is created (`<base>-v<N>`, labelled flotilla.rotation.of=<base> and
// flotilla.rotation.version=<N>), every service that uses the old one is moved
// to it one at a time with the same target (file name, uid, gid, mode), each
// is waited on until its running tasks carry the new one, and only then the old
// one is removed. A failure rolls the moved services back to the old object,
// removes the new one if nothing uses it, and reports what was done.
import { z } from 'zod';
import type { DockerClient } from '../docker/client.ts';
import { listSwarmData, type SwarmDataObject } from '../docker/secrets.ts';
import { inspectService, listServices, listTasks, updateService, type SwarmService, type SwarmTask } from '../docker/swarm.ts';
import { BadRequest, DockerApiError } from '../errors.ts';
import type { Swarm } from './swarm.ts';
import {
  KINDS, ROTATION_OF_LABEL, ROTATION_VERSION_LABEL, encodeData, fileTargetSchema, fileTarget, refId, refsOf, usersOf,
  type DataKind, type DataRef, type SwarmData,
} from './secrets.ts';

const POLL_MS = 500;
const DEFAULT_TIMEOUT_MS = 120_000;
const TASK_FAILED = new Set(['failed', 'rejected']);

const objectRefSchema = z.object({ id: z.string(), name: z.string() });
export const serviceMoveSchema = z.object({
  id: z.string(),
  name: z.string(),
  target: fileTargetSchema.nullable(),
  status: z.enum(['pending', 'moved', 'failed', 'rolled_back', 'rollback_failed']),
  message: z.string().optional(),
});
export type ServiceMove = z.infer<typeof serviceMoveSchema>;

export const rotationResultSchema = z.object({
  ok: z.boolean(),
  kind: z.enum(['secret', 'config']),
  from: objectRefSchema,
  to: objectRefSchema.nullable(),
  services: z.array(serviceMoveSchema),
  oldRemoved: z.boolean(),
  /** After a failure: whether the new object was removed again (nothing used it any more). */
  newRemoved: z.boolean(),
  error: z.string().optional(),
  /** Why the old object was kept although every service moved (e.g. a service started using it meanwhile). */
  oldKeptReason: z.string().optional(),
  durationMs: z.number(),
});
export type RotationResult = z.infer<typeof rotationResultSchema>;

export type RotationEvent =
  | { type: 'created'; id: string; name: string }
  | { type: 'service'; service: string; phase: 'updating' | 'converging' | 'moved' | 'failed' | 'rolling_back' | 'rolled_back' | 'rollback_failed'; running?: number; desired?: number; failedTasks?: number; message?: string }
  | { type: 'removed'; id: string; name: string }
  | ({ type: 'result' } & RotationResult);

export interface RotateInput {
  data: string;
  encoding?: 'text' | 'base64';
  /** Deadline for each service to converge (default 120 s). */
  timeoutMs?: number;
  onProgress?: (e: RotationEvent) => void;
}

/** The base name and version of an object: from the rotation labels, else its own name at version 1. */
export function rotationOf(o: SwarmDataObject): { base: string; version: number } {
  const labels = o.Spec.Labels ?? {};
  const base = labels[ROTATION_OF_LABEL];
  const version = Number(labels[ROTATION_VERSION_LABEL]);
  if (base && Number.isInteger(version) && version >= 1) return { base, version };
  return { base: o.Spec.Name, version: 1 };
}

/** `<base>-v<N>` for the first N above the current version whose name is free. */
export function nextRotationName(base: string, version: number, taken: Set<string>): { name: string; version: number } {
  for (let n = version + 1; ; n++) {
    const name = `${base}-v${n}`;
    if (!taken.has(name)) return { name, version: n };
  }
}

class RotationFailure extends Error {}

/** The service's spec with every reference to `fromId` pointing at `to`, target kept. */
function respec(kind: DataKind, service: SwarmService, fromId: string, to: { id: string; name: string }): SwarmService['Spec'] {
  const k = KINDS[kind];
  const spec = structuredClone(service.Spec);
  const cs = spec.TaskTemplate.ContainerSpec as Record<string, unknown>;
  cs[k.refs] = refsOf(kind, spec.TaskTemplate).map((r: DataRef) => (refId(kind, r) === fromId ? { ...r, [k.id]: to.id, [k.name]: to.name } : r));
  return spec;
}

/** Writes the reference change at the service's current version; one re-read if someone updated it in between. */
async function moveService(kind: DataKind, docker: DockerClient, serviceId: string, fromId: string, to: { id: string; name: string }): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const service = await inspectService(docker, serviceId);
    if (!refsOf(kind, service.Spec.TaskTemplate).some((r) => refId(kind, r) === fromId)) return false;
    try {
      await updateService(docker, serviceId, service.Version.Index, respec(kind, service, fromId, to));
      return true;
    } catch (err) {
      if (attempt === 0 && err instanceof DockerApiError && /update out of sequence/i.test(err.message)) continue;
      throw err;
    }
  }
}

interface Convergence {
  done: boolean;
  running: number;
  desired: number;
  failedTasks: number;
  failure?: string;
}

/**
 * Whether every task the service wants running carries `id` and runs, and no
 * task with `otherId` still runs. The service's UpdateStatus fails the wait
 * early (paused, or rolled back by the engine); a status that started before
 * our write (`since`, less 2 s for clock skew between Flotilla and the engine)
 * belongs to an earlier update and is ignored.
 */
export function convergence(kind: DataKind, service: SwarmService, tasks: SwarmTask[], id: string, otherId: string, since = 0): Convergence {
  const carries = (t: SwarmTask, x: string) => refsOf(kind, t.Spec).some((r) => refId(kind, r) === x);
  const wanted = tasks.filter((t) => t.DesiredState === 'running');
  const runningNew = wanted.filter((t) => carries(t, id) && t.Status.State === 'running').length;
  const runningOld = tasks.filter((t) => carries(t, otherId) && t.Status.State === 'running').length;
  const failedTasks = tasks.filter((t) => carries(t, id) && TASK_FAILED.has(t.Status.State)).length;
  const desired = service.Spec.Mode?.Replicated ? service.Spec.Mode.Replicated.Replicas : wanted.length;
  const status = service.UpdateStatus as { State?: string; Message?: string; StartedAt?: string } | undefined;
  const fresh = status?.State && (!status.StartedAt || Date.parse(status.StartedAt) >= since - 2000);
  const state = fresh ? status.State : undefined;
  const why = `${state ? `update ${state}` : 'changed by someone else'}${status?.Message ? `: ${status.Message}` : ''}`;
  let failure: string | undefined;
  if (!refsOf(kind, service.Spec.TaskTemplate).some((r) => refId(kind, r) === id)) failure = `the service no longer uses ${kind} ${id.slice(0, 12)} (${why})`;
  else if (state === 'paused' || state === 'rollback_paused' || state === 'rollback_started') failure = why;
  const settling = state === 'updating';
  const done = !failure && !settling && runningNew >= desired && runningOld === 0 && wanted.every((t) => carries(t, id));
  return { done, running: runningNew, desired, failedTasks, failure };
}

export class DataRotation {
  private readonly swarm: Swarm;
  private readonly data: SwarmData;

  constructor(swarm: Swarm, data: SwarmData) {
    this.swarm = swarm;
    this.data = data;
  }

  private get kind(): DataKind {
    return this.data.kind;
  }

  async rotate(cluster: string, ref: string, input: RotateInput): Promise<RotationResult> {
    const started = Date.now();
    const kind = this.kind;
    const emit = input.onProgress ?? (() => undefined);
    const timeoutMs = input.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const encoded = encodeData(kind, input.data, input.encoding ?? 'text');
    const old = await this.swarm.withManager(cluster, (docker) => this.data.find(docker, cluster, ref));
    const from = { id: old.ID, name: old.Spec.Name };
    const { base, version } = rotationOf(old);
    const taken = new Set((await this.swarm.withManager(cluster, (docker) => listSwarmData(docker, KINDS[kind].api))).map((o) => o.Spec.Name));
    const next = nextRotationName(base, version, taken);
    if (next.name.length > 64) throw new BadRequest(`the next version's name "${next.name}" is longer than the engine's 64 characters: rename the ${kind} to a shorter base first`, 'id');

    const labels = { ...(old.Spec.Labels ?? {}), [ROTATION_OF_LABEL]: base, [ROTATION_VERSION_LABEL]: String(next.version) };
    const created = await this.swarm.withManager(cluster, (docker) => this.data.createOnce(docker, {
      Name: next.name, Labels: labels, Data: encoded, ...(old.Spec.Templating ? { Templating: old.Spec.Templating } : {}),
    }));
    const to = { id: created.ID, name: next.name };
    emit({ type: 'created', ...to });

    const users = usersOf(kind, await this.swarm.withManager(cluster, (docker) => listServices(docker)), old.ID);
    const moves: ServiceMove[] = users.map(({ service, refs }) => ({ id: service.ID, name: service.Spec.Name ?? service.ID, target: fileTarget(refs[0]!), status: 'pending' }));
    const result = (extra: Partial<RotationResult> & { ok: boolean }): RotationResult => ({
      kind, from, to, services: moves, oldRemoved: false, newRemoved: false, ...extra, durationMs: Date.now() - started,
    });

    const touched: ServiceMove[] = [];
    try {
      for (const move of moves) {
        emit({ type: 'service', service: move.name, phase: 'updating' });
        touched.push(move);
        try {
          const since = Date.now();
          await this.swarm.withManager(cluster, (docker) => moveService(kind, docker, move.id, old.ID, to));
          await this.waitConverged(cluster, move, to.id, old.ID, since, timeoutMs, emit);
        } catch (err) {
          move.status = 'failed';
          move.message = (err as Error).message;
          emit({ type: 'service', service: move.name, phase: 'failed', message: move.message });
          throw err;
        }
        move.status = 'moved';
        emit({ type: 'service', service: move.name, phase: 'moved' });
      }
    } catch (err) {
      const error = `${kind} rotation of "${from.name}" stopped at service "${touched.at(-1)?.name}": ${(err as Error).message}`;
      await this.rollBack(cluster, touched, old, to, timeoutMs, emit);
      const newRemoved = await this.removeIfUnused(cluster, to, emit);
      return result({ ok: false, error, newRemoved });
    }

    // Never remove the old one while a service (perhaps one created meanwhile) still uses it.
    const still = usersOf(kind, await this.swarm.withManager(cluster, (docker) => listServices(docker)), old.ID);
    if (still.length) return result({ ok: true, oldKeptReason: `still used by ${still.map((u) => u.service.Spec.Name).join(', ')}` });
    try {
      await this.swarm.withManager(cluster, (docker) => this.data.removeById(docker, old.ID));
      emit({ type: 'removed', ...from });
      return result({ ok: true, oldRemoved: true });
    } catch (err) {
      return result({ ok: true, oldKeptReason: `removing it failed: ${(err as Error).message}` });
    }
  }

  /** Polls the service and its tasks until they run with `id`, a failure shows, or the deadline passes. */
  private async waitConverged(cluster: string, move: ServiceMove, id: string, otherId: string, since: number, timeoutMs: number, emit: (e: RotationEvent) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const c = await this.swarm.withManager(cluster, async (docker) => {
        const [service, tasks] = await Promise.all([inspectService(docker, move.id), listTasks(docker, { filters: { service: [move.id] } })]);
        return convergence(this.kind, service, tasks, id, otherId, since);
      });
      if (c.failure) throw new RotationFailure(`service "${move.name}": ${c.failure}`);
      const seen = `${c.running}/${c.desired}/${c.failedTasks}`;
      if (seen !== last) {
        last = seen;
        emit({ type: 'service', service: move.name, phase: 'converging', running: c.running, desired: c.desired, failedTasks: c.failedTasks });
      }
      if (c.done) return;
      if (Date.now() > deadline) {
        throw new RotationFailure(`service "${move.name}" did not converge within ${Math.round(timeoutMs / 1000)} s (${c.running} of ${c.desired} tasks running with the new version, ${c.failedTasks} failed)`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Points every touched service back at the old object (unless the engine's own rollback already did) and waits for it. */
  private async rollBack(cluster: string, touched: ServiceMove[], old: SwarmDataObject, to: { id: string; name: string }, timeoutMs: number, emit: (e: RotationEvent) => void): Promise<void> {
    const back = { id: old.ID, name: old.Spec.Name };
    for (const move of touched.toReversed()) {
      emit({ type: 'service', service: move.name, phase: 'rolling_back' });
      try {
        const since = Date.now();
        await this.swarm.withManager(cluster, (docker) => moveService(this.kind, docker, move.id, to.id, back));
        await this.waitConverged(cluster, move, back.id, to.id, since, timeoutMs, () => undefined);
        move.status = 'rolled_back';
        emit({ type: 'service', service: move.name, phase: 'rolled_back' });
      } catch (err) {
        move.status = 'rollback_failed';
        move.message = `${move.message ? `${move.message}; ` : ''}rollback: ${(err as Error).message}`;
        emit({ type: 'service', service: move.name, phase: 'rollback_failed', message: move.message });
      }
    }
  }

  private async removeIfUnused(cluster: string, obj: { id: string; name: string }, emit: (e: RotationEvent) => void): Promise<boolean> {
    try {
      return await this.swarm.withManager(cluster, async (docker) => {
        if (usersOf(this.kind, await listServices(docker), obj.id).length) return false;
        await this.data.removeById(docker, obj.id);
        emit({ type: 'removed', ...obj });
        return true;
      });
    } catch {
      return false; // reported as newRemoved: false
    }
  }
}
