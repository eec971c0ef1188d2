// Swarm basics: the swarm itself, its nodes, services and tasks. Updates send the
// object's current Version.Index, as the engine requires, to detect lost updates.
import type { DockerClient } from './client.ts';
import { encodeRegistryAuth } from './images.ts';
import type { RegistryAuth } from './images.ts';
import { segment } from './query.ts';
import type { Filters } from './query.ts';
import { LONG_TIMEOUT_MS } from './request.ts';
import type { CallOptions } from './request.ts';

export interface ObjectVersion {
  Index: number;
}

export interface SwarmInspect {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  Spec: Record<string, unknown>;
  JoinTokens: { Worker: string; Manager: string };
  [field: string]: unknown;
}

export interface NodeSpec {
  Name?: string;
  Labels?: Record<string, string>;
  Role: 'worker' | 'manager';
  Availability: 'active' | 'pause' | 'drain';
  [field: string]: unknown;
}

export interface SwarmNode {
  ID: string;
  Version: ObjectVersion;
  Spec: NodeSpec;
  Description: { Hostname: string; Engine?: { EngineVersion: string }; [field: string]: unknown };
  Status: { State: 'unknown' | 'down' | 'ready' | 'disconnected'; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability: string; Addr: string };
  [field: string]: unknown;
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate: {
    ContainerSpec?: { Image: string; Command?: string[]; Args?: string[]; Env?: string[]; Labels?: Record<string, string>; [field: string]: unknown };
    RestartPolicy?: { Condition?: 'none' | 'on-failure' | 'any'; Delay?: number; MaxAttempts?: number };
    Placement?: { Constraints?: string[] };
    ForceUpdate?: number;
    [field: string]: unknown;
  };
  Mode?: { Replicated?: { Replicas: number }; Global?: Record<string, never> };
  UpdateConfig?: Record<string, unknown>;
  RollbackConfig?: Record<string, unknown>;
  EndpointSpec?: Record<string, unknown>;
  [field: string]: unknown;
}

export interface SwarmService {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  UpdateStatus?: { State: string; Message?: string };
  [field: string]: unknown;
}

export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Message: string; Err?: string; Timestamp?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  Spec: ServiceSpec['TaskTemplate'];
  [field: string]: unknown;
}

type ListOptions = CallOptions & { filters?: Filters };

export function inspectSwarm(docker: DockerClient, options: CallOptions = {}): Promise<SwarmInspect> {
  return docker.json<SwarmInspect>('GET', '/swarm', options);
}

/** Returns the new node's ID. Init and join talk to other nodes: long deadline. */
export function initSwarm(docker: DockerClient, body: { ListenAddr?: string; AdvertiseAddr?: string; ForceNewCluster?: boolean; [field: string]: unknown }, options: CallOptions = {}): Promise<string> {
  return docker.json<string>('POST', '/swarm/init', { timeoutMs: LONG_TIMEOUT_MS, ...options, json: { ListenAddr: '0.0.0.0:2377', ...body } });
}

export function joinSwarm(docker: DockerClient, body: { RemoteAddrs: string[]; JoinToken: string; ListenAddr?: string; AdvertiseAddr?: string; [field: string]: unknown }, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', '/swarm/join', { timeoutMs: LONG_TIMEOUT_MS, ...options, json: { ListenAddr: '0.0.0.0:2377', ...body } });
}

export function leaveSwarm(docker: DockerClient, options: CallOptions & { force?: boolean } = {}): Promise<void> {
  const { force, ...call } = options;
  return docker.empty('POST', '/swarm/leave', { timeoutMs: LONG_TIMEOUT_MS, ...call, query: { force } });
}

export function listNodes(docker: DockerClient, options: ListOptions = {}): Promise<SwarmNode[]> {
  const { filters, ...call } = options;
  return docker.json<SwarmNode[]>('GET', '/nodes', { ...call, query: { filters } });
}

