// Starts the update of an agent's own container (SPEC S15). The agent cannot
// replace its container in-process: stopping it kills the process doing the
// update. So a short-lived updater container, made from the NEW image and given
// the same Docker socket, runs `flotilla self-update-run`, which does the update
// (health gate: the new agent's healthcheck, i.e. its channel to the server) and
// rolls back to the old agent on failure. result.ts reads the outcome it prints.
import type { DockerClient } from '../../docker/client.ts';
import { createContainer, inspectContainer, removeContainer, startContainer } from '../../docker/containers.ts';
import type { ContainerCreateBody, ContainerInspect } from '../../docker/container-types.ts';
import { inspectImage, pullImage } from '../../docker/images.ts';
import type { RegistryAuth } from '../../docker/images.ts';
import { Conflict, NotFound } from '../../errors.ts';
import type { InFlightUpdate } from '../recreate/index.ts';
import { checkUpdateId } from '../recreate/journal.ts';
import { refusalFromInspect } from '../recreate/refusals.ts';
import { SelfUpdateRefused } from './errors.ts';
import { isSelfContainer, SELF_LABEL, UPDATE_ID_LABEL, UPDATE_TARGET_LABEL, UPDATER_LABEL } from './self.ts';

/** Where the agent image expects the socket unless FLOTILLA_DOCKER_HOST says otherwise (deploy/agent.Dockerfile). */
const DEFAULT_SOCKET = '/var/run/docker.sock';
/** On a recovery updater, started by result.ts for an updater that died mid-update. */
export const RECOVERY_LABEL = 'flotilla.update-recovery';
/** Long enough for a rollback after `docker stop` aborts the update (the engine's 10 s could cut it short). */
const UPDATER_STOP_TIMEOUT_S = 60;

