// Puts the old container back: the same steps after a failed update (rollback)
// and after an interrupted one (recovery from the journal, on process start or
// when the engine returns). Both end with a check that it is what it was.
import type { DockerClient } from '../../docker/client.ts';
import { inspectContainer, removeContainer, renameContainer, startContainer } from '../../docker/containers.ts';
import type { ContainerInspect } from '../../docker/container-types.ts';
import { NotFound } from '../../errors.ts';
import { configFingerprints, configSnapshot, differingFields, differingFingerprints } from './fingerprint.ts';
import type { ConfigSnapshot } from './fingerprint.ts';
import { errorMessage, StepRecorder } from './steps.ts';
import type { InFlightUpdate, StepListener, UpdateJournal, UpdateResult } from './types.ts';

/** Ids of the updates this process is running: recovery leaves their records alone. */
export const activeUpdateIds = new Set<string>();

async function inspectOrUndefined(docker: DockerClient, id: string): Promise<ContainerInspect | undefined> {
  try {
    return await inspectContainer(docker, id);
  } catch (error) {
    if (error instanceof NotFound) return undefined;
    throw error;
  }
}

async function removeIfPresent(docker: DockerClient, id: string): Promise<void> {
  try {
    // v: anonymous volumes the new image declared go with it; the old ones it reused are named mounts and stay.
    await removeContainer(docker, id, { force: true, v: true });
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
}

/**
 * Removes the new container (by id, and whatever else holds the name: a create whose
 * answer was lost), renames the backup back and starts it if it was running.
 */
export async function restoreOldContainer(docker: DockerClient, rec: InFlightUpdate): Promise<ContainerInspect> {
  if (rec.newContainerId !== undefined) await removeIfPresent(docker, rec.newContainerId);
  const holder = await inspectOrUndefined(docker, rec.containerName);
  if (holder !== undefined && holder.Id !== rec.oldContainerId) await removeIfPresent(docker, holder.Id);
  const old = await inspectOrUndefined(docker, rec.oldContainerId);
  if (old === undefined) throw new Error(`the old container ${rec.oldContainerId.slice(0, 12)} is gone`);
  if (old.Name !== `/${rec.containerName}`) await renameContainer(docker, old.Id, rec.containerName);
  if (rec.wasRunning && !old.State.Running) await startContainer(docker, old.Id);
  return inspectContainer(docker, old.Id);
}

/** Undefined when the restored container is what it was; otherwise what differs. */
export function restoredProblem(restored: ContainerInspect, rec: InFlightUpdate, before?: ConfigSnapshot): string | undefined {
  if (rec.wasRunning && !restored.State.Running) return `it is not running (${restored.State.Status}, exit code ${restored.State.ExitCode})`;
  const fields =
    before !== undefined
      ? differingFields(before, configSnapshot(restored))
      : rec.configFingerprints !== undefined
        ? differingFingerprints(rec.configFingerprints, configFingerprints(restored))
        : [];
  return fields.length === 0 ? undefined : `its configuration differs from before the update: ${fields.join(', ')}`;
}

function recoveryResult(rec: InFlightUpdate, steps: StepRecorder, outcome: UpdateResult['outcome'], reason: string): UpdateResult {
  return {
    outcome,
    containerName: rec.containerName,
    oldContainerId: rec.oldContainerId,
    ...(rec.newContainerId === undefined ? {} : { newContainerId: rec.newContainerId }),
    oldImageId: rec.oldImageId ?? '',
    ...(rec.newImageId === undefined ? {} : { newImageId: rec.newImageId }),
    reason,
    steps: steps.events,
    durationMs: steps.elapsedMs(),
  };
}

/** Interrupted after the new container passed its gate: finish instead of undoing. */
async function finishCleanup(docker: DockerClient, rec: InFlightUpdate, steps: StepRecorder): Promise<UpdateResult> {
  await steps.emit('cleanup', `interrupted during cleanup: removing the backup ${rec.backupName}`);
  const current = await inspectOrUndefined(docker, rec.containerName);
  if (current === undefined || current.Id === rec.oldContainerId) throw new Error(`no new container holds the name "${rec.containerName}"`);
  const old = await inspectOrUndefined(docker, rec.oldContainerId);
  if (old !== undefined) await removeContainer(docker, old.Id, { force: true, v: false });
  return recoveryResult(rec, steps, 'updated', 'interrupted during cleanup; the update was finished');
}

async function recoverOne(docker: DockerClient, rec: InFlightUpdate, steps: StepRecorder): Promise<UpdateResult> {
  if (rec.phase === 'cleanup') return finishCleanup(docker, rec, steps);
  await steps.emit('rollback', `interrupted during ${rec.phase}: putting ${rec.containerName} back`);
  const restored = await restoreOldContainer(docker, rec);
  const problem = restoredProblem(restored, rec);
  if (problem !== undefined) throw new Error(`restored, but ${problem}`);
  await steps.emit('restored', `${rec.containerName} is back${rec.wasRunning ? ' and running' : ''}`);
  return recoveryResult(rec, steps, 'rolled_back', `interrupted during ${rec.phase}; the old container was restored`);
}

/**
 * Undoes (or, past the health gate, finishes) every update the journal holds for this
 * engine. A record is cleared only when its container is back; a failure is reported
 * as outcome `failed` and the record kept, so the next call tries again.
 */
export async function recoverInterruptedUpdates(docker: DockerClient, journal: UpdateJournal, opts: { onStep?: StepListener } = {}): Promise<UpdateResult[]> {
  const results: UpdateResult[] = [];
  for (const rec of await journal.list()) {
    if (activeUpdateIds.has(rec.id) || (rec.host !== undefined && rec.host !== docker.label)) continue;
    const steps = new StepRecorder(opts.onStep);
    try {
      results.push(await recoverOne(docker, rec, steps));
      await journal.clear(rec.id);
    } catch (error) {
      results.push(recoveryResult(rec, steps, 'failed', `recovery of the update interrupted during ${rec.phase} failed: ${errorMessage(error)}`));
    }
  }
  return results;
}
