// Updates one container to a new image (SPEC S6): inspect → pull → stop → rename
// the old one to a backup → create the new one with the same configuration →
// start → health gate → remove the backup; on a failure after the stop, the old
// container is put back and checked. Only src/docker is used, so the agent (its
// own engine) and the server (direct hosts) run the same code.
import { randomUUID } from 'node:crypto';
import type { DockerClient } from '../../docker/client.ts';
import { createContainer, inspectContainer, removeContainer, renameContainer, startContainer, stopContainer } from '../../docker/containers.ts';
import type { ContainerInspect } from '../../docker/container-types.ts';
import { inspectImage } from '../../docker/images.ts';
import type { ImageInspect } from '../../docker/images.ts';
import { connectNetwork } from '../../docker/networks.ts';
import { Conflict, NotFound } from '../../errors.ts';
import { buildRecreateSpec, containerName } from './create-spec.ts';
import type { ImageDefaults, RecreateSpec } from './create-spec.ts';
import { configFingerprints, configSnapshot } from './fingerprint.ts';
import { passHealthGate } from './health-gate.ts';
import { checkUpdateId } from './journal.ts';
import { pullForUpdate, repoDigest } from './pull.ts';
import type { PulledImage } from './pull.ts';
import { backupNameOf, refusalFromEngine, refusalFromInspect } from './refusals.ts';
import { activeUpdateIds, restoredProblem, restoreOldContainer } from './restore.ts';
import { errorMessage, StepRecorder } from './steps.ts';
import type { InFlightUpdate, UpdateOptions, UpdatePlan, UpdateResult, UpdateStep } from './types.ts';

type ResultFields = Omit<UpdateResult, 'outcome' | 'steps' | 'durationMs'>;

interface Prepared {
  before: ContainerInspect;
  oldImage: ImageDefaults | undefined;
  reference: string;
  volumesFrom: Set<string>;
  fields: ResultFields;
}

/** Everything one update carries from step to step. */
interface Run {
  docker: DockerClient;
  plan: UpdatePlan;
  opts: UpdateOptions;
  steps: StepRecorder;
  rec: InFlightUpdate;
  fields: ResultFields;
}

function finish(fields: ResultFields, steps: StepRecorder, outcome: UpdateResult['outcome'], reason?: string): UpdateResult {
  return { outcome, ...fields, ...(reason === undefined ? {} : { reason }), steps: steps.events, durationMs: steps.elapsedMs() };
}

async function inspectOldImage(docker: DockerClient, id: string, signal?: AbortSignal): Promise<ImageInspect | undefined> {
  try {
    return await inspectImage(docker, id, { signal });
  } catch (error) {
    if (error instanceof NotFound) return undefined;
    throw error;
  }
}

/** `VolumesFrom: ["other:ro"]`: the destinations those containers lend are not this one's anonymous volumes. */
async function volumesFromDestinations(docker: DockerClient, inspect: ContainerInspect, signal?: AbortSignal): Promise<Set<string>> {
  const out = new Set<string>();
  for (const entry of (inspect.HostConfig.VolumesFrom as string[] | null | undefined) ?? []) {
    const source = await inspectContainer(docker, entry.split(':')[0] ?? entry, { signal });
    for (const mount of source.Mounts) out.add(mount.Destination);
  }
  return out;
}