export function inspectNode(docker: DockerClient, id: string, options: CallOptions = {}): Promise<SwarmNode> {
  return docker.json<SwarmNode>('GET', `/nodes/${segment(id)}`, options);
}

/** Replaces the node's spec; `version` is the Version.Index the change was based on. */
export function updateNode(docker: DockerClient, id: string, version: number, spec: NodeSpec, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', `/nodes/${segment(id)}/update`, { ...options, query: { version }, json: spec });
}

export function listServices(docker: DockerClient, options: ListOptions = {}): Promise<SwarmService[]> {
  const { filters, ...call } = options;
  return docker.json<SwarmService[]>('GET', '/services', { ...call, query: { filters } });
}

export function inspectService(docker: DockerClient, id: string, options: CallOptions = {}): Promise<SwarmService> {
  return docker.json<SwarmService>('GET', `/services/${segment(id)}`, options);
}

type ServiceWriteOptions = CallOptions & { auth?: RegistryAuth };

function authHeader(auth: RegistryAuth | undefined): Record<string, string> {
  return auth === undefined ? {} : { 'x-registry-auth': encodeRegistryAuth(auth) };
}

export function createService(docker: DockerClient, spec: ServiceSpec, options: ServiceWriteOptions = {}): Promise<{ ID: string; Warnings?: string[] | null }> {
  const { auth, ...call } = options;
  return docker.json('POST', '/services/create', { timeoutMs: LONG_TIMEOUT_MS, ...call, headers: authHeader(auth), json: spec });
}

/** `rollback: 'previous'` goes back to the service's PreviousSpec (as `docker service rollback`); the body is then the current spec. */
export function updateService(docker: DockerClient, id: string, version: number, spec: ServiceSpec, options: ServiceWriteOptions & { rollback?: 'previous' } = {}): Promise<{ Warnings?: string[] | null }> {
  const { auth, rollback, ...call } = options;
  return docker.json('POST', `/services/${segment(id)}/update`, {
    timeoutMs: LONG_TIMEOUT_MS,
    ...call,
    query: { version, rollback },
    headers: authHeader(auth),
    json: spec,
  });
}

/** Returns once the service is deleted; its task containers go away some seconds later. */
export function removeService(docker: DockerClient, id: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('DELETE', `/services/${segment(id)}`, options);
}

export function listTasks(docker: DockerClient, options: ListOptions = {}): Promise<SwarmTask[]> {
  const { filters, ...call } = options;
  return docker.json<SwarmTask[]>('GET', '/tasks', { ...call, query: { filters } });
}

export interface SwarmUpdateFlags {
  rotateWorkerToken?: boolean;
  rotateManagerToken?: boolean;
  rotateManagerUnlockKey?: boolean;
}

/** Replaces the swarm's spec (task history, certificate expiry, autolock …); `version` as for nodes. */
export function updateSwarm(docker: DockerClient, version: number, spec: Record<string, unknown>, flags: SwarmUpdateFlags = {}, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', '/swarm/update', {
    timeoutMs: LONG_TIMEOUT_MS,
    ...options,
    query: { version, rotateWorkerToken: flags.rotateWorkerToken, rotateManagerToken: flags.rotateManagerToken, rotateManagerUnlockKey: flags.rotateManagerUnlockKey },
    json: spec,
  });
}

/** The key that unlocks a locked manager (autolock); empty when autolock is off. */
export async function getUnlockKey(docker: DockerClient, options: CallOptions = {}): Promise<string> {
  return (await docker.json<{ UnlockKey: string }>('GET', '/swarm/unlockkey', options)).UnlockKey;
}

/** Only a node that is down may be removed without `force`. */
export function removeNode(docker: DockerClient, id: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
  const { force, ...call } = options;
  return docker.empty('DELETE', `/nodes/${segment(id)}`, { ...call, query: { force } });
}

export function inspectTask(docker: DockerClient, id: string, options: CallOptions = {}): Promise<SwarmTask> {
  return docker.json<SwarmTask>('GET', `/tasks/${segment(id)}`, options);
}
