// Container lifecycle and queries (moby client container_*.go, one function per call).
// Logs, stats and attach live in container-logs.ts, container-stats.ts, container-attach.ts.
import type { DockerClient } from './client.ts';
import type {
  ContainerCreateBody,
  ContainerCreateResult,
  ContainerInspect,
  ContainerPruneResult,
  ContainerSummary,
  ContainerTop,
  ContainerWaitResult,
} from './container-types.ts';
import { segment } from './query.ts';
import type { Filters } from './query.ts';
import { DEFAULT_TIMEOUT_MS, LONG_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';

export type * from './container-types.ts';

/** The engine's own default grace period before it SIGKILLs on stop/restart. */
const ENGINE_STOP_GRACE_S = 10;

export interface ListContainersOptions extends CallOptions {
  /** Include stopped containers. */
  all?: boolean;
  limit?: number;
  /** Compute SizeRw / SizeRootFs (slow). */
  size?: boolean;
  filters?: Filters;
}

export function listContainers(docker: DockerClient, options: ListContainersOptions = {}): Promise<ContainerSummary[]> {
  const { all, limit, size, filters, ...call } = options;
  return docker.json<ContainerSummary[]>('GET', '/containers/json', { ...call, query: { all, limit, size, filters } });
}

export function inspectContainer(docker: DockerClient, id: string, options: CallOptions & { size?: boolean } = {}): Promise<ContainerInspect> {
  const { size, ...call } = options;
  return docker.json<ContainerInspect>('GET', `/containers/${segment(id)}/json`, { ...call, query: { size } });
}

/** `name` undefined lets the engine pick one. Creating may unpack layers: long deadline. */
export function createContainer(
  docker: DockerClient,
  name: string | undefined,
  body: ContainerCreateBody,
  options: CallOptions = {},
): Promise<ContainerCreateResult> {
  return docker.json<ContainerCreateResult>('POST', '/containers/create', {
    timeoutMs: LONG_TIMEOUT_MS,
    ...options,
    query: { name },
    json: body,
  });
}

/** Starting an already running container is not an error (the engine answers 304). */
export function startContainer(docker: DockerClient, id: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', `/containers/${segment(id)}/start`, options);
}

export interface StopOptions extends CallOptions {
  /** Seconds to wait after the stop signal before SIGKILL; engine default 10. */
  t?: number;
}

/** Our deadline must outlast the engine's grace period, or a slow stop looks like a dead host. */
function stopDeadline(options: StopOptions): number {
  return options.timeoutMs ?? DEFAULT_TIMEOUT_MS + (options.t ?? ENGINE_STOP_GRACE_S) * 1000;
}

export function stopContainer(docker: DockerClient, id: string, options: StopOptions = {}): Promise<void> {
  const { t, ...call } = options;
  return docker.empty('POST', `/containers/${segment(id)}/stop`, { ...call, timeoutMs: stopDeadline(options), query: { t } });
}

export function restartContainer(docker: DockerClient, id: string, options: StopOptions = {}): Promise<void> {
  const { t, ...call } = options;
  return docker.empty('POST', `/containers/${segment(id)}/restart`, { ...call, timeoutMs: stopDeadline(options), query: { t } });
}

/** `killSignal` e.g. `SIGTERM` or `HUP`; the engine defaults to SIGKILL. */
export function killContainer(docker: DockerClient, id: string, options: CallOptions & { killSignal?: string } = {}): Promise<void> {
  const { killSignal, ...call } = options;
  return docker.empty('POST', `/containers/${segment(id)}/kill`, { ...call, query: { signal: killSignal } });
}

export interface RemoveContainerOptions extends CallOptions {
  /** Kill a running container first. */
  force?: boolean;
  /** Also remove its anonymous volumes. */
  v?: boolean;
}

export function removeContainer(docker: DockerClient, id: string, options: RemoveContainerOptions = {}): Promise<void> {
  const { force, v, ...call } = options;
  return docker.empty('DELETE', `/containers/${segment(id)}`, { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { force, v } });
}

export interface WaitOptions extends CallOptions {
  condition?: 'not-running' | 'next-exit' | 'removed';
}

/** Blocks until the condition holds. Long deadline by default; pass timeoutMs 0 to wait forever. */
export function waitContainer(docker: DockerClient, id: string, options: WaitOptions = {}): Promise<ContainerWaitResult> {
  const { condition, ...call } = options;
  return docker.json<ContainerWaitResult>('POST', `/containers/${segment(id)}/wait`, {
    timeoutMs: LONG_TIMEOUT_MS,
    ...call,
    query: { condition },
  });
}

export function topContainer(docker: DockerClient, id: string, options: CallOptions & { psArgs?: string } = {}): Promise<ContainerTop> {
  const { psArgs, ...call } = options;
  return docker.json<ContainerTop>('GET', `/containers/${segment(id)}/top`, { ...call, query: { ps_args: psArgs } });
}

export function renameContainer(docker: DockerClient, id: string, newName: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', `/containers/${segment(id)}/rename`, { ...options, query: { name: newName } });
}

export function pruneContainers(docker: DockerClient, options: CallOptions & { filters?: Filters } = {}): Promise<ContainerPruneResult> {
  const { filters, ...call } = options;
  return docker.json<ContainerPruneResult>('POST', '/containers/prune', { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { filters } });
}
