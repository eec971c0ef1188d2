// Swarm secrets and configs: the same API shape twice. Secret values go to the
// engine only; the engine never returns them, and neither do we.
import type { DockerClient } from './client.ts';
import type { ObjectVersion } from './swarm.ts';
import { segment } from './query.ts';
import type { Filters } from './query.ts';
import type { CallOptions } from './request.ts';

export type SwarmDataKind = 'secrets' | 'configs';

export interface SwarmDataSpec {
  Name: string;
  Labels?: Record<string, string>;
  /** Base64 of the content. Configs return it on inspect; secrets never do. */
  Data?: string;
  Driver?: { Name: string; Options?: Record<string, string> } | null;
  Templating?: { Name: string; Options?: Record<string, string> } | null;
  [field: string]: unknown;
}

export interface SwarmDataObject {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
  Spec: SwarmDataSpec;
  [field: string]: unknown;
}

export function listSwarmData(docker: DockerClient, kind: SwarmDataKind, options: CallOptions & { filters?: Filters } = {}): Promise<SwarmDataObject[]> {
  const { filters, ...call } = options;
  return docker.json<SwarmDataObject[]>('GET', `/${kind}`, { ...call, query: { filters } });
}

export function inspectSwarmData(docker: DockerClient, kind: SwarmDataKind, id: string, options: CallOptions = {}): Promise<SwarmDataObject> {
  return docker.json<SwarmDataObject>('GET', `/${kind}/${segment(id)}`, options);
}

export function createSwarmData(docker: DockerClient, kind: SwarmDataKind, spec: SwarmDataSpec, options: CallOptions = {}): Promise<{ ID: string }> {
  return docker.json<{ ID: string }>('POST', `/${kind}/create`, { ...options, json: spec });
}

/** Only labels can change; the content of both kinds is immutable. */
export function updateSwarmData(docker: DockerClient, kind: SwarmDataKind, id: string, version: number, spec: SwarmDataSpec, options: CallOptions = {}): Promise<void> {
  return docker.empty('POST', `/${kind}/${segment(id)}/update`, { ...options, query: { version }, json: spec });
}

export function removeSwarmData(docker: DockerClient, kind: SwarmDataKind, id: string, options: CallOptions = {}): Promise<void> {
  return docker.empty('DELETE', `/${kind}/${segment(id)}`, options);
}