/** Inspect and refusals: throws UpdateRefused (or NotFound) before anything is touched. */
async function prepare(docker: DockerClient, plan: UpdatePlan, steps: StepRecorder, signal?: AbortSignal): Promise<Prepared> {
  await steps.emit('inspect', `inspecting ${plan.containerId}`);
  const before = await inspectContainer(docker, plan.containerId, { signal });
  const reference = plan.image ?? before.Config.Image ?? '';
  const refusal = refusalFromInspect(before, before.Config.Image ?? '', reference) ?? (await refusalFromEngine(docker, before, signal));
  if (refusal !== undefined) throw refusal;
  const image = await inspectOldImage(docker, before.Image, signal);
  if (image === undefined) await steps.emit('inspect', `the old image ${before.Image.slice(7, 19)} is gone: every configuration value is kept`);
  const fields: ResultFields = {
    containerName: containerName(before),
    oldContainerId: before.Id,
    oldImageId: before.Image,
    ...optional('fromDigest', repoDigest(image, before.Config.Image ?? reference)),
  };
  return { before, oldImage: image?.Config, reference, volumesFrom: await volumesFromDestinations(docker, before, signal), fields };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/**
 * Journal first, then the listener: a process that dies in the step finds it recorded.
 * An abort takes effect here, between steps (and inside the pull and the health gate):
 * a stop or create cut off half-way would leave the engine still doing it while we undo it.
 */
async function begin(run: Run, step: UpdateStep, message: string): Promise<void> {
  run.opts.signal?.throwIfAborted();
  run.rec.phase = step;
  await run.opts.journal?.save(run.rec);
  await run.steps.emit(step, message);
}

async function stopAndRename(run: Run, old: ContainerInspect): Promise<void> {
  const { docker, rec } = run;
  const t = run.plan.stopTimeoutSeconds ?? old.Config.StopTimeout;
  await begin(run, 'stop', rec.wasRunning ? `stopping ${rec.containerName}${t === undefined ? '' : ` (grace ${t} s)`}` : `${rec.containerName} is not running`);
  if (rec.wasRunning) await stopContainer(docker, old.Id, { t });
  await begin(run, 'rename', `renaming ${rec.containerName} to ${rec.backupName}`);
  await renameContainer(docker, old.Id, rec.backupName);
}

async function createReplacement(run: Run, spec: RecreateSpec): Promise<string> {
  const { docker, rec, opts } = run;
  await begin(run, 'create', `creating ${spec.name} from ${spec.body.Image}`);
  const created = await createContainer(docker, spec.name, spec.body);
  rec.newContainerId = created.Id;
  await opts.journal?.save(rec);
  for (const warning of created.Warnings ?? []) await run.steps.emit('create', `engine warning: ${warning}`);
  for (const { name, endpoint } of spec.extraNetworks) {
    await run.steps.emit('create', `connecting ${spec.name} to ${name}`);
    await connectNetwork(docker, name, created.Id, { endpointConfig: endpoint });
  }
  return created.Id;
}

/** Stop → rename → create → start → health gate. Throws at the first failure. */
async function replace(run: Run, old: ContainerInspect, spec: RecreateSpec): Promise<void> {
  await stopAndRename(run, old);
  const newId = await createReplacement(run, spec);
  if (!run.rec.wasRunning) return;
  await begin(run, 'start', `starting ${spec.name} (${newId.slice(0, 12)})`);
  await startContainer(run.docker, newId);
  await begin(run, 'health', 'checking the new container');
  const { healthTimeoutMs, stableMs } = run.plan;
  await passHealthGate(run.docker, newId, { healthTimeoutMs, stableMs, signal: run.opts.signal, onWait: (m) => run.steps.emit('health', m) });
}

async function rollBack(run: Run, before: ContainerInspect, reason: string): Promise<UpdateResult> {
  const { docker, rec, steps, opts } = run;
  await steps.emit('rollback', `${reason}: putting the old container back`);
  const kept = opts.journal === undefined ? '' : '; the journal keeps it for recoverInterruptedUpdates';
  try {
    rec.phase = 'rollback';
    await opts.journal?.save(rec);
    const restored = await restoreOldContainer(docker, rec);
    const problem = restoredProblem(restored, rec, configSnapshot(before));
    await opts.journal?.clear(rec.id);
    if (problem !== undefined) return finish(run.fields, steps, 'failed', `${reason}; the old container is back, but ${problem}`);
  } catch (error) {
    return finish(run.fields, steps, 'failed', `${reason}; rollback failed: ${errorMessage(error)}${kept}`);
  }
  await steps.emit('restored', `${rec.containerName} is back${rec.wasRunning ? ' and running' : ''}, configuration unchanged`);
  return finish(run.fields, steps, 'rolled_back', reason);
}

async function cleanUp(run: Run): Promise<UpdateResult> {
  const { docker, rec, steps, opts } = run;
  try {
    await begin(run, 'cleanup', `removing the old container ${rec.backupName}`);
    await removeContainer(docker, rec.oldContainerId, { force: true, v: false });
    await opts.journal?.clear(rec.id);
  } catch (error) {
    return finish(run.fields, steps, 'updated', `updated, but the cleanup failed: ${errorMessage(error)}; ${rec.backupName} may be left`);
  }
  return finish(run.fields, steps, 'updated');
}

function inFlight(docker: DockerClient, id: string, prep: Prepared, pulled: PulledImage): InFlightUpdate {
  const { before } = prep;
  return {
    id,
    containerName: containerName(before),
    oldContainerId: before.Id,
    backupName: backupNameOf(containerName(before), before.Id),
    wasRunning: before.State.Running,
    phase: 'stop',
    startedAt: Date.now(),
    host: docker.label,
    oldImageId: before.Image,
    newImageId: pulled.image.Id,
    configFingerprints: configFingerprints(before),
  };
}

async function runUpdate(docker: DockerClient, plan: UpdatePlan, opts: UpdateOptions, steps: StepRecorder, id: string): Promise<UpdateResult> {
  const prep = await prepare(docker, plan, steps, opts.signal);
  let pulled: PulledImage;
  try {
    pulled = await pullForUpdate(docker, prep.reference, { auth: plan.pullAuth, skipPull: plan.skipPull, signal: opts.signal }, steps);
  } catch (error) {
    return finish(prep.fields, steps, 'failed', `pull failed: ${errorMessage(error)}; nothing was changed`);
  }
  const fields: ResultFields = { ...prep.fields, newImageId: pulled.image.Id, ...optional('toDigest', pulled.digest) };
  if (pulled.image.Id === prep.before.Image) return finish(fields, steps, 'unchanged', `${prep.reference} is the image it runs`);
  if (opts.signal?.aborted === true) return finish(fields, steps, 'failed', 'aborted before the stop; nothing was changed');
  const spec = buildRecreateSpec({ old: prep.before, oldImage: prep.oldImage, image: prep.reference, volumesFromDestinations: prep.volumesFrom });
  const run: Run = { docker, plan, opts, steps, rec: inFlight(docker, id, prep, pulled), fields };
  try {
    await opts.journal?.save(run.rec);
  } catch (error) {
    return finish(fields, steps, 'failed', `journal: ${errorMessage(error)}; nothing was changed`);
  }
  try {
    await replace(run, prep.before, spec);
  } catch (error) {
    if (run.rec.newContainerId !== undefined) fields.newContainerId = run.rec.newContainerId;
    return rollBack(run, prep.before, `${steps.current} failed: ${errorMessage(error)}`);
  }
  if (run.rec.newContainerId !== undefined) fields.newContainerId = run.rec.newContainerId;
  return cleanUp(run);
}

/**
 * Refusals (UpdateRefused) and a container that is not there (NotFound) throw before
 * anything is touched; every other end is a result: `unchanged`, `updated`, `failed`
 * (nothing changed, or a rollback that did not finish) or `rolled_back`.
 */
export async function updateContainer(docker: DockerClient, plan: UpdatePlan, opts: UpdateOptions = {}): Promise<UpdateResult> {
  const id = checkUpdateId(opts.updateId ?? randomUUID());
  if (activeUpdateIds.has(id)) throw new Conflict(`update ${id} is already running`);
  activeUpdateIds.add(id);
  try {
    return await runUpdate(docker, plan, opts, new StepRecorder(opts.onStep), id);
  } finally {
    activeUpdateIds.delete(id);
  }
}