export interface LaunchSelfUpdateOptions {
  /** The agent's container (id or name), labelled flotilla.self=true. */
  agentContainerId: string;
  /** The new agent image; pulled here, then run as the updater and as the new agent. */
  image: string;
  /** [A-Za-z0-9_-], at most 100; names the updater and labels it. */
  updateId: string;
  pullAuth?: RegistryAuth;
  /** Passed to the update (see UpdatePlan); only used when the image has no healthcheck. */
  stableMs?: number;
  /** How long the new agent may take to turn healthy; default 120 s. */
  healthTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface LaunchedUpdater {
  updaterId: string;
  updaterName: string;
}

interface SocketBind {
  /** The socket's path on the engine's host. */
  source: string;
  /** Its path inside the agent container (and the updater). */
  target: string;
}

/** `flotilla-self-update-<first 12 letters and digits of the update id>`. */
export function updaterNameFor(updateId: string): string {
  return `flotilla-self-update-${checkUpdateId(updateId).replace(/[^A-Za-z0-9]/g, '').slice(0, 12)}`;
}

function envValue(env: string[] | undefined, name: string): string | undefined {
  const entry = (env ?? []).findLast((e) => e.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

function nameOf(inspect: ContainerInspect): string {
  return inspect.Name.replace(/^\//, '');
}

/** The bind of the socket the agent talks to: at FLOTILLA_DOCKER_HOST's path, else /var/run/docker.sock. */
export function dockerSocketBind(agent: ContainerInspect): SocketBind {
  const host = envValue(agent.Config.Env, 'FLOTILLA_DOCKER_HOST');
  let target = DEFAULT_SOCKET;
  if (host !== undefined && host !== '') {
    if (!host.startsWith('unix:///')) throw new SelfUpdateRefused(`agent container "${nameOf(agent)}" reaches its engine at ${host}: the updater needs a unix socket`);
    target = decodeURIComponent(new URL(host).pathname);
  }
  const mount = agent.Mounts.find((m) => m.Destination === target && m.Type === 'bind');
  if (mount === undefined) {
    throw new SelfUpdateRefused(`agent container "${nameOf(agent)}" has no bind mount of the Docker socket at ${target}: the updater could not reach the engine`);
  }
  return { source: mount.Source, target };
}

/**
 * The updater: the new image's entry point with the hidden CLI command. As root
 * (FLOTILLA_AGENT_USER=root keeps the entry point from dropping to the agent
 * user): it needs only the socket, which is root on the host anyway, and a
 * socket only root may open (mode 0600) must work too. No network, no
 * healthcheck, never restarted, never auto-removed (its output is the result).
 */
function updaterBody(image: string, cmd: string[], socket: SocketBind, labels: Record<string, string>): ContainerCreateBody {
  return {
    Image: image,
    Cmd: cmd,
    User: '0:0',
    Env: ['FLOTILLA_AGENT_USER=root', `FLOTILLA_DOCKER_HOST=unix://${socket.target}`],
    // The image labels it flotilla.self=true: override, so no one takes the updater for an agent to update.
    Labels: { [SELF_LABEL]: 'false', 'flotilla.policy': 'pinned', ...labels, [UPDATER_LABEL]: 'true' },
    Healthcheck: { Test: ['NONE'] },
    StopTimeout: UPDATER_STOP_TIMEOUT_S,
    HostConfig: {
      Binds: [`${socket.source}:${socket.target}`],
      NetworkMode: 'none',
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
    },
  };
}

async function createAndStart(docker: DockerClient, name: string, body: ContainerCreateBody, what: string): Promise<string> {
  let id: string;
  try {
    id = (await createContainer(docker, name, body)).Id;
  } catch (error) {
    if (error instanceof Conflict) throw new Conflict(`${what}: container "${name}" exists already; await its result (awaitSelfUpdateResult) or remove it`);
    throw error;
  }
  try {
    await startContainer(docker, id);
  } catch (error) {
    await removeContainer(docker, id, { force: true }).catch(() => {
      // The start failure is what the caller must see; a leftover created container is labelled flotilla.updater=true.
    });
    throw error;
  }
  return id;
}

async function pull(docker: DockerClient, image: string, auth: RegistryAuth | undefined, signal: AbortSignal | undefined): Promise<void> {
  for await (const _progress of pullImage(docker, image, { auth, signal })) {
    // Progress is not reported; draining the stream is what completes the pull.
  }
}

/**
 * Refuses (SelfUpdateRefused, UpdateRefused) before anything is pulled or started
 * when the container is not an agent's, or could not be updated or reached from
 * an updater; then pulls `image` and starts the updater. Returns once it runs.
 */
export async function launchSelfUpdate(docker: DockerClient, opts: LaunchSelfUpdateOptions): Promise<LaunchedUpdater> {
  const updaterName = updaterNameFor(opts.updateId);
  const { signal } = opts;
  const agent = await inspectContainer(docker, opts.agentContainerId, { signal });
  if (!isSelfContainer(agent.Config.Labels)) {
    throw new SelfUpdateRefused(`container "${nameOf(agent)}" is not an agent's own container (label ${SELF_LABEL}=true)`);
  }
  const refusal = refusalFromInspect(agent, agent.Config.Image ?? '', opts.image);
  if (refusal !== undefined) throw refusal;
  const socket = dockerSocketBind(agent);
  await pull(docker, opts.image, opts.pullAuth, signal);
  const image = await inspectImage(docker, opts.image, { signal });
  if (image.Config?.Labels?.[SELF_LABEL] !== 'true') {
    throw new SelfUpdateRefused(`image ${opts.image} is not a Flotilla agent image (no label ${SELF_LABEL}=true): it has no updater to run`);
  }
  const cmd = ['self-update-run', '--container', agent.Id, '--image', opts.image, '--update-id', opts.updateId];
  if (opts.healthTimeoutMs !== undefined) cmd.push('--health-timeout-ms', String(opts.healthTimeoutMs));
  if (opts.stableMs !== undefined) cmd.push('--stable-ms', String(opts.stableMs));
  signal?.throwIfAborted();
  const labels = { [UPDATE_ID_LABEL]: opts.updateId, [UPDATE_TARGET_LABEL]: agent.Id };
  // By image id: the updater runs exactly what was pulled, even if the tag moves meanwhile.
  const updaterId = await createAndStart(docker, updaterName, updaterBody(image.Id, cmd, socket, labels), `self-update ${opts.updateId}`);
  return { updaterId, updaterName };
}

/**
 * For an updater that died mid-update (its output ends with an in-flight record):
 * a second one, from the same image and socket, puts the old agent back (or
 * finishes the update past its health gate). Run in a container, not by the
 * caller, who may be reaching the engine through the very agent being removed.
 * Started once per dead updater: an existing one is returned.
 */
export async function launchRecoveryUpdater(docker: DockerClient, dead: ContainerInspect, record: InFlightUpdate): Promise<LaunchedUpdater> {
  const updaterName = `${nameOf(dead)}-recover`;
  try {
    const existing = await inspectContainer(docker, updaterName);
    return { updaterId: existing.Id, updaterName };
  } catch (error) {
    if (!(error instanceof NotFound)) throw error;
  }
  const socket = dockerSocketBind(dead);
  const labels: Record<string, string> = { [RECOVERY_LABEL]: 'true' };
  for (const key of [UPDATE_ID_LABEL, UPDATE_TARGET_LABEL]) {
    const value = dead.Config.Labels?.[key];
    if (value !== undefined) labels[key] = value;
  }
  const cmd = ['self-update-run', '--recover-record', JSON.stringify(record)];
  const updaterId = await createAndStart(docker, updaterName, updaterBody(dead.Image, cmd, socket, labels), `recovery of self-update ${record.id}`);
  return { updaterId, updaterName };
}
