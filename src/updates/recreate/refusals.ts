// The containers this module does not update, checked before anything is touched.
import type { DockerClient } from '../../docker/client.ts';
import { inspectContainer, listContainers } from '../../docker/containers.ts';
import type { ContainerInspect } from '../../docker/container-types.ts';
import { NotFound } from '../../errors.ts';
import { containerName, shortId } from './create-spec.ts';
import { UpdateRefused } from './types.ts';

/** Set by anyone who keeps a copy of a container for rollback; such a copy is never updated. */
export const BACKUP_LABEL = 'flotilla.update.backup-of';
const BACKUP_NAME = /-flotilla-old-[0-9a-f]{12}$/;
const SWARM_LABELS = ['com.docker.swarm.service.id', 'com.docker.swarm.task.id'];
const IMAGE_ID = /^(sha256:)?[0-9a-f]{12,64}$/;

export function backupNameOf(name: string, oldId: string): string {
  return `${name}-flotilla-old-${shortId(oldId)}`;
}

function refers(reference: string, inspect: ContainerInspect): boolean {
  const name = containerName(inspect);
  return reference === name || reference === `/${name}` || (reference.length >= 12 && inspect.Id.startsWith(reference));
}

/** Refusals that follow from the inspect alone. `runs`: its Config.Image; `pull`: what the update would pull. */
export function refusalFromInspect(inspect: ContainerInspect, runs: string, pull: string): UpdateRefused | undefined {
  const name = containerName(inspect);
  const labels = inspect.Config.Labels ?? {};
  const swarm = SWARM_LABELS.find((l) => l in labels);
  if (swarm !== undefined) return new UpdateRefused('swarm_task', `container "${name}" is a Swarm task (${swarm}); update its service instead`);
  if (BACKUP_NAME.test(name) || BACKUP_LABEL in labels) return new UpdateRefused('backup', `container "${name}" is the backup of an update, not a container to update`);
  if (runs.includes('@')) return new UpdateRefused('pinned', `container "${name}" runs ${runs}, pinned by digest`);
  if (IMAGE_ID.test(pull) || pull === '') return new UpdateRefused('image_id', `container "${name}" was created from image id ${runs}: there is no reference to pull`);
  if (inspect.HostConfig.AutoRemove === true) return new UpdateRefused('auto_remove', `container "${name}" is removed when it stops (AutoRemove): it could not be put back`);
  const mode = inspect.HostConfig.NetworkMode ?? '';
  if (mode.startsWith('container:') && refers(mode.slice('container:'.length), inspect)) {
    return new UpdateRefused('network_mode', `container "${name}" has network mode ${mode}, its own namespace`);
  }
  const state = inspect.State;
  if (state.Paused || state.Dead || state.Status === 'removing') {
    return new UpdateRefused('state', `container "${name}" is ${state.Status}; unpause or fix it first`);
  }
  return undefined;
}

/** Containers that joined this one's network namespace would lose their network with it. */
async function dependentsOf(docker: DockerClient, inspect: ContainerInspect, signal?: AbortSignal): Promise<string[]> {
  const all = await listContainers(docker, { all: true, signal });
  return all
    .filter((c) => c.Id !== inspect.Id)
    .filter((c) => {
      const mode = (c.HostConfig as { NetworkMode?: string } | undefined)?.NetworkMode ?? '';
      return mode.startsWith('container:') && refers(mode.slice('container:'.length), inspect);
    })
    .map((c) => (c.Names[0] ?? c.Id).replace(/^\//, ''));
}

/** Refusals that need the engine: a leftover backup, containers sharing the namespace. */
export async function refusalFromEngine(docker: DockerClient, inspect: ContainerInspect, signal?: AbortSignal): Promise<UpdateRefused | undefined> {
  const name = containerName(inspect);
  const backup = backupNameOf(name, inspect.Id);
  try {
    await inspectContainer(docker, backup, { signal });
    return new UpdateRefused('backup_exists', `container "${backup}" exists (an interrupted update?): recover or remove it before updating "${name}"`);
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
  const dependents = await dependentsOf(docker, inspect, signal);
  if (dependents.length > 0) {
    return new UpdateRefused('shared_namespace', `containers ${dependents.join(', ')} use the network namespace of "${name}": update them together`);
  }
  return undefined;
}
